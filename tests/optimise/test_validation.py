"""``optimise.validate``: each search's top candidates simulated again with fresh noise.

Checked against an independent computation: the validation rows' scores must equal a batch
built here by hand from the searched candidates' parameters and the noise keys the rows
name, and those keys must lie above every key the searches used (fresh noise). best.csv must
then choose by the validated scores. A job killed after its last generation but before the
validation finished (the checkpoint rewritten to that state) must end as an uninterrupted
job does.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
from optimise_problem import settings

from brainsweep.fit.stage import read_empirical
from brainsweep.io import load_npz
from brainsweep.optimise.evaluate import Batch, Subject, run_batch
from brainsweep.optimise.stage import Settings, run_job, state_paths
from brainsweep.optimise.summary import best_per_subject, selection_bias

VALIDATE = {"top": 2, "seeds": 3}


def options():
    # 2 generations of 4 candidates, 2 seeds each, then the top 2 with 3 fresh seeds
    return settings(budget=8, seeds=2, validate=VALIDATE)


def test_validation_rows_rescore_the_top_candidates_with_fresh_noise(problem_files, tmp_path):
    connectome, empirical = problem_files
    history = pd.read_csv(run_job(options(), connectome, empirical, 0,
                                  tmp_path / "jobs" / "job-0.csv"))
    search = history[history["phase"] == "search"]
    checked = history[history["phase"] == "validate"]
    assert len(search) == 8 and len(checked) == VALIDATE["top"]
    # the top two of the search, best first, with their own scores kept beside
    top = search.sort_values("objective", ascending=False, kind="stable").head(2)
    np.testing.assert_array_equal(checked["global_coupling"], top["global_coupling"])
    np.testing.assert_array_equal(checked["search_objective"], top["objective"])
    assert (checked["generation"] == 2).all() and (checked["seeds"] == 3).all()
    # fresh noise: above every key of the search (each candidate's keys are first..first+1)
    assert checked["sim_index"].min() > (search["sim_index"] + search["seeds"] - 1).max()

    # the same simulations built by hand score the same
    parsed = Settings.from_mapping(options())
    data, conn = read_empirical(empirical), load_npz(connectome)
    subject = Subject("group", data["fc_group"], None, conn["weights"], conn["lengths"])
    keys = np.concatenate([np.arange(k, k + 3) for k in checked["sim_index"]])
    values = np.repeat(checked[["global_coupling"]].to_numpy(), 3, axis=0)
    table, _ = run_batch(parsed.simulate, ["global_coupling"],
                         Batch(subjects=[0] * len(keys), params=values, sim_index=keys),
                         [subject], bold_options=parsed.bold,
                         weights=parsed.optimise["objective"])
    expected = table["objective"].to_numpy().reshape(-1, 3)
    np.testing.assert_allclose(checked["objective"], expected.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(checked["objective_se"],
                               expected.std(axis=1, ddof=1) / np.sqrt(3), rtol=1e-9)

    best = best_per_subject(history, ["global_coupling"]).iloc[0]
    winner = checked.loc[checked["objective"].idxmax()]
    assert best["selected_by"] == "validation"
    assert best["objective"] == winner["objective"]
    assert best["global_coupling"] == winner["global_coupling"]
    assert best["search_objective"] == winner["search_objective"]
    assert best["selection_bias"] == selection_bias(checked["objective"],
                                                    checked["objective_se"])


def test_a_job_killed_before_its_validation_finishes_it(problem_files, tmp_path):
    connectome, empirical = problem_files
    whole = pd.read_csv(run_job(options(), connectome, empirical, 0,
                                tmp_path / "whole" / "jobs" / "job-0.csv"))
    out = tmp_path / "killed" / "jobs" / "job-0.csv"
    run_job(options(), connectome, empirical, 0, out)
    # the state a kill during the validation leaves: every generation done, no validation
    checkpoint = state_paths(out, 0)["checkpoint"]
    state = pickle.loads(checkpoint.read_bytes())
    state["history"] = [r for r in state["history"] if r.get("phase") != "validate"]
    state["validated"] = False
    state["timings"] = [t for t in state["timings"] if t["generation"] != "validate"]
    checkpoint.write_bytes(pickle.dumps(state))
    out.unlink()
    resumed = pd.read_csv(run_job(options(), connectome, empirical, 0, out))
    pd.testing.assert_frame_equal(resumed, whole, check_exact=True)


def test_common_noise_gives_a_generations_candidates_one_set_of_realisations(problem_files,
                                                                              tmp_path):
    # optimise.common_noise: within a generation (and within the validation) every
    # candidate is simulated with the same noise keys, each generation with fresh ones; the
    # rows' scores equal a batch built by hand with those shared keys, and differ from the
    # same candidates simulated with keys of their own (so the keys are really shared)
    connectome, empirical = problem_files
    shared = settings(budget=8, seeds=2, validate=VALIDATE, common_noise=True)
    history = pd.read_csv(run_job(shared, connectome, empirical, 0,
                                  tmp_path / "jobs" / "job-0.csv"))
    search = history[history["phase"] == "search"]
    checked = history[history["phase"] == "validate"]
    keys = search.groupby("generation")["sim_index"].unique()
    assert [len(k) for k in keys] == [1, 1] and keys[0][0] != keys[1][0]
    assert checked["sim_index"].nunique() == 1
    assert checked["sim_index"].iloc[0] > (search["sim_index"] + search["seeds"] - 1).max()

    parsed = Settings.from_mapping(shared)
    data, conn = read_empirical(empirical), load_npz(connectome)
    subject = Subject("group", data["fc_group"], None, conn["weights"], conn["lengths"])
    first = search[search["generation"] == 1]
    values = np.repeat(first[["global_coupling"]].to_numpy(), 2, axis=0)

    def scores(sim_index):
        table, _ = run_batch(parsed.simulate, ["global_coupling"],
                             Batch(subjects=[0] * len(values), params=values,
                                   sim_index=sim_index),
                             [subject], bold_options=parsed.bold,
                             weights=parsed.optimise["objective"])
        return table["objective"].to_numpy().reshape(-1, 2).mean(axis=1)

    common = np.tile(first["sim_index"].iloc[0] + np.arange(2), len(first))
    np.testing.assert_allclose(first["objective"], scores(common), rtol=1e-12)
    own = first["sim_index"].iloc[0] + np.arange(len(values))
    assert not np.allclose(first["objective"], scores(own), rtol=1e-6)
    # the bootstrap of the selection bias assumes independent errors: not stated here
    best = best_per_subject(history, ["global_coupling"]).iloc[0]
    assert best["selected_by"] == "validation" and np.isnan(best["selection_bias"])
