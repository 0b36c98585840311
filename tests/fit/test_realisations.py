"""Noise realisations per parameter point, and the degenerate-dynamics flags, in the fit stage.

The point table is checked against a direct computation (NumPy mean and ``ddof=1`` standard
deviation of the per-simulation scores, grouped by hand); the flags against constructed FCs
and BOLD summaries whose verdict is known.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from brainsweep import fit
from brainsweep.errors import InputError
from brainsweep.fit.degenerate import degenerate_reasons
from brainsweep.io import save_npz

N = 8
SUBJECTS = ["a", "b"]
GRID = [(0.1, 3.0), (0.2, 3.0), (0.3, 3.0)]
REALISATIONS = 3


def _fc(rng, common=0.0):
    """A correlation matrix of N series sharing ``common`` of a global signal."""
    shared = rng.standard_normal((1, 200))
    return np.corrcoef(rng.standard_normal((N, 200)) + common * shared)


def _write_study(tmp_path, fcs, *, bold_std=None, global_step=None, split=(5, 9)):
    """An empirical file and bold shards of the 3-point grid, 3 realisations each (point p,
    realisation r at sim_index 3 p + r, as simulation.realisations lays them out)."""
    rng = np.random.default_rng(3)
    subjects = np.array([_fc(rng, 0.3) for _ in SUBJECTS])
    group = subjects.mean(axis=0)
    emp = tmp_path / "emp.npz"
    save_npz(emp, {"fc_subjects": subjects, "fc_group": group,
                   "subject_ids": np.array(SUBJECTS)})
    params = np.repeat(np.array(GRID), REALISATIONS, axis=0)
    n = len(params)
    shards = []
    bounds = [0, *split, n]
    # written in reverse order: nothing may depend on the order the shards come in
    for i, (lo, hi) in reversed(list(enumerate(zip(bounds[:-1], bounds[1:], strict=True)))):
        arrays = {"param_names": np.array(["global_coupling", "speed"]),
                  "param_values": params[lo:hi], "sim_index": np.arange(lo, hi),
                  "diverged": np.zeros(hi - lo, bool), "fc": fcs[lo:hi].astype(np.float32)}
        if bold_std is not None:
            arrays["bold_std"] = bold_std[lo:hi]
            arrays["global_step"] = global_step[lo:hi]
        path = tmp_path / f"shard-{i}.npz"
        save_npz(path, arrays)
        shards.append(str(path))
    return shards, str(emp), group


def _fcs(seed=5):
    rng = np.random.default_rng(seed)
    return np.array([_fc(rng, 0.3 + 0.1 * (i // REALISATIONS)) for i in range(9)])


def _study_with_point(tmp_path, point, pattern):
    """The study of _fcs() with every realisation of ``point`` given the FC
    ``pattern(group FC)`` (unit diagonal): a point whose FC is a transform of the data's."""
    fcs = _fcs()
    _, _, group = _write_study(tmp_path, fcs)
    matrix = pattern(group)
    np.fill_diagonal(matrix, 1.0)
    fcs[point * REALISATIONS:(point + 1) * REALISATIONS] = matrix
    return _write_study(tmp_path, fcs)


