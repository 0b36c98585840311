"""BOLD post-processing, FC and FCD against independent expectations."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from brainsweep import bold
from brainsweep.errors import InputError
from brainsweep.io import load_npz

EPS = np.finfo(np.float64).eps


def rel_err(out: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


# ----------------------------------------------------------------------------------------- fc
def test_fc_matches_numpy_corrcoef_batched():
    rng = np.random.default_rng(11)
    ts = rng.standard_normal((3, 400, 7)) @ rng.standard_normal((7, 7))  # correlated nodes
    out = bold.fc(ts)
    assert out.shape == (3, 7, 7)
    for i in range(3):
        # k = 100 eps: two passes of sums over 400 samples
        assert rel_err(out[i], np.corrcoef(ts[i].T)) < 100 * EPS


def test_fc_float32_input_is_summed_in_float64():
    rng = np.random.default_rng(12)
    ts = rng.standard_normal((800, 5)).astype(np.float32)
    assert rel_err(bold.fc(ts), np.corrcoef(ts.astype(np.float64).T)) < 100 * EPS


@pytest.mark.parametrize("rho", [-0.8, 0.0, 0.35, 0.9])
def test_fc_of_signals_with_known_correlation(rho):
    rng = np.random.default_rng(13)
    a, b = rng.standard_normal((2, 500))
    # make a and b exactly centred and orthonormal, so corr(a, rho a + s b) is exactly rho
    a -= a.mean()
    a /= np.linalg.norm(a)
    b -= b.mean()
    b -= (b @ a) * a
    b /= np.linalg.norm(b)
    y = rho * a + np.sqrt(1 - rho**2) * b
    out = bold.fc(np.stack([a, y, 3.0 * y + 7.0], axis=-1))
    assert out[0, 1] == pytest.approx(rho, abs=1e3 * EPS)
    assert out[0, 2] == pytest.approx(rho, abs=1e3 * EPS)
    assert out[1, 2] == pytest.approx(1.0, abs=1e3 * EPS)


@pytest.mark.parametrize("bad", ["constant", "nan", "inf"])
def test_fc_bad_series_gives_nan_row_without_warning(bad):
    rng = np.random.default_rng(14)
    ts = rng.standard_normal((300, 5))
    ts[:, 2] = {"constant": 0.1, "nan": 1.0, "inf": 1.0}[bad]
    if bad != "constant":
        ts[17, 2] = np.nan if bad == "nan" else np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = bold.fc(ts)
    assert np.isnan(out[2]).all() and np.isnan(out[:, 2]).all()
    keep = [0, 1, 3, 4]
    assert rel_err(out[np.ix_(keep, keep)], np.corrcoef(ts[:, keep].T)) < 100 * EPS


def test_fc_rejects_wrong_shapes():
    with pytest.raises(InputError):
        bold.fc(np.ones(10))
    with pytest.raises(InputError):
        bold.fc(np.ones((1, 4)))


# ------------------------------------------------------------------------------ postprocess
def _sine(freq: float, n: int, tr: float) -> np.ndarray:
    return np.sin(2 * np.pi * freq * np.arange(n) * tr)


def _amplitude(x: np.ndarray, freq: float, tr: float) -> float:
    # least-squares fit of a sinusoid at the known frequency
    t = np.arange(x.size) * tr
    design = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    coef, *_ = np.linalg.lstsq(design, x, rcond=None)
    return float(np.hypot(*coef))


def test_bandpass_keeps_in_band_sinusoid_and_attenuates_out_of_band():
    tr, n = 0.72, 4000
    freqs = (0.03, 0.035, 0.3, 0.002)
    ts = np.stack([_sine(f, n, tr) for f in freqs], axis=-1)
    out = bold.postprocess(ts, tr=tr, detrend=False, zscore=False, bandpass=(0.01, 0.1))
    middle = slice(500, n - 500)  # away from the filter's edge transients
    for column, freq in enumerate(freqs):
        amplitude = _amplitude(out[middle, column], freq, tr)
        if 0.01 < freq < 0.1:
            assert amplitude == pytest.approx(1.0, rel=0.01)
        else:
            assert amplitude < 0.02


def test_bandpass_is_zero_phase():
    tr, n, freq = 0.72, 3000, 0.04
    x = _sine(freq, n, tr)[:, None]
    out = bold.postprocess(x, tr=tr, detrend=False, zscore=False)[:, 0]
    middle = slice(500, n - 500)
    # a lag would show as a cosine component of the fit
    t = np.arange(n)[middle] * tr
    design = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    (sin_part, cos_part), *_ = np.linalg.lstsq(design, out[middle], rcond=None)
    assert abs(cos_part) < 1e-3 * abs(sin_part)


def test_detrend_removes_a_line_and_zscore_normalises():
    tr, n = 0.72, 600
    t = np.arange(n) * tr
    wave = _sine(0.05, n, tr)
    ts = np.stack([3.0 + 0.5 * t, 100.0 + 2.0 * wave - 0.01 * t], axis=-1)
    out = bold.postprocess(ts, tr=tr, bandpass=None, zscore=False)
    assert np.abs(out[:, 0]).max() < 1e-9
    line = np.polyval(np.polyfit(t, 2.0 * wave, 1), t)  # the part of the wave a line explains
    assert np.allclose(out[:, 1], 2.0 * wave - line, atol=1e-9)
    z = bold.postprocess(ts[:, 1:], tr=tr, bandpass=None)
    assert z.mean() == pytest.approx(0.0, abs=1e-12)
    assert z.std() == pytest.approx(1.0, rel=1e-12)


def test_gsr_leaves_series_orthogonal_to_the_global_signal():
    rng = np.random.default_rng(15)
    ts = rng.standard_normal((500, 6)) + rng.standard_normal((500, 1)) * 2.0
    out = bold.postprocess(ts, tr=1.0, detrend=False, bandpass=None, zscore=False, gsr=True)
    g = ts.mean(axis=1) - ts.mean()
    assert np.abs(g @ out).max() < 1e-9 * np.linalg.norm(g) * np.linalg.norm(out)


def test_transient_drops_ceil_of_seconds_over_tr():
    ts = np.random.default_rng(16).standard_normal((2, 200, 3))
    assert bold.postprocess(ts, tr=0.72, transient_s=20.0, bandpass=None).shape == (2, 172, 3)
    assert bold.postprocess(ts, tr=0.5, transient_s=20.0, bandpass=None).shape == (2, 160, 3)


def test_postprocess_keeps_nan_series_apart():
    ts = np.random.default_rng(17).standard_normal((400, 4))
    ts[30, 1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = bold.postprocess(ts, tr=0.72)
    assert np.isnan(out[:, 1]).all()
    assert np.isfinite(out[:, [0, 2, 3]]).all()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"bandpass": (0.01, 0.9)}, "bandpass"),  # above Nyquist (0.69 Hz)
        ({"bandpass": (0.1, 0.01)}, "bandpass"),
        ({"transient_s": 1000.0}, "transient_s"),
        ({"tr": -1.0}, "tr"),
    ],
)
def test_postprocess_rejects_bad_options(kwargs, field):
    ts = np.random.default_rng(18).standard_normal((300, 3))
    options = {"tr": 0.72, **kwargs}
    with pytest.raises(InputError) as caught:
        bold.postprocess(ts, **options)
    assert caught.value.field == field


# -------------------------------------------------------------------------------------- fcd
def _fcd_brute_force(ts: np.ndarray, width: int, step: int) -> np.ndarray:
    rows, cols = np.triu_indices(ts.shape[1], k=1)
    vectors = [
        np.corrcoef(ts[start : start + width].T)[rows, cols]
        for start in range(0, ts.shape[0] - width + 1, step)
    ]
    return np.corrcoef(np.array(vectors))


def test_fcd_matches_brute_force_windows():
    rng = np.random.default_rng(19)
    ts = rng.standard_normal((2, 130, 5))
    out = bold.fcd(ts, tr=2.0, window_s=40.0, step_s=6.0)  # 20-sample windows, step 3
    assert out.shape == (2, 37, 37)
    for i in range(2):
        assert rel_err(out[i], _fcd_brute_force(ts[i], 20, 3)) < 1e3 * EPS


def test_fcd_shows_two_connectivity_states():
    # first half: nodes (0,1) and (2,3) co-fluctuate; second half: (0,2) and (1,3)
    rng = np.random.default_rng(20)
    n_half = 200
    noise = 0.3 * rng.standard_normal((2 * n_half, 4))
    s1, s2 = rng.standard_normal((2, 2 * n_half))
    ts = noise.copy()
    ts[:n_half] += np.stack([s1, s1, s2, s2], axis=-1)[:n_half]
    ts[n_half:] += np.stack([s1, s2, s1, s2], axis=-1)[n_half:]
    out = bold.fcd(ts, tr=1.0, window_s=50.0, step_s=25.0)
    starts = bold.fcd_windows(2 * n_half, tr=1.0, window_s=50.0, step_s=25.0)
    first = starts + 50 <= n_half
    second = starts >= n_half
    within = out[np.ix_(first, first)][np.triu_indices(first.sum(), 1)]
    across = out[np.ix_(first, second)]
    assert within.min() > 0.8
    assert across.max() < 0.0


def test_fcd_values_is_the_strict_upper_triangle():
    m = np.arange(16.0).reshape(4, 4)
    assert bold.fcd_values(m).tolist() == [1.0, 2.0, 3.0, 6.0, 7.0, 11.0]
    assert bold.fcd_values(np.stack([m, -m])).shape == (2, 6)


def test_fcd_needs_two_windows():
    with pytest.raises(InputError):
        bold.fcd(
            np.random.default_rng(21).standard_normal((50, 3)), tr=1.0, window_s=40.0, step_s=20.0
        )


# --------------------------------------------------------------------------------- settings
@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"bogus": 1}, "bold.bogus"),
        ({"detrend": "yes"}, "bold.detrend"),
        ({"transient_s": True}, "bold.transient_s"),
        ({"bandpass": [0.1]}, "bold.bandpass"),
        ({"bandpass": [0.1, 0.01]}, "bold.bandpass"),
        ({"fcd": {"window_s": 60.0}}, "bold.fcd.step_s"),
        ({"fcd": {"window_s": 60.0, "step_s": 2.0, "overlap": 1}}, "bold.fcd.overlap"),
    ],
)
def test_settings_errors_name_the_key(settings, field):
    with pytest.raises(InputError) as caught:
        bold.validate_postprocess(settings)
    assert caught.value.field == field


def test_settings_defaults():
    options = bold.validate_postprocess({"bandpass": None})
    assert options["bandpass"] is None and options["detrend"] and options["fcd"] is None


# ------------------------------------------------------------------------------------ stage
def _write_sim_shard(path, bold_array, diverged, tr=0.72):
    n_sims = bold_array.shape[0]
    np.savez(
        path,
        param_names=np.array(["global_coupling", "speed"]),
        param_values=np.stack([np.linspace(0.1, 0.3, n_sims), np.full(n_sims, 3.0)], axis=1),
        sim_index=np.arange(10, 10 + n_sims, dtype=np.int64),
        bold=bold_array.astype(np.float32),
        bold_period_s=np.float64(tr),
        diverged=np.asarray(diverged, dtype=bool),
    )


def test_run_stage_writes_fc_and_masks_diverged(tmp_path):
    rng = np.random.default_rng(22)
    series = rng.standard_normal((4, 300, 6)) @ rng.standard_normal((6, 6))
    series[2, 50, 3] = np.nan  # non-finite but not flagged: must be treated as diverged
    shard = tmp_path / "shard-0.npz"
    _write_sim_shard(shard, series, [False, True, False, False])
    settings = {"transient_s": 10.0, "fcd": {"window_s": 30.0, "step_s": 7.2}}
    out = bold.run_stage(str(shard), settings, str(tmp_path / "bold" / "shard-0.npz"))
    data = load_npz(out)
    assert data["fc"].dtype == np.float32 and data["fc"].shape == (4, 6, 6)
    assert data["diverged"].tolist() == [False, True, True, False]
    assert np.isnan(data["fc"][[1, 2]]).all()
    for i in (0, 3):
        clean = bold.postprocess(series[i].astype(np.float32), tr=0.72, transient_s=10.0)
        assert rel_err(data["fc"][i], np.corrcoef(clean.T)) < 10 * np.finfo(np.float32).eps
    n_windows = (300 - 14 - 42) // 10 + 1
    assert data["fcd_values"].shape == (4, n_windows * (n_windows - 1) // 2)
    assert np.isnan(data["fcd_values"][[1, 2]]).all()
    assert np.isfinite(data["fcd_values"][[0, 3]]).all()
    assert data["sim_index"].tolist() == [10, 11, 12, 13]
    assert json.loads(str(data["postprocess_json"]))["transient_s"] == 10.0
    sidecar = json.loads((tmp_path / "bold" / "shard-0.npz.json").read_text())
    assert sidecar["n_diverged"] == 2 and sidecar["inputs"]["shard"]["sha256"]


def test_run_stage_bad_shard_leaves_no_output(tmp_path):
    shard = tmp_path / "shard-0.npz"
    np.savez(
        shard,
        param_names=np.array(["g"]),
        param_values=np.zeros((2, 1)),
        sim_index=np.arange(2),
        diverged=np.zeros(2, bool),
        bold_period_s=0.72,
    )
    out = tmp_path / "bold" / "shard-0.npz"
    with pytest.raises(InputError) as caught:
        bold.run_stage(str(shard), {}, str(out))
    assert caught.value.field == "bold" and str(shard) in str(caught.value)
    assert not out.exists() and not list((tmp_path).glob("bold/*"))


def test_run_stage_too_short_for_transient_names_shard_and_key(tmp_path):
    shard = tmp_path / "shard-0.npz"
    _write_sim_shard(shard, np.random.default_rng(23).standard_normal((1, 20, 3)), [False])
    out = tmp_path / "out.npz"
    with pytest.raises(InputError) as caught:
        bold.run_stage(str(shard), {"transient_s": 20.0}, str(out))
    assert caught.value.field == "bold.transient_s" and caught.value.source == str(shard)
    assert not out.exists()


def test_run_stage_unknown_setting(tmp_path):
    shard = tmp_path / "shard-0.npz"
    _write_sim_shard(shard, np.random.default_rng(24).standard_normal((1, 200, 3)), [False])
    with pytest.raises(InputError) as caught:
        bold.run_stage(str(shard), {"band_pass": [0.01, 0.1]}, str(tmp_path / "out.npz"))
    assert caught.value.field == "bold.band_pass"
    assert not (tmp_path / "out.npz").exists()


def test_gsr_fc_equals_fc_of_least_squares_residuals():
    """GSR against a direct regression: each region on [1, global signal] by least squares."""
    rng = np.random.default_rng(17)
    ts = rng.standard_normal((400, 7)) + rng.standard_normal((400, 1)) * np.linspace(0.5, 2, 7)
    out = bold.postprocess(ts, tr=1.0, detrend=False, bandpass=None, zscore=False, gsr=True)
    design = np.column_stack([np.ones(400), ts.mean(axis=1)])
    coefficients, *_ = np.linalg.lstsq(design, ts, rcond=None)
    residuals = ts - design @ coefficients
    # GSR keeps each region's mean (the regressor is the centred global signal); the rest is
    # the residual of the regression
    np.testing.assert_allclose(out - out.mean(axis=0), residuals, rtol=0, atol=1e-12)
    np.testing.assert_allclose(bold.fc(out), np.corrcoef(residuals.T), rtol=0, atol=1e-12)
    # the shared signal made every pair correlate; after GSR the mean correlation is negative
    upper = np.triu_indices(7, 1)
    assert np.corrcoef(ts.T)[upper].mean() > 0.3 and bold.fc(out)[upper].mean() < 0


def test_bold_spread_and_global_step_against_direct_computation():
    rng = np.random.default_rng(18)
    tr, n = 1.0, 600
    stationary = rng.standard_normal((n, 5)) * np.array([1, 2, 3, 4, 5]) * 1e-3
    assert bold.bold_spread(stationary, tr=tr) == pytest.approx(
        np.median(stationary.std(axis=0)), rel=1e-12)
    # transient: only the kept part counts
    assert bold.bold_spread(stationary, tr=tr, transient_s=100.0) == pytest.approx(
        np.median(stationary[100:].std(axis=0)), rel=1e-12)
    g = stationary.mean(axis=1).reshape(10, 60)
    expected = (g.mean(axis=1).max() - g.mean(axis=1).min()) / np.median(g.std(axis=1))
    assert bold.global_step(stationary, tr=tr, segment_s=60.0) == pytest.approx(expected,
                                                                               rel=1e-12)
    # white noise: segment means scatter by ~1/sqrt(60) of the within-segment s.d.
    assert bold.global_step(stationary, tr=tr, segment_s=60.0) < 1.5
    switching = stationary.copy()
    # every region jumps by 0.01 at the middle: 6.8 times the global signal's s.d.
    # (sqrt(1 + 4 + 9 + 16 + 25) / 5 * 1e-3 = 1.48e-3), far above the default threshold of 4
    switching[n // 2:] += 0.01
    assert 5.5 < bold.global_step(switching, tr=tr, segment_s=60.0) < 8
    assert np.isnan(bold.global_step(stationary[:100], tr=tr, segment_s=60.0))  # one segment
    assert np.isnan(bold.global_step(np.zeros((600, 5)), tr=tr, segment_s=60.0))  # no scale
