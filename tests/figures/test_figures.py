"""Figures: valid images, the right best cell, nothing written on error."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

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
    assert names == ["fc_comparison.png", "fcd_distribution.png",
                     "heatmap_combined_global_coupling_speed.png"]
    expected = figures.figure_files({"metric": "combined"}, ["global_coupling", "speed"],
                                    fcd=True)
    assert sorted(sum(expected.values(), [])) == names
    best = scores.loc[scores["combined"].where(~scores["diverged"]).idxmax()]
    for path in written:
        _assert_png(path)
        sidecar = json.loads(Path(f"{path}.json").read_text())
        assert sidecar["output"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert sidecar["stage"] == "figures" and sidecar["config"]["metric"] == "combined"
        assert sidecar["best"]["sim_index"] == int(best["sim_index"])
        assert "scores" in sidecar["inputs"]
        if path.name != names[-1]:  # the FC and FCD figures also read a shard and the data
            assert {"bold", "empirical"} <= set(sidecar["inputs"])


def test_landscape_with_the_other_parameters_held_fixed(tmp_path):
    table = _scores()
    grid = figures.best_grid(table, "global_coupling", "speed", "fc_corr",
                             fixed={"noise": 10.0})
    valid = table[~table["diverged"] & (table["noise"] == 10.0)]
    expected = valid.pivot(index="speed", columns="global_coupling", values="fc_corr")
    np.testing.assert_array_equal(grid.to_numpy(), expected.reindex(
        index=grid.index, columns=grid.columns).to_numpy())
    # sim 7 (noise 10) diverged: its cell is empty, not filled from noise 5
    row = table.loc[7]
    assert np.isnan(grid.loc[row["speed"], row["global_coupling"]])
    _assert_png(figures.score_heatmap(table, "global_coupling", "speed", "fc_corr",
                                      tmp_path / "slice.png", fixed={"noise": 10.0}))
    for fixed, field in (({"noise": 7.0}, "figures.others.noise"),
                         ({"speed": 1.0}, "figures.others.speed"),
                         ({"width": 1.0}, "figures.others.width")):
        with pytest.raises(InputError) as error:
            figures.best_grid(table, "global_coupling", "speed", "fc_corr", fixed=fixed)
        assert error.value.field == field


def test_fcd_distributions_figure_and_its_errors(tmp_path):
    rng = np.random.default_rng(53)
    emp = rng.uniform(-0.2, 1.0, 300)
    _assert_png(figures.fcd_distributions(rng.uniform(0, 1, 120), emp, tmp_path / "fcd.png",
                                          emp_offsets=np.array([0, 100, 300]), title="best"))
    out = tmp_path / "bad"
    out.mkdir()
    for sim, offsets in ((np.array([0.1, np.nan]), None), (np.zeros(0), None),
                         (np.ones(5), np.array([0, 100, 299]))):
        with pytest.raises(InputError):
            figures.fcd_distributions(sim, emp, out / "x.png", emp_offsets=offsets)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(("settings", "field"), [
    ({"others": "min"}, "figures.others"),
    ({"others": {"noise": "high"}}, "figures.others.noise"),
    ({"pairs": [["speed", "speed"]]}, "figures.pairs"),
    ({"format": "gif"}, "figures.format"),
])
def test_bad_figure_settings(settings, field):
    with pytest.raises(InputError) as error:
        figures.validate_settings(settings)
    assert error.value.field == field


def test_figure_files_name_what_the_settings_ask_for():
    three = ["global_coupling", "speed", "noise"]
    files = figures.figure_files(None, three, fcd=False)
    assert files == {"landscapes": ["heatmap_fc_corr_global_coupling_speed.png",
                                    "heatmap_fc_corr_global_coupling_noise.png",
                                    "heatmap_fc_corr_speed_noise.png"],
                     "fc": ["fc_comparison.png"], "fcd": []}
    one = figures.figure_files({"format": "pdf"}, ["speed"], fcd=True)
    assert one["landscapes"] == ["profile_fc_corr_speed.pdf"]
    assert one["fcd"] == ["fcd_distribution.pdf"]
    assert figures.swept_parameters(["a", "b"], np.array([[1.0, 2.0], [1.0, 3.0]])) == ["b"]


def test_stage_holds_the_other_parameters_at_the_best_fit(tmp_path):
    """Three swept parameters, others: best. Each landscape is the slice through sim 5."""
    from brainsweep.io import save_npz

    table = _scores()
    table.to_csv(tmp_path / "scores.csv", index=False)
    rng = np.random.default_rng(54)
    fc = np.array([np.corrcoef(rng.standard_normal((5, 30))) for _ in range(len(table))])
    names = ["global_coupling", "speed", "noise"]
    save_npz(tmp_path / "bold" / "shard-0.npz", {
        "param_names": np.array(names), "param_values": table[names].to_numpy(),
        "sim_index": table["sim_index"].to_numpy(), "diverged": table["diverged"].to_numpy(),
        "fc": fc.astype(np.float32)})
    save_npz(tmp_path / "emp.npz", {"fc_group": fc[0], "fc_subjects": fc[:2],
                                    "subject_ids": np.array(["a", "b"])})
    written = figures.run_stage(str(tmp_path / "scores.csv"), str(tmp_path / "bold"),
                                str(tmp_path / "emp.npz"), {"others": "best"},
                                str(tmp_path / "figs"))
    assert len(written) == 4  # three landscapes and the FC comparison; no FCD anywhere
    best = table.loc[5]
    for path in written[:3]:
        sidecar = json.loads(Path(f"{path}.json").read_text())
        (held, value), = sidecar["others"].items()
        assert held not in sidecar["axes"] and value == best[held]
        assert sidecar["best"]["sim_index"] == 5


def test_one_swept_parameter_gives_a_profile_without_the_degenerate_point(tmp_path):
    """A G-only sweep with realisations (the default study's shape): one profile with error
    bars, and the best fit is the best point that is not flagged degenerate."""
    from brainsweep.io import save_npz

    rng = np.random.default_rng(55)
    g = np.array([0.3, 0.4, 0.5, 0.6])
    table = pd.DataFrame({"sim_index": [0, 3, 6, 9], "global_coupling": g, "speed": 3.0,
                          "diverged": False, "degenerate": [False, False, True, False],
                          "degenerate_reason": ["", "", "mean_fc", ""],
                          "point": range(4), "realisations": 3,
                          "fc_corr": [0.2, 0.5, 0.9, 0.4], "std_fc_corr": [0.05, 0.02, 0.1, 0.03]})
    table.to_csv(tmp_path / "scores.csv", index=False)
    fc = np.array([np.corrcoef(rng.standard_normal((5, 30))) for _ in range(12)])
    save_npz(tmp_path / "bold" / "shard-0.npz", {
        "param_names": np.array(["global_coupling", "speed"]),
        "param_values": np.column_stack([np.repeat(g, 3), np.full(12, 3.0)]),
        "sim_index": np.arange(12), "diverged": np.zeros(12, bool), "fc": fc.astype(np.float32)})
    save_npz(tmp_path / "emp.npz", {"fc_group": fc[0], "fc_subjects": fc[:2],
                                    "subject_ids": np.array(["a", "b"])})
    written = figures.run_stage(str(tmp_path / "scores.csv"), str(tmp_path / "bold"),
                                str(tmp_path / "emp.npz"), {"pairs": None},
                                str(tmp_path / "figs"))
    assert [path.name for path in written] == ["profile_fc_corr_global_coupling.png",
                                               "fc_comparison.png"]
    _assert_png(written[0])
    sidecar = json.loads(Path(f"{written[0]}.json").read_text())
    # 0.9 at G = 0.5 is degenerate: the best fit is G = 0.4, its first realisation's FC shown
    assert sidecar["best"]["sim_index"] == 3 and sidecar["best"]["fc_corr"] == 0.5


@pytest.mark.parametrize("flags, expected", [
    ({"diverged": [True, True]}, "every simulation diverged"),
    ({"diverged": [True, False], "degenerate": [False, True]},
     "degenerate or diverged (excluded)"),
    ({"diverged": [False, False], "nan": True}, "diverged, degenerate or no finite score"),
])
def test_the_heatmap_legend_says_why_cells_are_grey(flags, expected, monkeypatch):
    """The legend names what the grey cells hold, read from the flags of their simulations
    (both simulations of the cell (0.1, 1.0) here, one per noise value)."""
    table = _scores()
    cell = table.index[(table["global_coupling"] == 0.1) & (table["speed"] == 1.0)]
    table["degenerate"] = False
    for name in ("diverged", "degenerate"):
        if name in flags:
            table.loc[cell, name] = flags[name]
    if flags.get("nan"):
        table.loc[cell, "fc_corr"] = np.nan
    labels = []
    monkeypatch.setattr(figures.plots, "save_figure", lambda figure, path, dpi: labels.extend(
        t.get_text() for t in figure.axes[0].get_legend().get_texts()))
    figures.score_heatmap(table, "global_coupling", "speed", "fc_corr", "unused.png")
    assert labels == [expected, "best"]
