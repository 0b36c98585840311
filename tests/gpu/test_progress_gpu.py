"""The CUDA target's progress lines (per launch), and that reporting changes no result."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from brainsweep import simulate

pytestmark = pytest.mark.gpu


def test_cuda_reports_progress_and_results_do_not_change(cuda_device, capsys):
    conn = SimpleNamespace(weights=np.array([[0.0, 1.0], [0.5, 0.0]]),
                           lengths=np.array([[0.0, 12.0], [12.0, 0.0]]))
    # 10 000 steps: three launches of at most 4096 steps
    common = dict(target="cuda", device=cuda_device, n_steps=10_000,
                  params={"speed": [3.0, 6.0, 9.0]}, monitors=("tavg",), stochastic=True,
                  seed=2, dtype="float32")
    quiet = simulate.run(conn, "montbrio", **common)
    assert capsys.readouterr().err == ""
    loud = simulate.run(conn, "montbrio", progress=True, **common)
    lines = capsys.readouterr().err.splitlines()
    assert lines and lines[-1].startswith("cuda: 100 % of 30 000 sim-steps"), lines
    np.testing.assert_array_equal(quiet.tavg, loud.tavg)


def test_cuda_progress_carries_the_callers_label(cuda_device, capsys):
    """The shard stage names shard and size; the GPU run loop prints that label."""
    conn = SimpleNamespace(weights=np.array([[0.0, 1.0], [0.5, 0.0]]),
                           lengths=np.array([[0.0, 12.0], [12.0, 0.0]]))
    label = "shard 1 of 3 (2 simulations x 5 000 steps, cuda)"
    simulate.run(conn, "montbrio", target="cuda", device=cuda_device, n_steps=5_000,
                 params={"speed": [3.0, 6.0]}, monitors=("tavg",), stochastic=False,
                 dtype="float32", progress=label)
    lines = capsys.readouterr().err.splitlines()
    assert lines and lines[-1].startswith(f"{label}: 100 % of 10 000 sim-steps"), lines
