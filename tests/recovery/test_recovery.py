"""Parameter recovery: the grid-step error, the truth's settings, a simulated empirical source."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from brainsweep import bold, empirical, recovery
from brainsweep.errors import InputError
from brainsweep.io import load_npz, save_npz

POST = {"transient_s": 7.2, "detrend": True, "bandpass": [0.01, 0.1], "zscore": True,
        "gsr": False, "fcd": {"window_s": 36.0, "step_s": 3.6}}


def grid_scores(values: np.ndarray, couplings, speeds, metric="fc_corr") -> pd.DataFrame:
    rows = [(g, v) for g in couplings for v in speeds]
    return pd.DataFrame({"sim_index": range(len(rows)),
                         "global_coupling": [g for g, _ in rows],
                         "speed": [v for _, v in rows],
                         "diverged": False, metric: values.ravel()})


COUPLINGS = [0.4, 0.55, 0.7, 0.85, 1.0]
SPEEDS = [0.5, 1.0, 2.0, 4.0]


def peaked(peak_g: int, peak_v: int) -> np.ndarray:
    """A score landscape with its single maximum at grid indices (peak_g, peak_v)."""
    gi, vi = np.meshgrid(np.arange(5), np.arange(4), indexing="ij")
    return 0.9 - 0.1 * (gi - peak_g) ** 2 - 0.02 * np.abs(vi - peak_v)


def test_error_is_counted_in_grid_steps_on_each_axis():
    scores = grid_scores(peaked(3, 3), COUPLINGS, SPEEDS)
    report = recovery.evaluate(scores, {"global_coupling": 0.7, "speed": 1.0}, metric="fc_corr")
    assert report["best"]["global_coupling"] == 0.85 and report["best"]["speed"] == 4.0
    assert report["axes"]["global_coupling"]["error_steps"] == 1.0
    assert report["axes"]["speed"]["error_steps"] == 2.0  # log axis: steps, not m/s
    assert report["axes"]["global_coupling"]["error"] == pytest.approx(0.15)
    assert report["recovered"] is False  # speed is two steps off
    assert recovery.evaluate(scores, {"global_coupling": 0.7, "speed": 1.0}, metric="fc_corr",
                             tolerance_steps=2)["recovered"] is True
    # the truth cell (0.7, 1.0) is 2 steps below the best in g and 1 in v: rank by value
    landscape = report["landscape"]
    assert landscape["score_at_truth"] == pytest.approx(0.9 - 0.1 - 0.04)
    higher = np.sort(peaked(3, 3).ravel())[::-1]
    assert landscape["rank_of_truth"] == 1 + int((higher > landscape["score_at_truth"]).sum())


def test_profiles_and_slices_through_the_truth():
    values = peaked(2, 1)
    report = recovery.evaluate(grid_scores(values, COUPLINGS, SPEEDS),
                               {"global_coupling": 0.7, "speed": 1.0}, metric="fc_corr")
    assert report["recovered"] is True
    g_axis = report["axes"]["global_coupling"]
    assert g_axis["error_steps"] == 0.0 and report["axes"]["speed"]["error_steps"] == 0.0
    np.testing.assert_allclose(g_axis["profile"], values.max(axis=1))
    np.testing.assert_allclose(g_axis["slice_through_truth"], values[:, 1])
    np.testing.assert_allclose(report["axes"]["speed"]["slice_through_truth"], values[2])
    assert g_axis["profile_range"] == pytest.approx(0.4)


def test_lower_is_better_metric_and_diverged_rows_never_win():
    values = -peaked(1, 2)  # rmse-like: the minimum at (0.55, 2.0)
    scores = grid_scores(values, COUPLINGS, SPEEDS, metric="fc_rmse")
    scores.loc[0, "fc_rmse"] = -10.0
    scores.loc[0, "diverged"] = True
    report = recovery.evaluate(scores, {"global_coupling": 0.55, "speed": 2.0}, metric="fc_rmse")
    assert report["best"]["sim_index"] == 1 * 4 + 2
    assert report["landscape"]["n_diverged"] == 1 and report["landscape"]["rank_of_truth"] == 1


def test_truth_between_grid_points_and_outside_the_grid():
    scores = grid_scores(peaked(2, 1), COUPLINGS, SPEEDS)
    between = recovery.evaluate(scores, {"global_coupling": 0.625, "speed": 1.0},
                                metric="fc_corr")
    assert between["axes"]["global_coupling"]["truth_position"] == pytest.approx(1.5)
    assert between["axes"]["global_coupling"]["error_steps"] == pytest.approx(0.5)
    outside = recovery.evaluate(scores, {"global_coupling": 2.0, "speed": 1.0}, metric="fc_corr")
    assert outside["axes"]["global_coupling"]["truth_inside_grid"] is False
    assert outside["recovered"] is False


STUDY = {
    "study": "rec",
    "model": {"name": "rww"},
    "integration": {"dt": 1.0},
    "simulation": {"seed": 42, "transient_s": 5.0, "duration_s": 60.0},
    "monitors": {"bold": {"tr": 0.72}},
    "sweep": {"global_coupling": [0.5, 0.7], "speed": [1.0, 2.0]},
    "shards": {"count": 2},
    "recovery": {"truth": {"global_coupling": 0.7, "speed": 1.0}, "seed": 7, "replicas": 3},
}


def test_truth_settings_replace_sweep_seed_and_shards_only():
    settings = recovery.truth_settings(STUDY)
    assert settings["sweep"] == {"table": {"global_coupling": [0.7] * 3, "speed": [1.0] * 3}}
    assert settings["simulation"] == {**STUDY["simulation"], "seed": 7}
    assert settings["shards"] == {"count": 1}
    for key in ("model", "integration", "monitors"):
        assert settings[key] == STUDY[key]
    assert STUDY["simulation"]["seed"] == 42  # the study's config is not modified
    from brainsweep.simulate.grid import build_grid
    from brainsweep.study import SECTIONS

    assert set(settings) <= set(SECTIONS)
    assert build_grid(settings["sweep"]).size == 3


@pytest.mark.parametrize(("change", "field"), [
    ({"seed": 42}, "recovery.seed"),
    ({"truth": {"tau_s": 100.0}}, "recovery.truth"),
    ({"truth": {"speed": float("nan")}}, "recovery.truth.speed"),
    ({"replicas": 0}, "recovery.replicas"),
    ({"seed": -1}, "recovery.seed"),
    ({"tolerance": 1}, "recovery.tolerance"),
])
def test_bad_recovery_settings_are_refused(change, field):
    study = {**STUDY, "recovery": {**STUDY["recovery"], **change}}
    with pytest.raises(InputError) as error:
        recovery.truth_settings(study)
    assert error.value.field == field


def fake_truth_shard(path, *, n_sims=2, n_time=120, n_nodes=6, diverged=None, seed=0):
    """A simulate-stage shard whose BOLD has a known structure: a shared slow signal."""
    rng = np.random.default_rng(seed)
    common = rng.standard_normal((n_sims, n_time, 1))
    noise = rng.standard_normal((n_sims, n_time, n_nodes))
    signal = (0.8 * common + noise).cumsum(axis=1) * 0.1 + 3.0  # slow, offset like BOLD
    save_npz(path, {
        "param_names": np.array(["global_coupling", "speed"]),
        "param_values": np.tile([0.7, 1.0], (n_sims, 1)),
        "sim_index": np.arange(n_sims, dtype=np.int64),
        "bold": signal.astype(np.float32),
        "bold_period_s": np.float64(0.72),
        "diverged": np.zeros(n_sims, bool) if diverged is None else np.asarray(diverged),
    })
    return signal.astype(np.float32)


def test_simulated_source_matches_an_independent_computation(tmp_path):
    shard = tmp_path / "truth.npz"
    signal = fake_truth_shard(shard)
    out = empirical.run_stage({"source": str(shard), "format": "simulated",
                               "postprocess": POST}, tmp_path / "emp.npz")
    data = load_npz(out)
    assert data["subject_ids"].tolist() == ["sim-0", "sim-1"]
    assert float(data["tr"]) == 0.72
    for s in range(2):
        # the transient (7.2 s = 10 samples) is dropped here, as the bold stage does for
        # the grid's simulations: the same function on the same series
        clean = bold.postprocess(signal[s].astype(np.float64), tr=0.72, transient_s=7.2,
                                 detrend=True, bandpass=(0.01, 0.1), zscore=True, gsr=False)
        assert clean.shape[0] == 110
        np.testing.assert_allclose(data["fc_subjects"][s], bold.fc(clean), rtol=0, atol=1e-12)
    assert data["truth_names"].tolist() == ["global_coupling", "speed"]
    np.testing.assert_array_equal(data["truth_values"], [[0.7, 1.0], [0.7, 1.0]])
    assert data["region_indices"].tolist() == list(range(6))
    record = json.loads((tmp_path / "emp.npz.json").read_text())
    assert record["tr_source"] == "shard"
    assert record["truth"] == {"global_coupling": [0.7, 0.7], "speed": [1.0, 1.0]}
    # auto-detected from the .npz suffix
    auto = empirical.run_stage({"source": str(shard), "postprocess": POST}, tmp_path / "a.npz")
    np.testing.assert_array_equal(load_npz(auto)["fc_group"], data["fc_group"])


def test_a_diverged_truth_is_refused(tmp_path):
    shard = tmp_path / "truth.npz"
    fake_truth_shard(shard, diverged=[False, True])
    with pytest.raises(InputError, match=r"simulation\(s\) \[1\] diverged"):
        empirical.run_stage({"source": str(shard), "format": "simulated", "postprocess": POST},
                            tmp_path / "emp.npz")
    assert not (tmp_path / "emp.npz").exists()


def test_report_reads_the_truth_from_the_empirical_output(tmp_path):
    shard = tmp_path / "truth.npz"
    fake_truth_shard(shard)
    emp = empirical.run_stage({"source": str(shard), "format": "simulated", "postprocess": POST},
                              tmp_path / "emp.npz")
    scores = grid_scores(peaked(2, 1), COUPLINGS, SPEEDS)
    scores.to_csv(tmp_path / "scores.csv", index=False)
    settings = {"truth": {"global_coupling": 0.7, "speed": 1.0}, "seed": 7}
    out = recovery.run_stage(tmp_path / "scores.csv", emp, settings, tmp_path / "rec.json",
                             figure=tmp_path / "landscape.png")
    report = json.loads(out.read_text())
    assert report["recovered"] is True and report["replicas"] == 2
    assert (tmp_path / "landscape.png").stat().st_size > 1000
    assert (tmp_path / "rec.json.json").is_file()
    with pytest.raises(InputError, match="the truth shard holds"):
        recovery.run_stage(tmp_path / "scores.csv", emp,
                           {**settings, "truth": {"global_coupling": 0.55, "speed": 1.0}},
                           tmp_path / "other.json")


def test_one_planted_axis_gets_a_profile_figure(tmp_path):
    shard = tmp_path / "truth.npz"
    fake_truth_shard(shard)
    emp = empirical.run_stage({"source": str(shard), "format": "simulated", "postprocess": POST},
                              tmp_path / "emp.npz")
    grid_scores(peaked(2, 1), COUPLINGS, SPEEDS).to_csv(tmp_path / "scores.csv", index=False)
    out = recovery.run_stage(tmp_path / "scores.csv", emp,
                             {"truth": {"global_coupling": 0.7}, "seed": 7},
                             tmp_path / "rec.json", figure=tmp_path / "profile.png")
    assert json.loads(out.read_text())["axes"]["global_coupling"]["error_steps"] == 0.0
    assert (tmp_path / "profile.png").stat().st_size > 1000
