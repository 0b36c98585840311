"""Fit metrics against hand-computed values; the fit stage on constructed shards."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from brainsweep import fit
from brainsweep.errors import InputError
from brainsweep.io import save_npz


def _matrix(upper):
    """Symmetric 3x3 matrix with unit diagonal from its upper triangle (r01, r02, r12)."""
    r01, r02, r12 = upper
    return np.array([[1.0, r01, r02], [r01, 1.0, r12], [r02, r12, 1.0]])


def test_score_against_hand_computed_values():
    emp = _matrix([0.5, 0.1, 0.3])  # mean 0.3, deviations (0.2, -0.2, 0)
    sim = _matrix([0.6, 0.2, 0.1])  # mean 0.3, deviations (0.3, -0.1, -0.2)
    table = fit.score(np.stack([sim, emp]), emp)
    # covariance 0.06 + 0.02 + 0 = 0.08; squared norms 0.08 and 0.14
    assert table["fc_corr"].iloc[0] == pytest.approx(0.08 / np.sqrt(0.08 * 0.14), rel=1e-12)
    assert table["fc_rmse"].iloc[0] == pytest.approx(np.sqrt((0.01 + 0.01 + 0.04) / 3), rel=1e-12)
    assert table["mean_fc_diff"].iloc[0] == pytest.approx(0.0, abs=1e-15)
    assert table["fc_corr"].iloc[1] == pytest.approx(1.0, rel=1e-12)
    assert table["fc_rmse"].iloc[1] == 0.0
    assert "fcd_ks" not in table
    assert np.allclose(table["combined"], table["fc_corr"])


def test_score_matches_numpy_on_random_matrices():
    rng = np.random.default_rng(40)
    sims = np.array([np.corrcoef(rng.standard_normal((8, 50))) for _ in range(5)])
    emp = np.corrcoef(rng.standard_normal((8, 50)))
    rows, cols = np.triu_indices(8, 1)
    table = fit.score(sims, emp)
    for i in range(5):
        expected = np.corrcoef(sims[i][rows, cols], emp[rows, cols])[0, 1]
        assert table["fc_corr"].iloc[i] == pytest.approx(expected, rel=1e-12)
        diff = sims[i][rows, cols].mean() - emp[rows, cols].mean()
        assert table["mean_fc_diff"].iloc[i] == pytest.approx(abs(diff), rel=1e-12)


@pytest.mark.parametrize("seed", [41, 42])
def test_ks_statistic_matches_scipy_with_ties(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 20, 300).astype(float)  # ties inside and across samples
    b = np.sort(rng.integers(3, 25, 1000).astype(float))
    assert fit.ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
    c = rng.standard_normal(500)
    d = np.sort(rng.standard_normal(700) + 0.3)
    assert fit.ks_statistic(c, d) == pytest.approx(stats.ks_2samp(c, d).statistic, abs=1e-12)


def test_combined_uses_documented_weights():
    rng = np.random.default_rng(43)
    emp = np.corrcoef(rng.standard_normal((6, 40)))
    sims = np.array([np.corrcoef(rng.standard_normal((6, 40))) for _ in range(3)])
    emp_fcd = rng.uniform(-1, 1, 400)
    sim_fcd = rng.uniform(-1, 1, (3, 100)) * np.array([[1.0], [0.5], [0.1]])
    table = fit.score(
        sims, emp, empirical_fcd=emp_fcd, sim_fcd=sim_fcd, weights={"fc_corr": 2.0, "fcd_ks": 0.5}
    )
    for i in range(3):
        ks = stats.ks_2samp(sim_fcd[i], emp_fcd).statistic
        assert table["fcd_ks"].iloc[i] == pytest.approx(ks, abs=1e-12)
        assert table["combined"].iloc[i] == pytest.approx(
            2.0 * table["fc_corr"].iloc[i] - 0.5 * ks, abs=1e-12
        )


def test_combined_with_the_mean_fc_term_is_cubnm_goodness_of_fit():
    """All three weights 1: FC r - FCD KS - |mean FC difference|, each term computed here
    with NumPy and SciPy from the matrices."""
    rng = np.random.default_rng(44)
    emp = np.corrcoef(rng.standard_normal((6, 40)))
    sims = np.array([np.corrcoef(rng.standard_normal((6, 40)) + k * rng.standard_normal(40))
                     for k in range(3)])
    emp_fcd = rng.uniform(-1, 1, 400)
    sim_fcd = rng.uniform(-1, 1, (3, 100))
    table = fit.score(sims, emp, empirical_fcd=emp_fcd, sim_fcd=sim_fcd,
                      weights={"fc_corr": 1.0, "fcd_ks": 1.0, "mean_fc_diff": 1.0})
    upper = np.triu_indices(6, k=1)
    for i in range(3):
        r = np.corrcoef(sims[i][upper], emp[upper])[0, 1]
        diff = abs(sims[i][upper].mean() - emp[upper].mean())
        ks = stats.ks_2samp(sim_fcd[i], emp_fcd).statistic
        assert diff > 0.01  # the term matters
        assert table["combined"].iloc[i] == pytest.approx(r - ks - diff, abs=1e-12)
    # left out by default: the studies written before the term score as they did
    default = fit.score(sims, emp, empirical_fcd=emp_fcd, sim_fcd=sim_fcd)
    assert np.allclose(default["combined"], default["fc_corr"] - default["fcd_ks"], atol=1e-15)

def test_nan_fc_scores_nan():
    emp = _matrix([0.5, 0.1, 0.3])
    bad = _matrix([0.5, np.nan, 0.3])
    table = fit.score(
        np.stack([bad, emp]), emp, empirical_fcd=np.linspace(-1, 1, 50), sim_fcd=np.zeros((2, 10))
    )
    assert table.iloc[0].isna().all()
    assert table.iloc[1].notna().all()


def test_score_input_errors():
    emp = _matrix([0.5, 0.1, 0.3])
    with pytest.raises(InputError):
        fit.score(np.eye(4), emp)
    with pytest.raises(InputError):
        fit.score(emp, _matrix([0.5, np.nan, 0.3]))
    with pytest.raises(InputError):
        fit.score(emp, emp, empirical_fcd=np.zeros(5))


# ------------------------------------------------------------------------------------ stage
N = 6
SUBJECT_IDS = ["s1", "s2", "s3"]


def _random_fc(rng):
    return np.corrcoef(rng.standard_normal((N, 60)))


@pytest.fixture
def study(tmp_path):
    """Two bold shards of a 3x2 grid plus an empirical file; sim 4 equals the group FC."""
    rng = np.random.default_rng(44)
    subjects = np.array([_random_fc(rng) for _ in SUBJECT_IDS])
    group = subjects.mean(axis=0)
    emp_path = tmp_path / "empirical" / "emp.npz"
    save_npz(
        emp_path,
        {
            "fc_subjects": subjects,
            "fc_group": group,
            "subject_ids": np.array(SUBJECT_IDS),
            "fcd_values": np.zeros(0, np.float32),
            "fcd_offsets": np.zeros(4, np.int64),
        },
    )
    grid = [(g, s) for g in (0.1, 0.2, 0.3) for s in (2.0, 4.0)]
    fcs = np.array([_random_fc(rng) for _ in grid])
    fcs[4] = group  # the best fit
    fcs[1] = group  # equally perfect, but diverged: must never win
    diverged = np.zeros(len(grid), bool)
    diverged[1] = True
    shards = []
    for shard_id, rows in enumerate((slice(3, 6), slice(0, 3))):  # out of order on purpose
        path = tmp_path / "bold" / f"shard-{shard_id}.npz"
        save_npz(
            path,
            {
                "param_names": np.array(["global_coupling", "speed"]),
                "param_values": np.array(grid[rows]),
                "sim_index": np.arange(6)[rows].astype(np.int64),
                "diverged": diverged[rows],
                "fc": fcs[rows].astype(np.float32),
            },
        )
        shards.append(str(path))
    return {
        "shards": shards,
        "empirical": str(emp_path),
        "fcs": fcs,
        "group": group,
        "subjects": subjects,
        "grid": grid,
        "root": tmp_path,
    }


def test_run_stage_scores_and_best(study):
    out = study["root"] / "fit"
    fit.run_stage(study["shards"], study["empirical"], {"metric": "fc_corr"}, str(out))
    scores = pd.read_csv(out / "scores.csv")
    assert scores["sim_index"].tolist() == list(range(6))
    assert scores.columns.tolist()[:4] == ["sim_index", "global_coupling", "speed", "diverged"]
    assert scores[["global_coupling", "speed"]].to_numpy().tolist() == [
        list(p) for p in study["grid"]
    ]
    assert {f"fc_corr_{s}" for s in SUBJECT_IDS} <= set(scores.columns)
    scored = [name for name in scores.columns if name in fit.METRICS or name == "mean_fc"
              or name.startswith("fc_corr_") or name.startswith("std_")]
    assert scores.loc[1, scored].isna().all()  # diverged: nothing scored
    assert not scores["degenerate"].any() and (scores["realisations"] == 1).all()
    rows, cols = np.triu_indices(N, 1)
    fc3 = study["fcs"][3].astype(np.float32).astype(float)
    expected = np.corrcoef(fc3[rows, cols], study["subjects"][1][rows, cols])[0, 1]
    assert scores.loc[3, "fc_corr_s2"] == pytest.approx(expected, rel=1e-6)

    best = json.loads((out / "best.json").read_text())
    assert best["metric"] == "fc_corr"
    assert best["best_fit"]["sim_index"] == 4
    assert best["best"]["fc_rmse"]["sim_index"] == 4
    assert best["n_diverged"] == 1
    per_subject = [
        np.corrcoef(
            study["group"].astype(np.float32).astype(float)[rows, cols],
            study["subjects"][s][rows, cols],
        )[0, 1]
        for s in range(3)
    ]
    assert best["per_subject_fc_corr"]["mean"] == pytest.approx(np.mean(per_subject), rel=1e-6)
    assert best["per_subject_fc_corr"]["std"] == pytest.approx(
        np.std(per_subject, ddof=1), rel=1e-5
    )
    for name in ("scores.csv.json", "best.json.json"):
        sidecar = json.loads((out / name).read_text())
        assert "empirical" in sidecar["inputs"]


def test_run_stage_refuses_mismatched_parameters(study):
    path = Path(study["shards"][1])
    save_npz(
        path,
        {
            "param_names": np.array(["coupling", "speed"]),
            "param_values": np.zeros((1, 2)),
            "sim_index": np.array([9]),
            "diverged": np.zeros(1, bool),
            "fc": np.zeros((1, N, N), np.float32),
        },
    )
    out = study["root"] / "fit"
    with pytest.raises(InputError) as caught:
        fit.run_stage(study["shards"], study["empirical"], {}, str(out))
    assert caught.value.field == "param_names" and caught.value.source == str(path)
    assert not out.exists()


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"metric": "r2"}, "fit.metric"),
        ({"weigths": {}}, "fit.weigths"),
        ({"weights": {"fc_rmse": 1.0}}, "fit.weights.fc_rmse"),
        ({"metric": "fcd_ks"}, "fit.metric"),  # no FCD in the fixture
    ],
)
def test_run_stage_bad_settings(study, settings, field):
    out = study["root"] / "fit"
    with pytest.raises(InputError) as caught:
        fit.run_stage(study["shards"], study["empirical"], settings, str(out))
    assert caught.value.field == field
    assert not (out / "scores.csv").exists() and not (out / "best.json").exists()


def test_run_stage_reports_the_uncertainty_across_subjects(study):
    out = study["root"] / "fit"
    fit.run_stage(study["shards"], study["empirical"], {"metric": "fc_corr"}, str(out))
    best = json.loads((out / "best.json").read_text())
    rows, cols = np.triu_indices(N, 1)
    fcs = study["fcs"].astype(np.float32).astype(float)  # as the bold shards store them
    # every simulation against every subject, by numpy; the diverged sim 1 never counts
    r = np.array([[np.corrcoef(fc[rows, cols], subject[rows, cols])[0, 1]
                   for subject in study["subjects"]] for fc in fcs])
    r[1] = np.nan
    at_best = best["per_subject_fc_corr"]
    assert at_best["n"] == 3
    assert list(at_best["values"]) == SUBJECT_IDS
    np.testing.assert_allclose(list(at_best["values"].values()), r[4], rtol=1e-6)
    assert at_best["min"] == pytest.approx(r[4].min(), rel=1e-6)
    assert at_best["max"] == pytest.approx(r[4].max(), rel=1e-6)

    chosen = np.nanargmax(r, axis=0)  # each subject's own best simulation
    per_subject = best["best_per_subject"]
    assert per_subject["metric"] == "fc_corr"
    assert [per_subject["rows"][s]["sim_index"] for s in SUBJECT_IDS] == chosen.tolist()
    assert 1 not in chosen
    for k, name in enumerate(["global_coupling", "speed"]):
        values = np.array([study["grid"][i][k] for i in chosen])
        summary = per_subject["parameters"][name]
        assert summary["mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert summary["std"] == pytest.approx(values.std(ddof=1), rel=1e-12, abs=1e-15)
        assert (summary["min"], summary["max"], summary["n"]) == (values.min(), values.max(), 3)
    best_r = r[chosen, np.arange(3)]
    assert per_subject["fc_corr"]["mean"] == pytest.approx(best_r.mean(), rel=1e-6)


def test_a_diverged_or_nan_simulation_never_wins(study):
    """Sim 1 carries the group FC but diverged; sim 4 is made unscorable by a NaN: the best
    fit must be another simulation, by every metric and for every subject."""
    path = Path(study["shards"][0])  # sims 3, 4, 5
    fcs = study["fcs"][3:6].copy()
    fcs[1, 0, 2] = fcs[1, 2, 0] = np.nan  # sim 4: a flat node's NaN row, not flagged diverged
    save_npz(path, {"param_names": np.array(["global_coupling", "speed"]),
                    "param_values": np.array(study["grid"][3:6]),
                    "sim_index": np.arange(3, 6), "diverged": np.zeros(3, bool),
                    "fc": fcs.astype(np.float32)})
    out = study["root"] / "fit"
    fit.run_stage(study["shards"], study["empirical"], {}, str(out))
    scores = pd.read_csv(out / "scores.csv")
    assert scores.loc[[1, 4], ["fc_corr", "fc_rmse", "combined", "fc_corr_s1"]].isna().all(
        axis=None)
    best = json.loads((out / "best.json").read_text())
    assert best["n_scored"] == 4
    winners = [row["sim_index"] for row in best["best"].values()]
    winners += [row["sim_index"] for row in best["best_per_subject"]["rows"].values()]
    assert not {1, 4} & set(winners)


FCD_VALUES = np.random.default_rng(46).uniform(-0.5, 1.0, (7, 40)).astype(np.float32)


def _write_split(folder: Path, fcs: np.ndarray, grid: list, pieces: list[list[int]]) -> list:
    paths = []
    for shard_id, rows in enumerate(pieces):
        path = folder / f"shard-{shard_id}.npz"
        save_npz(path, {"param_names": np.array(["global_coupling", "speed"]),
                        "param_values": np.array([grid[i] for i in rows]),
                        "sim_index": np.array(rows, np.int64),
                        "diverged": np.zeros(len(rows), bool),
                        "fc": fcs[rows].astype(np.float32),
                        "fcd_values": FCD_VALUES[rows]})
        paths.append(str(path))
    return paths


def test_scores_and_best_fit_do_not_depend_on_the_shard_split(tmp_path):
    """80 regions, 7 simulations in 1, 2 and 7 shards (given in shuffled order): scores.csv
    and best.json are byte-identical. A matrix-vector product over a shard's rows changes
    the last bit of a row's correlation with the number of rows; rows are reduced alone."""
    rng = np.random.default_rng(45)
    nodes = 80
    subjects = np.array([np.corrcoef(rng.standard_normal((nodes, 120))) for _ in range(3)])
    emp = tmp_path / "emp.npz"
    save_npz(emp, {"fc_subjects": subjects, "fc_group": subjects.mean(axis=0),
                   "subject_ids": np.array(SUBJECT_IDS),
                   "fcd_values": rng.uniform(-0.5, 1.0, 300),
                   "fcd_offsets": np.array([0, 100, 200, 300])})
    grid = [(g, s) for g in (0.1, 0.2, 0.3, 0.4) for s in (2.0, 4.0)][:7]
    fcs = np.array([np.corrcoef(rng.standard_normal((nodes, 120))) for _ in grid])
    outputs = []
    for name, pieces in (("one", [list(range(7))]), ("two", [[3, 4, 5, 6], [0, 1, 2]]),
                         ("seven", [[i] for i in (6, 2, 0, 5, 1, 3, 4)])):
        folder = tmp_path / name
        shards = _write_split(folder / "bold", fcs, grid, pieces)
        fit.run_stage(shards, str(emp), {"metric": "combined"}, str(folder / "fit"))
        outputs.append([(folder / "fit" / file).read_bytes()
                        for file in ("scores.csv", "best.json")])
    assert outputs[0] == outputs[1] == outputs[2]
    # and the score of a stack is, row by row, the score of each matrix alone
    stack = fit.score(fcs, subjects.mean(axis=0))
    alone = pd.concat([fit.score(fc, subjects.mean(axis=0)) for fc in fcs], ignore_index=True)
    pd.testing.assert_frame_equal(stack, alone, check_exact=True)


