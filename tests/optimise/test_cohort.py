"""Cohorts: each subject is fitted to its own FC, on the group connectome or on its own
(``structural: subject``), and a weighted objective with the FCD term scores like
``brainsweep.fit``'s ``combined``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from optimise_problem import settings

from brainsweep.io import load_npz, save_npz
from brainsweep.optimise.stage import run_job


def two_subjects(folder, problem_files, scale_b: float):
    """A stack of two subjects' connectomes (b's weights scaled) and their FCs (b's FC
    the planted one with its off-diagonal entries shrunk, so that the two differ)."""
    conn, emp = (load_npz(path) for path in problem_files)
    weights = np.stack([conn["weights"], scale_b * conn["weights"]])
    lengths = np.stack([conn["lengths"], conn["lengths"]])
    stack = save_npz(folder / "stack.npz", {"weights": weights, "lengths": lengths,
                                            "subject_ids": np.array(["a", "b"])}, {})
    fc_a = emp["fc_group"]
    fc_b = np.where(np.eye(len(fc_a), dtype=bool), 1.0, 0.5 * fc_a)
    empirical = save_npz(folder / "two.npz", {
        "fc_subjects": np.stack([fc_a, fc_b]), "fc_group": 0.5 * (fc_a + fc_b),
        "subject_ids": np.array(["a", "b"])}, {})
    return stack, empirical


def test_each_subject_on_its_own_connectome(problem_files, tmp_path):
    connectome = problem_files[0]
    stack, empirical = two_subjects(tmp_path, problem_files, scale_b=0.5)
    options = dict(budget=4, population=4, seeds=1)
    group = pd.read_csv(run_job(settings(**options), connectome, empirical, 0,
                                tmp_path / "group" / "jobs" / "job-0.csv"))
    own = pd.read_csv(run_job(settings(structural="subject", **options), stack, empirical, 0,
                              tmp_path / "own" / "jobs" / "job-0.csv"))
    assert list(group["subject"].unique()) == ["a", "b"]
    # the same candidates and noise keys in both runs ...
    pd.testing.assert_frame_equal(group[["subject", "global_coupling", "sim_index"]],
                                  own[["subject", "global_coupling", "sim_index"]])
    # ... a's connectome is the group one: the same scores; b's is weaker: other scores
    a, b = group["subject"] == "a", group["subject"] == "b"
    np.testing.assert_array_equal(group.loc[a, "objective"], own.loc[a, "objective"])
    assert (group.loc[b, "objective"] != own.loc[b, "objective"]).all()
    # one subject's two FCs are other targets: its scores differ from the other subject's
    assert not np.allclose(group.loc[a, "objective"].to_numpy(),
                           group.loc[b, "objective"].to_numpy())


def test_fcd_term_enters_the_objective(problem_files, tmp_path):
    connectome, empirical = problem_files
    options = settings(budget=4, population=4, seeds=1,
                       objective={"fc_corr": 1.0, "fcd_ks": 0.5})
    options["bold"] = {**options["bold"], "fcd": {"window_s": 20.0, "step_s": 2.16}}
    # empirical FCD values drawn uniformly: a distribution the KS statistic tells apart from
    # every simulated one, so the term is never zero
    data = load_npz(empirical)
    values = np.random.default_rng(0).uniform(-0.2, 0.9, 300)
    with_fcd = save_npz(tmp_path / "with-fcd.npz", {**data, "fcd_values": values,
                                                    "fcd_offsets": np.array([0, 300])}, {})
    history = pd.read_csv(run_job(options, connectome, with_fcd, 0,
                                  tmp_path / "fcd" / "jobs" / "job-0.csv"))
    assert history["fcd_ks"].between(0.0, 1.0).all() and history["fcd_ks"].gt(0).all()
    np.testing.assert_allclose(history["objective"],
                               history["fc_corr"] - 0.5 * history["fcd_ks"], rtol=1e-12)
