"""The best homogeneous and the best heterogeneous fit side by side: one markdown table.

Reads ``results/fit/<study>/scores.csv`` and ``best.json`` of homogeneous-rww (w_p the same
in every region, G swept) and heterogeneous-rww (w_p along the myelin map, G x b swept), as
the fit stage wrote them, and prints for each study its best cell by the fit's metric (train
``fc_corr``; degenerate and diverged cells excluded, as the fit stage excludes them), whether
that cell sits on the edge of the grid, its train and held-out test ``fc_corr``, its FCD KS
distance and its mean FC against the data's. Below the table: how many cells were
degenerate or diverged, and how many degenerate cells scored above the best.

Usage (repository root)::

    python3 benchmarks/heterogeneity_comparison.py [--results results] [--studies A B]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ("homogeneous-rww", "heterogeneous-rww")


def _read(results: Path, study: str) -> tuple[pd.DataFrame, dict]:
    fit = results / "fit" / study
    for name in ("scores.csv", "best.json"):
        if not (fit / name).is_file():
            raise SystemExit(f"{fit / name}: not found (run the study's fit stage first)")
    return pd.read_csv(fit / "scores.csv"), json.loads((fit / "best.json").read_text())


def _held_out_column(scores: pd.DataFrame) -> str:
    columns = [name for name in scores.columns if name.startswith("fc_corr_test")]
    if len(columns) != 1:
        raise SystemExit(f"expected one held-out fc_corr_test* column, got {columns}")
    return columns[0]


def summary(results: Path, study: str) -> dict:
    """The numbers of one study's row of the table."""
    scores, best = _read(results, study)
    names = list(best["parameters"])
    row = best["best_fit"]
    if row is None:
        raise SystemExit(f"{study}: no usable cell (every cell diverged or degenerate)")
    edges = []
    for name in names:
        values = np.unique(scores[name].to_numpy(dtype=float))
        if values.size > 1 and float(row[name]) in (values[0], values[-1]):
            edges.append(f"{name} = {float(row[name]):g} is the "
                         f"{'lowest' if float(row[name]) == values[0] else 'highest'}")
    test = _held_out_column(scores)
    sizes = " x ".join(str(np.unique(scores[name]).size) for name in names)
    return {
        "study": study,
        "cells": f"{len(scores)} ({sizes})",
        "best cell": ", ".join(f"{name} = {float(row[name]):.4g}" for name in names),
        "edge": "; ".join(edges) if edges else "no",
        "train fc_corr": float(row["fc_corr"]),
        "test fc_corr": float(row[test]),
        "FCD KS": float(row["fcd_ks"]) if row.get("fcd_ks") is not None else float("nan"),
        "mean FC": float(row["mean_fc"]),
        "data mean FC": float(best["empirical_mean_fc"]),
        "degenerate": int(best["n_degenerate"]),
        "diverged": int(best["n_diverged"]),
        "excluded above the best": len(best.get("excluded_better_than_best") or []),
        "best test fc_corr anywhere": float(np.nanmax(
            scores[test].where(~scores["degenerate"] & ~scores["diverged"]))),
        "metric": best["metric"],
    }


def table(rows: list[dict]) -> str:
    head = ("| study | cells | best cell (by train fc_corr) | on the grid's edge | "
            "train fc_corr | test fc_corr | FCD KS | mean FC (data) |")
    lines = [head, "|---" * 8 + "|"]
    for row in rows:
        lines.append(
            f"| {row['study']} | {row['cells']} | {row['best cell']} | "
            f"{row['edge']} | {row['train fc_corr']:.3f} | "
            f"{row['test fc_corr']:.3f} | {row['FCD KS']:.3f} | "
            f"{row['mean FC']:.3f} ({row['data mean FC']:.3f}) |")
    notes = [
        f"- {row['study']}: {row['degenerate']} cells degenerate and {row['diverged']} "
        f"diverged, left out of the choice; {row['excluded above the best']} degenerate "
        f"cells scored above the best; the best held-out fc_corr of any usable cell "
        f"{row['best test fc_corr anywhere']:.3f}" for row in rows]
    return "\n".join(lines + [""] + notes)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("--studies", nargs="+", default=list(STUDIES))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    rows = [summary(args.results, study) for study in args.studies]
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
