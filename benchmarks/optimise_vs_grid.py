"""CMA-ES and Optuna's TPE against a dense grid on one fitting problem (docs/fitting.md).

The problem is optimise-ci's (config/studies/optimise-ci.yaml): ReducedWongWang on 32 AAL2
regions of the HCP group connectome, 60 s of BOLD, fitted to the group FC of the same regions
(the empirical stage's Fisher-z mean of the 7 subjects) by fc_corr, over global coupling and
the recurrent weight w. The grid is n x n over the box; each optimiser gets a tenth of its
simulations, once per optimiser seed. Prints a Markdown table and writes JSON.

    python benchmarks/optimise_vs_grid.py --grid 20 --budget 40 --population 8 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from brainsweep.connectome.stage import run_stage as build_connectome
from brainsweep.empirical.stage import run_stage as build_empirical
from brainsweep.fit.stage import read_empirical
from brainsweep.io import load_npz
from brainsweep.optimise.evaluate import Batch, Subject, run_batch
from brainsweep.optimise.stage import Settings, run_job

ROOT = Path(__file__).resolve().parents[1]
BOX = {"global_coupling": [0.2, 1.5], "w": [0.5, 1.0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=20)
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="results/benchmarks/optimise_vs_grid.json")
    args = parser.parse_args()

    study = yaml.safe_load((ROOT / "config" / "studies" / "optimise-ci.yaml").read_text())
    work = Path(tempfile.mkdtemp(prefix="optimise-bench-"))
    connectome = build_connectome({k: v for k, v in study["connectome"].items()
                                   if k not in ("name", "subjects")}, work / "connectome.npz")
    empirical_settings = {**{k: v for k, v in study["empirical"].items()
                             if k not in ("name", "subjects")},
                          "postprocess": {**study["bold"], "transient_s": 0.0}}
    empirical = build_empirical(empirical_settings, work / "empirical.npz")

    def settings(method: str, seed: int) -> dict:
        return {**{k: study[k] for k in ("model", "coupling", "integration", "simulation",
                                         "monitors", "bold")},
                "optimise": {"method": method, "parameters": BOX, "budget": args.budget,
                             "population": args.population, "restarts": 1, "seeds": 1,
                             "objective": "fc_corr", "subjects": "group", "seed": seed}}

    rows = []
    # the grid: every point one simulation, all in one batch, scored like the optimisers
    parsed = Settings.from_mapping(settings("cmaes", 0))
    data, conn = read_empirical(empirical), load_npz(connectome)
    target = Subject("group", data["fc_group"], None, conn["weights"], conn["lengths"])
    axes = [np.linspace(*BOX[name], args.grid) for name in BOX]
    mesh = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(BOX), -1).T
    started = time.perf_counter()
    table, _ = run_batch(parsed.simulate, list(BOX),
                         Batch(subjects=[0] * len(mesh), params=mesh,
                               sim_index=np.arange(len(mesh), dtype=np.int64)),
                         [target], bold_options=parsed.bold, weights={"fc_corr": 1.0})
    wall = time.perf_counter() - started
    best = int(np.nanargmax(table["objective"]))
    grid_best = float(table["objective"][best])
    rows.append({"method": f"grid {args.grid} x {args.grid}", "seed": None,
                 "simulations": len(mesh), "wall_s": wall, "best": grid_best,
                 **{name: float(mesh[best, k]) for k, name in enumerate(BOX)}})
    for method in ("cmaes", "tpe"):
        for seed in range(args.repeats):
            out = work / method / str(seed) / "jobs" / "job-0.csv"
            started = time.perf_counter()
            run_job(settings(method, seed), connectome, empirical, 0, out)
            wall = time.perf_counter() - started
            history = pd.read_csv(out)
            top = history.loc[history["objective"].idxmax()]
            rows.append({"method": method, "seed": seed, "simulations": len(history),
                         "wall_s": wall, "best": float(top["objective"]),
                         **{name: float(top[name]) for name in BOX}})
    for row in rows:
        row["gap_to_grid"] = grid_best - row["best"]
    record = {"machine": {"cpu": platform.processor() or platform.machine(),
                          "cores": os.cpu_count(),
                          "numba_threads": os.environ.get("NUMBA_NUM_THREADS")},
              "problem": {"study": "optimise-ci", "box": BOX, "objective": "fc_corr",
                          "regions": int(conn["weights"].shape[0]), "duration_s": 60.0},
              "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))
    print("| method | seed | simulations | wall (s) | best fc_corr | gap to grid | "
          + " | ".join(BOX) + " |")
    print("|---" * (6 + len(BOX)) + "|")
    for row in rows:
        print(f"| {row['method']} | {'' if row['seed'] is None else row['seed']} | "
              f"{row['simulations']} | {row['wall_s']:.0f} | {row['best']:.4f} | "
              f"{row['gap_to_grid']:+.4f} | "
              + " | ".join(f"{row[name]:.3f}" for name in BOX) + " |")


if __name__ == "__main__":
    main()
