"""benchmarks/parameter_recovery.py: the planted "empirical" target, the errors it reports,
and the reuse of saved optimiser histories by benchmarks/optimise_vs_grid.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    sys.path.insert(0, str(BENCHMARKS))  # parameter_recovery imports its sibling
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def recovery():
    return _load("parameter_recovery")


@pytest.fixture(scope="module")
def bench():
    return _load("optimise_vs_grid")


BOX = {"global_coupling": [2.0, 8.0], "a": [-1.0, -0.1]}


def test_errors_are_fractions_of_the_box_and_the_ratio_is_relative(recovery):
    truth = {"global_coupling": 5.0, "a": -0.5}
    errors = recovery.recovery_errors({"global_coupling": 6.5, "a": -0.59}, truth, BOX)
    assert errors["error_global_coupling"] == pytest.approx(1.5 / 6.0)
    assert errors["error_a"] == pytest.approx(-0.09 / 0.9)
    # 6.5 / 0.59 against 10: the ridge's combination
    assert errors["ratio"] == pytest.approx(6.5 / 0.59)
    assert errors["error_ratio"] == pytest.approx((6.5 / 0.59 - 10.0) / 10.0)
    # a point elsewhere on the same ratio has no ratio error, whatever its axis errors
    along = recovery.recovery_errors({"global_coupling": 3.0, "a": -0.3}, truth, BOX)
    assert along["error_ratio"] == pytest.approx(0.0, abs=1e-12)
    assert along["error_global_coupling"] == pytest.approx(-2.0 / 6.0)


@pytest.mark.parametrize("plant, message", [
    (["global_coupling=5", "b=1"], "'b' is not a free parameter"),
    (["global_coupling=9", "a=-0.5"], "outside"),
    (["global_coupling=five", "a=-0.5"], "is not NAME=NUMBER"),
    (["global_coupling=5"], r"no value for \['a'\]"),
])
def test_a_bad_plant_is_named(recovery, plant, message):
    with pytest.raises(SystemExit, match=message):
        recovery._plant(plant, BOX)


def test_the_planted_target_is_the_simulation_the_fit_would_make(recovery, bench, tmp_path):
    # the same point, noise seed and key simulated again by the fit's own batch scores the
    # planted FC perfectly (fc_corr 1), so the target is what the stage's simulations make,
    # processed the same way; another key does not
    from brainsweep.io import load_npz
    from brainsweep.optimise.evaluate import Batch, Subject, run_batch
    from brainsweep.optimise.stage import Settings

    problem = bench.PROBLEMS["optimise-ci"]
    box = problem["box"]
    study = yaml.safe_load((bench.ROOT / problem["study"]).read_text())
    connectome, _ = bench.build_inputs(study, tmp_path)
    truth = {"global_coupling": 1.0, "w": 0.75}
    path = recovery.planted_empirical(study, connectome, truth, 7, tmp_path / "p.npz", box=box)
    data, conn = load_npz(path), load_npz(connectome)
    assert list(data["subject_ids"]) == ["planted-0"]
    target = Subject("planted", data["fc_group"], None, conn["weights"], conn["lengths"])
    sections = {**study, "simulation": {**study["simulation"], "seed": 7}}
    parsed = Settings.from_mapping(bench.stage_settings(
        sections, "cmaes", 0, box=box, objective={"fc_corr": 1.0}, budget=2, population=2,
        seeds=1, select=None))
    table, _ = run_batch(parsed.simulate, list(box),
                         Batch(subjects=[0, 0], params=np.array([[1.0, 0.75]] * 2),
                               sim_index=np.array([0, 1])),
                         [target], bold_options=parsed.bold, weights={"fc_corr": 1.0})
    assert table["fc_corr"].iloc[0] == pytest.approx(1.0, abs=1e-9)
    assert table["fc_corr"].iloc[1] < 0.99  # another realisation: not the same FC


def test_a_planted_group_is_its_realisations_fisher_z_mean(recovery, bench, tmp_path):
    from brainsweep.io import load_npz

    problem = bench.PROBLEMS["default"]
    study = yaml.safe_load((bench.ROOT / problem["study"]).read_text())
    study["simulation"]["duration_s"] = 120.0  # the FCD needs a few windows, not 864 s
    connectome, _ = bench.build_inputs(study, tmp_path)
    truth = {"global_coupling": 5.0, "a": -0.55}
    one = load_npz(recovery.planted_empirical(study, connectome, truth, 7,
                                              tmp_path / "one.npz", box=problem["box"]))
    two = load_npz(recovery.planted_empirical(study, connectome, truth, 7,
                                              tmp_path / "two.npz", box=problem["box"],
                                              realisations=2))
    # realisation 0 is the same simulation in both; the group is the Fisher-z mean
    np.testing.assert_allclose(two["fc_subjects"][0], one["fc_subjects"][0], atol=1e-12)
    upper = np.triu_indices(one["fc_group"].shape[0], 1)
    expected = np.tanh(np.arctanh(two["fc_subjects"][:, upper[0], upper[1]]).mean(axis=0))
    np.testing.assert_allclose(two["fc_group"][upper], expected, atol=1e-12)
    # the FCD values of both realisations, pooled, each subject's slice its own
    size = one["fcd_values"].size
    assert list(two["fcd_offsets"]) == [0, size, 2 * size]
    np.testing.assert_array_equal(two["fcd_values"][:size], one["fcd_values"])


def _history(budget: int, seeds: int, top: int, vseeds: int) -> pd.DataFrame:
    rows = [{"phase": "search", "seeds": seeds, "objective": 0.1 * k, "g": float(k),
             "generation": k // 3, "sim_index": k * seeds, "noise_seed": 42}
            for k in range(budget)]
    rows += [{"phase": "validate", "seeds": vseeds, "objective": 0.05 * k, "g": float(k)}
             for k in range(top)]
    return pd.DataFrame(rows)


def test_a_saved_history_is_reused_only_for_the_same_run(bench, tmp_path):
    settings = {"simulation": {"seed": 42},
                "optimise": {"method": "tpe", "seed": 0, "budget": 7, "population": 3,
                             "parameters": {"g": [0.0, 6.0]}, "seeds": 4,
                             "validate": {"top": 2, "seeds": 80}}}
    saved = tmp_path / "tpe-0.csv"
    _history(6, 4, 2, 80).to_csv(saved, index=False)
    history, wall = bench.optimiser_history(settings, None, None, tmp_path, reuse=saved)
    assert len(history) == 8 and np.isnan(wall)
    # a budget of 7 in generations of 3 is 6 candidates; any other count, other seeds, another
    # validation, another noise seed or parameter, or another population is refused
    other_seed = _history(6, 4, 2, 80).assign(noise_seed=7)
    other_parameter = _history(6, 4, 2, 80).rename(columns={"g": "h"})
    for wrong in (_history(5, 4, 2, 80), _history(6, 2, 2, 80), _history(6, 4, 3, 80),
                  _history(6, 4, 2, 16), other_seed, other_parameter):
        wrong.to_csv(saved, index=False)
        with pytest.raises(SystemExit, match="tpe-0.csv: not a history of this run"):
            bench.optimiser_history(settings, None, None, tmp_path, reuse=saved)
    # the same counts, but a run of common noise: each generation one set of keys
    common = _history(6, 4, 2, 80)
    common.loc[common["phase"] == "search", "sim_index"] = common["generation"] * 12
    common.to_csv(saved, index=False)
    with pytest.raises(SystemExit, match="not a history of this run"):
        bench.optimiser_history(settings, None, None, tmp_path, reuse=saved)
    shared = {**settings, "optimise": {**settings["optimise"], "common_noise": True}}
    assert len(bench.optimiser_history(shared, None, None, tmp_path, reuse=saved)[0]) == 8
    _history(6, 4, 2, 80).to_csv(saved, index=False)
    pairs = {**settings, "optimise": {**settings["optimise"], "population": 2, "budget": 6}}
    with pytest.raises(SystemExit, match="not a history of this run"):
        bench.optimiser_history(pairs, None, None, tmp_path, reuse=saved)


def test_the_chosen_point_is_the_best_validated_one_when_validated(bench):
    history = _history(6, 4, 2, 80)  # the best search row (g 5) was not validated best
    assert bench.chosen_row(history, ["g"], selected=True) == {"best": 0.05, "g": 1.0}
    assert bench.chosen_row(history, ["g"], selected=False)["g"] == 5.0


def test_points_are_collected_once_and_gaps_are_paired(tmp_path):
    import json

    points = _load("validate_points")
    box = {"g": [0.0, 1.0], "a": [-1.0, 0.0]}
    first = {"problem": {"box": box}, "rows": [{"method": "grid", "seed": None, "g": 0.5,
                                                "a": -0.5, "validated": 0.3}],
             "reference": [{"method": "rank 1", "g": 0.25, "a": -0.5}]}
    second = {"problem": {"box": box}, "rows": [{"method": "cmaes", "seed": 2, "g": 0.5,
                                                 "a": -0.5}]}
    for name, record in (("one", first), ("two", second)):
        (tmp_path / f"{name}.json").write_text(json.dumps(record))
    found = points.collect([str(tmp_path / "one.json"), str(tmp_path / "two.json")], box)
    # the cmaes row chose the grid's point: one entry, labelled by the first file
    assert [p["label"] for p in found] == ["one: grid", "one: rank 1"]
    assert found[0]["source_validated"] == 0.3
    with pytest.raises(SystemExit, match="another box"):
        points.collect([str(tmp_path / "one.json")], {"g": [0.0, 2.0], "a": [-1.0, 0.0]})
    # a shared realisation effect cancels in the paired gap: point 1 is point 0 minus 0.01
    # plus nothing else, so its gap is exactly 0.01 with no spread, whatever the luck
    luck = np.random.default_rng(0).normal(0.0, 0.05, 64)
    values = np.stack([0.3 + luck, 0.29 + luck, 0.3 + np.random.default_rng(1).normal(
        0.0, 0.05, 64)])
    gaps, errors = points.paired(values, 0)
    assert gaps[1] == pytest.approx(0.01) and errors[1] == pytest.approx(0.0, abs=1e-12)
    assert errors[2] > 0.005  # independent luck does not cancel


def test_paired_validation_gives_every_row_the_same_realisations(bench, tmp_path):
    # two rows at one point: paired, their gap is exactly zero (the same simulations);
    # with keys of their own it is not, and its error is the two errors combined
    from brainsweep.fit.stage import read_empirical
    from brainsweep.io import load_npz
    from brainsweep.optimise.evaluate import Subject
    from brainsweep.optimise.stage import Settings

    problem = bench.PROBLEMS["optimise-ci"]
    study = yaml.safe_load((bench.ROOT / problem["study"]).read_text())
    study["simulation"]["duration_s"] = 30.0
    connectome, empirical = bench.build_inputs(study, tmp_path)
    parsed = Settings.from_mapping(bench.stage_settings(
        study, "cmaes", 0, box=problem["box"], objective=problem["objective"], budget=2,
        population=2, seeds=1, select=None))
    data, conn = read_empirical(empirical), load_npz(connectome)
    target = Subject("group", data["fc_group"], None, conn["weights"], conn["lengths"])
    for paired in (True, False):
        rows = [{"global_coupling": 1.0, "w": 0.75}, {"global_coupling": 1.0, "w": 0.75}]
        bench.validate(rows, 3, list(problem["box"]), parsed, target, problem["objective"],
                       paired=paired)
        if paired:
            assert rows[1]["validated_gap"] == 0.0 and rows[1]["validated_gap_se"] == 0.0
        else:  # other realisations: another mean, and a gap with an error of its own
            assert rows[1]["validated_gap"] != 0.0 and rows[1]["validated_gap_se"] > 0.0


def test_listed_points_are_read_and_checked_against_the_box(tmp_path):
    points = _load("validate_points")
    box = {"g": [0.0, 1.0], "a": [-1.0, 0.0]}
    good = tmp_path / "points.csv"
    pd.DataFrame({"label": ["x"], "g": [0.5], "a": [-0.25]}).to_csv(good, index=False)
    assert points.read_points(str(good), box) == [{"label": "x", "source_validated": None,
                                                   "g": 0.5, "a": -0.25}]
    outside = tmp_path / "outside.csv"
    pd.DataFrame({"label": ["y"], "g": [1.5], "a": [-0.25]}).to_csv(outside, index=False)
    with pytest.raises(SystemExit, match=r"outside\.csv: y: g = 1.5 is outside"):
        points.read_points(str(outside), box)
    with pytest.raises(SystemExit, match=r"no column\(s\) \['a'\]"):
        pd.DataFrame({"label": ["z"], "g": [0.5]}).to_csv(outside, index=False)
        points.read_points(str(outside), box)
