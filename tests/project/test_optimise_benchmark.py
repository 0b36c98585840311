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
    first = _grid(tmp_path / "s1.csv", {(1.0, -0.5): [0.1, 0.3], (2.0, -0.5): [0.5, 0.1],
                                        (2.0, -1.0): [0.9, np.nan]})
    second = _grid(tmp_path / "s2.csv", {(1.0, -0.5): [0.2, 0.2], (2.0, -0.5): [0.4, 0.4],
                                         (2.0, -1.0): [0.9, 0.9]})
    pooled = bench.pooled_landscape([first, second], ["g", "a"])
    # best first: (2, -0.5) pooled over four realisations; the point with a diverged
    # realisation (NaN) scores NaN and comes last although its other values are the highest
    assert list(zip(pooled["g"], pooled["a"], strict=True)) == [(2.0, -0.5), (1.0, -0.5),
                                                                 (2.0, -1.0)]
    assert pooled["mean"].iloc[0] == pytest.approx(np.mean([0.5, 0.1, 0.4, 0.4]))
    assert pooled["mean"].iloc[1] == pytest.approx(0.2)
    assert np.isnan(pooled["mean"].iloc[2])
    assert list(pooled["count"]) == [4, 4, 3]


def test_pooled_landscape_names_a_missing_column(bench, tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"g": [1.0], "objective": [0.1]}).to_csv(path, index=False)
    with pytest.raises(SystemExit, match=r"bad\.csv.*\['a'\]"):
        bench.pooled_landscape([str(path)], ["g", "a"])
