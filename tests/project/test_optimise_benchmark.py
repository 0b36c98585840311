"""benchmarks/optimise_vs_grid.py's pooled landscape: the reference that docs/fitting.md
compares the optimisers with, built from independent noise seeds of one grid."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("optimise_vs_grid",
                                                  BENCHMARKS / "optimise_vs_grid.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _grid(path: Path, scores: dict[tuple[float, float], list[float]]) -> str:
    rows = [{"g": g, "a": a, "realisation": r, "objective": value}
            for (g, a), values in scores.items() for r, value in enumerate(values)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def test_pooled_landscape_is_the_mean_over_every_file(bench, tmp_path):
    # (1, -0.5) has one realisation in the first file and three in the second: the pooled
    # mean is over all four (0.25), not the mean of the files' means (0.4)
    first = _grid(tmp_path / "s1.csv", {(1.0, -0.5): [0.7], (2.0, -0.5): [0.5, 0.1],
                                        (2.0, -1.0): [0.9, np.nan]})
    second = _grid(tmp_path / "s2.csv", {(1.0, -0.5): [0.1, 0.1, 0.1],
                                         (2.0, -0.5): [0.4, 0.4], (2.0, -1.0): [0.9, 0.9]})
    pooled = bench.pooled_landscape([first, second], ["g", "a"])
    # best first: (2, -0.5) pooled over four realisations; the point with a diverged
    # realisation (NaN) scores NaN and comes last although its other values are the highest
    assert list(zip(pooled["g"], pooled["a"], strict=True)) == [(2.0, -0.5), (1.0, -0.5),
                                                                 (2.0, -1.0)]
    assert pooled["mean"].iloc[0] == pytest.approx(np.mean([0.5, 0.1, 0.4, 0.4]))
    assert pooled["mean"].iloc[1] == pytest.approx(0.25)
    assert np.isnan(pooled["mean"].iloc[2]) and np.isnan(pooled["std"].iloc[2])
    # every realisation counts, the diverged one too (the simulations spent)
    assert list(pooled["size"]) == [4, 4, 4]


def test_pooled_landscape_checks_the_axes_against_the_box(bench, tmp_path):
    path = _grid(tmp_path / "g.csv", {(g, a): [0.1] for g in (2.0, 5.0, 8.0)
                                      for a in (-1.0, -0.55, -0.1)})
    pooled = bench.pooled_landscape([path], ["g", "a"], box={"g": [2.0, 8.0],
                                                             "a": [-1.0, -0.1]})
    assert len(pooled) == 9
    with pytest.raises(SystemExit, match="axis g is not 3 points evenly spanning"):
        bench.pooled_landscape([path], ["g", "a"], box={"g": [2.0, 9.0], "a": [-1.0, -0.1]})


def test_nulls_makes_every_non_finite_number_null(bench):
    record = {"a": float("nan"), "b": [1.0, float("inf"), (np.float32("nan"), 2)],
              "c": {"d": -np.inf, "e": 3}}
    assert bench._nulls(record) == {"a": None, "b": [1.0, None, [None, 2]],
                                    "c": {"d": None, "e": 3}}


def test_pooled_landscape_names_a_missing_column(bench, tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"g": [1.0], "objective": [0.1]}).to_csv(path, index=False)
    with pytest.raises(SystemExit, match=r"bad\.csv: no column\(s\) \['a'\]"):
        bench.pooled_landscape([str(path)], ["g", "a"])


def test_plot_landscape_draws_histories_with_and_without_a_validation(tmp_path):
    import subprocess
    import sys

    points = {(g, a): [0.1 * g + a, 0.1 * g + a + 0.01] for g in (2.0, 5.0, 8.0)
              for a in (-1.0, -0.55, -0.1)}
    grids = []
    for seed in (1, 2):
        rows = [{"global_coupling": g, "a": a, "realisation": r, "objective": value}
                for (g, a), values in points.items() for r, value in enumerate(values)]
        grids.append(tmp_path / f"grid_seed{seed}.csv")
        pd.DataFrame(rows).to_csv(grids[-1], index=False)
    searched = pd.DataFrame({"global_coupling": [3.0, 6.0], "a": [-0.5, -0.7],
                             "objective": [0.1, 0.2]})  # no phase column: searched only
    searched.to_csv(tmp_path / "cmaes-0.csv", index=False)
    validated = searched.assign(phase=["search", "validate"])
    validated.to_csv(tmp_path / "tpe-0.csv", index=False)
    out = tmp_path / "landscape.png"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "plot_landscape.py"), "--grids",
                           *map(str, grids), "--histories", str(tmp_path / "cmaes-0.csv"),
                           str(tmp_path / "tpe-0.csv"), "--out", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
