"""The default study's (G, a) landscape from independent noise seeds of one grid, pooled,
with each grid's best point and the optimisers' choices on it (docs/fitting.md).

Reads the ``--save-grid`` files of ``benchmarks/optimise_vs_grid.py`` (one per noise seed)
and, optionally, optimiser histories (``--histories``); writes one PNG.

    python benchmarks/plot_landscape.py \
        --grids docs/perf-logs/landscape/default_grid32_seed*.csv.gz \
        --histories docs/perf-logs/landscape/optimise_1200_*.csv \
        --out docs/figures/fitting/landscape_default_h200.png
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from optimise_vs_grid import chosen_row, pooled_landscape  # noqa: E402  (this folder, a script)

NAMES = ("global_coupling", "a")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", nargs="+", required=True)
    parser.add_argument("--histories", nargs="*", default=[])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    # the benchmark's pooling: a point with a diverged realisation is NaN (blank), never best
    grids = [pooled_landscape([path], list(NAMES)) for path in args.grids]
    pooled = pooled_landscape(args.grids, list(NAMES)).set_index(list(NAMES))
    G = np.sort(pooled.index.get_level_values(0).unique())
    A = np.sort(pooled.index.get_level_values(1).unique())
    surface = pooled["mean"].unstack().loc[G, A].to_numpy()
    seeds = int(pooled["size"].max())

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2))
    image = left.pcolormesh(A, G, surface, vmin=0.0, vmax=0.32, shading="nearest",
                            cmap="viridis")
    fig.colorbar(image, ax=left, label=f"objective, mean over {seeds} noise seeds")
    for path, grid in zip(args.grids, grids, strict=True):
        g, a = grid.iloc[0][list(NAMES)]
        seed = re.search(r"seed(\d+)", Path(path).name)
        left.plot(a, g, "w*", ms=14, mec="k")
        left.annotate(f"grid, seed {seed.group(1) if seed else '?'}", (a, g), color="w",
                      xytext=(6, -12), textcoords="offset points", fontsize=8)
    g, a = pooled["mean"].idxmax()
    left.plot(a, g, "wX", ms=12, mec="k", label=f"best of the pooled grid ({seeds} seeds)")
    for path in args.histories:
        history = pd.read_csv(path)
        # chosen by its validation where it had one, else by its searched scores
        validated = "phase" in history and (history["phase"] == "validate").any()
        best = chosen_row(history, list(NAMES), selected=validated)
        marker = "o" if "cmaes" in Path(path).name else "s"
        left.plot(best["a"], best["global_coupling"], marker, mfc="none", mec="r", ms=9,
                  mew=1.6)
    left.plot([], [], "o", mfc="none", mec="r", label="CMA-ES choice")
    left.plot([], [], "s", mfc="none", mec="r", label="TPE choice")
    left.plot([], [], "w*", mec="k", label="each 4-seed grid's best")
    left.legend(loc="lower left", fontsize=8, framealpha=0.8)
    left.set_xlabel("a (bifurcation parameter)")
    left.set_ylabel("G (global coupling)")
    left.set_title(f"{len(grids)} grids of {len(G)} x {len(A)} pooled")

    ratio = G[:, None] / np.abs(A[None, :])
    points = right.scatter(ratio.ravel(), surface.ravel(), c=np.repeat(G, len(A)), s=9,
                           cmap="plasma")
    fig.colorbar(points, ax=right, label="G")
    right.set_xlim(5, 15)
    right.set_ylim(0.05, 0.32)
    right.set_xlabel("G / |a|")
    right.set_ylabel(f"objective, mean over {seeds} seeds")
    right.set_title("the ridge: one well-determined ratio, a flat crest along it")
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