def test_point_means_and_spreads_match_a_direct_computation(tmp_path):
    fcs = _fcs()
    shards, emp, group = _write_study(tmp_path, fcs)
    fit.run_stage(shards, emp, {"metric": "fc_corr"}, tmp_path / "fit")
    per_sim = pd.read_csv(tmp_path / "fit" / "realisations.csv")
    points = pd.read_csv(tmp_path / "fit" / "scores.csv")
    assert per_sim["sim_index"].tolist() == list(range(9))
    assert per_sim["point"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert per_sim["realisation"].tolist() == [0, 1, 2] * 3
    assert len(points) == 3 and (points["realisations"] == REALISATIONS).all()
    assert points["sim_index"].tolist() == [0, 3, 6]

    rows, cols = np.triu_indices(N, 1)
    emp_upper = group[rows, cols]
    for p in range(3):
        sims = fcs[REALISATIONS * p: REALISATIONS * (p + 1)].astype(np.float32).astype(float)
        r = np.array([np.corrcoef(s[rows, cols], emp_upper)[0, 1] for s in sims])
        mean_fc = np.array([s[rows, cols].mean() for s in sims])
        rmse = np.array([np.sqrt(np.mean((s[rows, cols] - emp_upper) ** 2)) for s in sims])
        assert points.loc[p, "fc_corr"] == pytest.approx(r.mean(), rel=1e-6)
        assert points.loc[p, "std_fc_corr"] == pytest.approx(r.std(ddof=1), rel=1e-5)
        assert points.loc[p, "mean_fc"] == pytest.approx(mean_fc.mean(), rel=1e-6)
        assert points.loc[p, "std_mean_fc"] == pytest.approx(mean_fc.std(ddof=1), rel=1e-5)
        assert points.loc[p, "fc_rmse"] == pytest.approx(rmse.mean(), rel=1e-6)
        assert points.loc[p, "std_fc_rmse"] == pytest.approx(rmse.std(ddof=1), rel=1e-5)
        # per-subject correlations are averaged the same way
        subject = np.load(emp)["fc_subjects"][1][rows, cols]
        r_b = [np.corrcoef(s[rows, cols], subject)[0, 1] for s in sims]
        assert points.loc[p, "fc_corr_b"] == pytest.approx(np.mean(r_b), rel=1e-6)
    best = json.loads((tmp_path / "fit" / "best.json").read_text())
    assert best["n_simulations"] == 9 and best["n_points"] == 3
    assert best["realisations"] == [REALISATIONS]
    assert best["best_fit"]["point"] == int(points["fc_corr"].idxmax())


def test_the_tables_do_not_depend_on_the_shard_split(tmp_path):
    fcs = _fcs()
    texts = []
    for split in ((5, 9), (1, 4)):
        where = tmp_path / f"split-{split[0]}"
        shards, emp, _ = _write_study(where, fcs, split=split)
        fit.run_stage(shards, emp, {}, where / "fit")
        texts.append([(where / "fit" / name).read_bytes()
                      for name in ("scores.csv", "realisations.csv", "best.json")])
    assert texts[0] == texts[1]


def test_a_diverged_realisation_makes_its_point_unscored(tmp_path):
    fcs = _fcs()
    shards, emp, _ = _write_study(tmp_path, fcs)
    data = dict(np.load(shards[-1]))  # the first shard: sims 0-4
    data["diverged"][1] = True
    save_npz(shards[-1], data)
    fit.run_stage(shards, emp, {}, tmp_path / "fit")
    points = pd.read_csv(tmp_path / "fit" / "scores.csv")
    assert points.loc[0, "diverged"] and points.loc[0, "n_diverged"] == 1
    assert np.isnan(points.loc[0, "fc_corr"]) and not points.loc[1:, "diverged"].any()


def _fit(shards, emp, degenerate, out):
    """The fit stage with these ``fit.degenerate`` settings: its scores.csv,
    realisations.csv and best.json."""
    fit.run_stage(shards, emp, {"degenerate": degenerate} if degenerate is not None else {},
                  out)
    return (pd.read_csv(out / "scores.csv"), pd.read_csv(out / "realisations.csv"),
            json.loads((out / "best.json").read_text()))


def test_a_synchronised_point_is_flagged_and_cannot_win(tmp_path):
    # point 1: the empirical pattern squeezed towards 1, as when the whole network moves as
    # one: it correlates perfectly with the data, and its mean FC is far above the data's
    shards, emp, group = _study_with_point(tmp_path, 1, lambda group: 0.9 + 0.1 * group)
    points, per_sim, best = _fit(shards, emp, {"max_mean_fc_excess": 0.2}, tmp_path / "fit")
    assert points.loc[1, "fc_corr"] == pytest.approx(1.0, abs=1e-6)
    assert points["degenerate"].tolist() == [False, True, False]
    assert points.loc[1, "degenerate_reason"] == "mean_fc"
    assert per_sim["degenerate"].tolist() == [False] * 3 + [True] * 3 + [False] * 3
    assert best["best_fit"]["point"] != 1
    assert [row["point"] for row in best["excluded_better_than_best"]] == [1]
    assert best["n_points_degenerate"] == 1 and best["degenerate_reasons"]["mean_fc"] == 3
    # with the check off the synchronised point wins: the flag is what kept it out
    best_off = _fit(shards, emp, {"max_mean_fc_excess": None}, tmp_path / "off")[2]
    assert best_off["best_fit"]["point"] == 1 and best_off["excluded_better_than_best"] == []


def test_an_uncoupled_point_is_flagged_low_and_cannot_win(tmp_path):
    # point 2: the empirical pattern scaled towards 0, as when the regions hardly interact:
    # it still correlates perfectly with the data, but its mean FC is far below the data's
    shards, emp, group = _study_with_point(tmp_path, 2, lambda group: 0.02 * group)
    upper = group[np.triu_indices(N, 1)]
    assert 0.98 * upper.mean() > 0.05  # the data's mean FC is 0.07 here, point 2's 0.0014
    points, per_sim, best = _fit(shards, emp, {"max_mean_fc_deficit": 0.05}, tmp_path / "fit")
    assert points.loc[2, "fc_corr"] == pytest.approx(1.0, abs=1e-6)
    assert points["degenerate"].tolist() == [False, False, True]
    assert points.loc[2, "degenerate_reason"] == "low_mean_fc"
    assert per_sim["degenerate"].tolist() == [False] * 6 + [True] * 3
    assert best["best_fit"]["point"] != 2
    assert [row["point"] for row in best["excluded_better_than_best"]] == [2]
    assert best["degenerate_reasons"]["low_mean_fc"] == 3
    assert best["degenerate_thresholds"]["max_mean_fc_deficit"] == 0.05
    # off by default: the same study without the key lets the uncoupled point win
    best_default = _fit(shards, emp, None, tmp_path / "default")[2]
    assert best_default["degenerate_thresholds"]["max_mean_fc_deficit"] is None
    assert best_default["best_fit"]["point"] == 2
    assert best_default["degenerate_reasons"]["low_mean_fc"] == 0


def test_bold_summaries_flag_flat_and_switching_realisations(tmp_path):
    fcs = _fcs()
    bold_std = np.full(9, 5e-3)
    global_step = np.full(9, 1.0)
    bold_std[7] = 1e-8      # one realisation of point 2 barely moves
    global_step[4] = 12.0   # one realisation of point 1 jumps between states
    shards, emp, _ = _write_study(tmp_path, fcs, bold_std=bold_std, global_step=global_step)
    fit.run_stage(shards, emp, {}, tmp_path / "fit")  # the schema's default thresholds
    points = pd.read_csv(tmp_path / "fit" / "scores.csv")
    per_sim = pd.read_csv(tmp_path / "fit" / "realisations.csv")
    assert per_sim["degenerate_reason"].fillna("").tolist() == \
        ["", "", "", "", "transition", "", "", "flat_bold", ""]
    assert points["degenerate_reason"].fillna("").tolist() == ["", "transition", "flat_bold"]
    assert points["n_degenerate"].tolist() == [0, 1, 1]
    best = json.loads((tmp_path / "fit" / "best.json").read_text())
    assert best["best_fit"]["point"] == 0


def test_degenerate_reasons_thresholds():
    reasons = degenerate_reasons(
        np.array([0.41, 0.61, 0.1, np.nan]), 0.4,
        {"max_mean_fc_excess": 0.2, "min_bold_std": 1e-4, "max_global_step": 4.0},
        bold_std=np.array([1e-3, 1e-3, 5e-5, np.nan]), global_step=np.array([1, 5, 4, np.nan]))
    # 0.61 - 0.4 exceeds 0.2; a step of exactly the threshold is not flagged; NaN never is
    assert reasons == ["", "mean_fc;transition", "flat_bold", ""]
    # the deficit: 0.4 - 0.1 exceeds 0.25; one of exactly the threshold is not flagged
    low = degenerate_reasons(np.array([0.15, 0.1, np.nan, 0.9]), 0.4,
                             {"max_mean_fc_excess": 0.2, "max_mean_fc_deficit": 0.25})
    assert low == ["", "low_mean_fc", "", "mean_fc"]


@pytest.mark.parametrize(("settings", "field"), [
    ({"degenerate": {"max_mean_fc": 0.2}}, "fit.degenerate.max_mean_fc"),
    ({"degenerate": {"min_bold_std": -1.0}}, "fit.degenerate.min_bold_std"),
    ({"degenerate": {"max_mean_fc_deficit": -0.1}}, "fit.degenerate.max_mean_fc_deficit"),
    ({"degenerate": {"max_global_step": True}}, "fit.degenerate.max_global_step"),
    ({"degenerate": {"max_global_step": float("nan")}}, "fit.degenerate.max_global_step"),
    ({"degenerate": [0.2]}, "fit.degenerate"),
])
def test_degenerate_settings_errors_name_the_key(settings, field):
    with pytest.raises(InputError) as caught:
        fit.validate_settings(settings)
    assert caught.value.field == field
