"""The optimise stage on CUDA: one generation of 4 restarts x 64 candidates x 2 seeds is one
batch of 512 simulations on the GPU, the planted coupling of tests/optimise is recovered as on
the CPU, and the first generation (the same candidates on both targets) scores as the Numba
target scores it. Run with ``python -m pytest -m gpu -q tests/gpu``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "optimise"))
from optimise_problem import SECTIONS, TRUTH, settings, write_problem  # noqa: E402

from brainsweep.optimise.stage import run_job  # noqa: E402

pytestmark = pytest.mark.gpu


def on(target: str, **optimise) -> dict:
    options = settings(**optimise)
    options["simulation"] = {**SECTIONS["simulation"], "target": target}
    return options


def test_a_generation_is_one_gpu_batch_and_recovers_the_truth(cuda_device, tmp_path):
    connectome, empirical = write_problem(tmp_path)
    out = run_job(on("cuda", budget=128, population=64, restarts=4, seeds=2), connectome,
                  empirical, 0, tmp_path / "cuda" / "jobs" / "job-0.csv")
    record = json.loads(Path(f"{out}.json").read_text())
    assert record["target"] == "cuda"
    assert [g["simulations"] for g in record["generations"]] == [512, 512]
    history = pd.read_csv(out)
    assert len(history) == 4 * 128
    best = history.loc[history["objective"].idxmax()]
    assert abs(best["global_coupling"] - TRUTH["global_coupling"]) <= 0.15


def test_first_generation_scores_as_on_the_cpu(cuda_device, tmp_path):
    connectome, empirical = write_problem(tmp_path)
    tables = {}
    for target in ("numba", "cuda"):
        out = run_job(on(target, budget=8, population=8, seeds=1), connectome, empirical, 0,
                      tmp_path / target / "jobs" / "job-0.csv")
        tables[target] = pd.read_csv(out)
    cpu, gpu = tables["numba"], tables["cuda"]
    pd.testing.assert_series_equal(cpu["global_coupling"], gpu["global_coupling"])
    pd.testing.assert_series_equal(cpu["sim_index"], gpu["sim_index"])
    # the same Philox noise on both targets; float32 rounding differs between them, which
    # moves an FC computed from 83 BOLD samples by far less than this
    assert (cpu["objective"] - gpu["objective"]).abs().max() < 0.02