def test_tables_carry_the_seed_and_their_units_in_the_sidecar(study):
    """The seed as a column (empty for shards that did not record it), each column's unit in
    the sidecar, the CSV one header row."""
    out = study["root"] / "fit"
    fit.run_stage(study["shards"], study["empirical"], {"units": {"speed": "mm/ms"}}, str(out))
    scores = pd.read_csv(out / "scores.csv")
    assert scores["seed"].isna().all()  # the fixture's shards carry no seed
    for path in study["shards"]:
        with np.load(path) as data:
            save_npz(path, {**data, "seed": np.int64(1234)})
    fit.run_stage(study["shards"], study["empirical"], {"units": {"speed": "mm/ms"}}, str(out))
    for name, after in (("scores.csv", "realisations"), ("realisations.csv", "realisation")):
        table = pd.read_csv(out / name)
        assert (table["seed"] == 1234).all() and table["seed"].dtype.kind == "i"
        columns = table.columns.tolist()
        assert columns.index("seed") == columns.index(after) + 1
        assert pd.to_numeric(table["sim_index"]).tolist() == sorted(table["sim_index"])
        sidecar = json.loads((out / f"{name}.json").read_text())
        assert sidecar["seed"] == 1234 and set(sidecar["columns"]) == set(columns)
        units = sidecar["columns"]
        assert units["speed"] == "mm/ms" and units["global_coupling"] == "dimensionless"
        assert units["fc_corr"] == units["fc_corr_s1"] == units["mean_fc"] == "Pearson r"
        assert units["fc_rmse"] == "Pearson r" and units["seed"] == units["sim_index"] == ""
        assert units["bold_std"] == "BOLD signal change (fraction of baseline)"
    assert json.loads((out / "scores.csv.json").read_text())["columns"]["std_fc_corr"] \
        == "Pearson r"
    # a shard of another seed is a stale result: refused, naming both
    with np.load(study["shards"][0]) as data:
        save_npz(study["shards"][0], {**data, "seed": np.int64(5)})
    with pytest.raises(InputError, match="different seeds") as error:
        fit.run_stage(study["shards"], study["empirical"], None, str(out))
    assert error.value.field == "simulation.seed"
    assert "shard-0.npz" in str(error.value) and "shard-1.npz" in str(error.value)
