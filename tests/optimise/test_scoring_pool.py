"""The optimiser's batch scoring on a pool of threads gives the serial loop's results, bit
for bit, diverged and non-finite simulations included (NaN FC and FCD)."""

from __future__ import annotations

import numpy as np

from brainsweep.optimise import evaluate

OPTIONS = {"transient_s": 10.0, "detrend": True, "bandpass": [0.01, 0.1], "zscore": True,
           "gsr": False, "fcd": {"window_s": 30.0, "step_s": 2.0}}


def test_the_thread_pool_scores_as_the_serial_loop(monkeypatch):
    rng = np.random.default_rng(7)
    bold = rng.standard_normal((6, 300, 12)).astype(np.float32)
    bold[4, 10, 3] = np.nan  # a non-finite simulation
    diverged = np.array([False, True, False, False, False, False])
    pooled = evaluate.connectivity(bold, diverged, tr=0.72, options=OPTIONS)
    monkeypatch.setattr(evaluate.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(evaluate.os, "cpu_count", lambda: 1)
    serial = evaluate.connectivity(bold, diverged, tr=0.72, options=OPTIONS)
    np.testing.assert_array_equal(pooled[0], serial[0])
    for a, b in zip(pooled[1], serial[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.isnan(pooled[0][[1, 4]]).all() and np.isfinite(pooled[0][[0, 2, 3, 5]]).all()
    assert np.isnan(pooled[1][1]).all() and np.isfinite(pooled[1][0]).all()
