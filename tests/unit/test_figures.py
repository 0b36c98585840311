"""Figures: valid images, the right best cell, nothing written on error."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from brainsweep import bold, empirical, figures, fit
from brainsweep.errors import InputError


def _scores() -> pd.DataFrame:
    rng = np.random.default_rng(50)
    g, s, v = np.meshgrid([0.1, 0.2, 0.3, 0.4], [1.0, 2.0, 3.0], [5.0, 10.0], indexing="ij")
    table = pd.DataFrame(
        {
            "sim_index": np.arange(g.size),
            "global_coupling": g.ravel(),
            "speed": s.ravel(),
            "noise": v.ravel(),
        }
    )
    table["diverged"] = False
    table["fc_corr"] = rng.uniform(0.0, 0.5, g.size)
    table["fc_rmse"] = rng.uniform(0.1, 0.5, g.size)
    table.loc[5, "fc_corr"] = 0.9  # the best valid one
    table.loc[7, ["fc_corr", "diverged"]] = [0.99, True]  # better, but diverged
    return table


def _assert_png(path):
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image.shape[2] in (3, 4)


def test_best_grid_maximises_over_other_parameters_and_skips_diverged():
    table = _scores()
    grid = figures.best_grid(table, "global_coupling", "speed", "fc_corr")
    assert grid.shape == (3, 4)
    valid = table[~table["diverged"]]
    expected = valid.groupby(["speed", "global_coupling"])["fc_corr"].max().unstack()
    assert np.allclose(grid.to_numpy(), expected.to_numpy())
    row = table.loc[5]
    assert grid.loc[row["speed"], row["global_coupling"]] == 0.9
    low = figures.best_grid(table, "global_coupling", "speed", "fc_rmse")  # lower is better
    assert np.allclose(
        low.to_numpy(),
        valid.groupby(["speed", "global_coupling"])["fc_rmse"].min().unstack().to_numpy(),
    )


def test_score_heatmap_writes_png_from_csv(tmp_path):
    csv = tmp_path / "scores.csv"
    _scores().to_csv(csv, index=False)
    path = figures.score_heatmap(
        str(csv), "global_coupling", "speed", "fc_corr", tmp_path / "fig" / "heat.png"
    )
    _assert_png(path)
    assert sorted(p.name for p in (tmp_path / "fig").iterdir()) == ["heat.png"]


def test_fc_comparison_writes_png(tmp_path):
    rng = np.random.default_rng(51)
    sim = np.corrcoef(rng.standard_normal((10, 40)))
    emp = np.corrcoef(rng.standard_normal((10, 40)))
    _assert_png(figures.fc_comparison(sim, emp, tmp_path / "fc.png", title="best"))


@pytest.mark.parametrize(
    "call",
    [
        lambda t, p: figures.score_heatmap(t, "global_coupling", "nope", "fc_corr", p),
        lambda t, p: figures.score_heatmap(t, "speed", "speed", "fc_corr", p),
        lambda t, p: figures.score_heatmap(
            t.assign(fc_corr=np.nan), "speed", "noise", "fc_corr", p
        ),
        lambda t, p: figures.fc_comparison(np.eye(4), np.eye(5), p),
        lambda t, p: figures.fc_comparison(np.eye(4), np.full((4, 4), np.nan), p),
    ],
)
def test_errors_write_nothing(tmp_path, call):
    out = tmp_path / "fig"
    out.mkdir()
    with pytest.raises(InputError):
        call(_scores(), out / "x.png")
    assert list(out.iterdir()) == []


def test_pipeline_from_simulated_shard_to_figures(tmp_path):
    """bold -> empirical -> fit -> figures on a tiny constructed study."""
    rng = np.random.default_rng(52)
    n_nodes, n_time, tr = 6, 400, 0.72
    mixing = rng.standard_normal((n_nodes, n_nodes))
    grid = [(g, s) for g in (0.1, 0.2, 0.3) for s in (2.0, 4.0)]
    series = np.array(
        [
            rng.standard_normal((n_time, n_nodes)) @ (mixing * (1 + i % 3))
            + 0.5 * i * rng.standard_normal((n_time, n_nodes))
            for i in range(len(grid))
        ]
    )
    shard = tmp_path / "sims" / "shard-0.npz"
    shard.parent.mkdir()
    np.savez(
        shard,
        param_names=np.array(["global_coupling", "speed"]),
        param_values=np.array(grid),
        sim_index=np.arange(len(grid)),
        bold=series.astype(np.float32),
        bold_period_s=tr,
        diverged=np.array([False, False, False, True, False, False]),
    )
    settings = {"transient_s": 5.0, "fcd": {"window_s": 40.0, "step_s": 5.0}}
    bold_out = bold.run_stage(str(shard), settings, str(tmp_path / "bold" / "shard-0.npz"))

    measured = rng.standard_normal((n_time, n_nodes)) @ mixing
    np.save(tmp_path / "subj.npy", measured)
    emp_out = empirical.run_stage(
        {
            "source": str(tmp_path / "subj.npy"),
            "tr": tr,
            "regions": {"preset": None},
            "postprocess": settings,
        },
        str(tmp_path / "empirical" / "e.npz"),
    )
    fit.run_stage([str(bold_out)], str(emp_out), {"metric": "combined"}, str(tmp_path / "fit"))
    scores = pd.read_csv(tmp_path / "fit" / "scores.csv")
    assert np.isfinite(scores.loc[~scores["diverged"], ["fc_corr", "fcd_ks", "combined"]]).all(
        axis=None
    )
    written = figures.run_stage(
        str(tmp_path / "fit" / "scores.csv"),
        str(tmp_path / "bold"),
        str(emp_out),
        {"metric": "combined"},
        str(tmp_path / "figs"),
    )
    names = sorted(path.name for path in written)
    assert names == ["fc_comparison.png", "heatmap_combined_global_coupling_speed.png"]
    for path in written:
        _assert_png(path)
