"""Parameter recovery with each optimiser: a global coupling planted at 0.55, its FC made with
noise seed 7, fitted back (seed 42) by CMA-ES and by Optuna's TPE within 0.15 (a fifth of the
box [0.3, 1.0]) by the FC distance plus the mean-FC difference. The tolerance is the width of
the landscape's plateau, measured on this problem: fc_rmse at 0.5 and 0.6 lies in 0.21-0.36
over three noise seeds, at 0.3 and 0.9 in 0.43-0.77 (docs/fitting.md); the mean-FC term
lifts 0.8 (0.12-0.21 against 0.02-0.08 at 0.5-0.6). 24 candidates x 2 seeds each."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from optimise_problem import TRUTH, settings

from brainsweep.optimise.stage import run_job

TOLERANCE = 0.15


@pytest.mark.parametrize("method", ["cmaes", "tpe"])
def test_recovers_the_planted_coupling(method, problem_files, tmp_path):
    connectome, empirical = problem_files
    out = run_job(settings(method=method), connectome, empirical, 0,
                  tmp_path / "jobs" / "job-0.csv")
    history = pd.read_csv(out)
    # every candidate of 6 generations x 4, each simulated with 2 consecutive noise indices
    assert len(history) == 24
    assert sorted(history["generation"].unique()) == list(range(6))
    assert (history["seeds"] == 2).all()
    assert history["sim_index"].is_unique and (history["sim_index"] % 2 == 0).all()
    assert history["global_coupling"].between(0.3, 1.0).all()
    # lower-is-better metrics enter the maximised objective with a minus sign
    scored = history[history["objective"].notna()]
    np.testing.assert_allclose(scored["objective"],
                               -(scored["fc_rmse"] + scored["mean_fc_diff"]), rtol=1e-12)
    assert history["objective"].isna().eq(history["n_diverged"] > 0).all()
    best = history.loc[history["objective"].idxmax()]
    assert abs(best["global_coupling"] - TRUTH["global_coupling"]) <= TOLERANCE, best.to_dict()
