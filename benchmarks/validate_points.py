"""Every point that earlier optimise_vs_grid.py runs chose, scored again on one common set
of noise realisations, so that their differences are paired comparisons (docs/fitting.md).

A noise realisation moves nearby parameter points alike: on the default problem the
objective of one noise key correlates at 0.6-0.96 between points of the ridge (measured on
the H200). Two points validated with different keys therefore differ by the luck of their
key blocks as well as by their true scores; validated with the same keys, that shared luck
cancels in their difference. Each point's mean is still an unbiased estimate of its score;
the paired standard error of its gap to the reference (the first point, or ``--reference``)
is the standard error of the per-realisation differences.

    python benchmarks/validate_points.py --problem default --keys 128 --target cuda \\
        --from docs/perf-logs/optimise_vs_grid_*_h200.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import optimise_vs_grid as bench  # noqa: E402  (the problems and their inputs)

from brainsweep.optimise.evaluate import Batch, run_batch  # noqa: E402

# above the keys optimise_vs_grid.py's validations use (VALIDATION_KEYS + up to 2**21)
COMMON_KEYS = bench.VALIDATION_KEYS + 2**22


def collect(paths: list[str], box: dict) -> list[dict]:
    """The chosen points (rows and reference) of optimise_vs_grid JSON files, each once
    (the first label wins), labelled by file, method and seed."""
    points: dict[tuple[float, ...], dict] = {}
    for path in paths:
        record = json.loads(Path(path).read_text())
        if record["problem"]["box"] != box:
            raise SystemExit(f"{path}: another box ({record['problem']['box']}) than {box}")
        for row in record["rows"] + record.get("reference", []):
            key = tuple(round(float(row[name]), 6) for name in box)
            seed = "" if row.get("seed") is None else f" {row['seed']}"
            points.setdefault(key, {"label": f"{Path(path).stem}: {row['method']}{seed}",
                                    "source_validated": row.get("validated"),
                                    **dict(zip(box, key, strict=True))})
    return list(points.values())


def read_points(path: str, box: dict) -> list[dict]:
    """Labelled points from a CSV (columns ``label`` and the box's parameters), each inside
    the box."""
    import pandas as pd

    table = pd.read_csv(path)
    missing = sorted({"label", *box} - set(table.columns))
    if missing:
        raise SystemExit(f"{path}: no column(s) {missing}")
    points = []
    for row in table.itertuples(index=False):
        point = {"label": str(row.label), "source_validated": None,
                 **{name: float(getattr(row, name)) for name in box}}
        for name, (low, high) in box.items():
            if not low <= point[name] <= high:
                raise SystemExit(f"{path}: {point['label']}: {name} = {point[name]} is "
                                 f"outside [{low}, {high}]")
        points.append(point)
    return points


def paired(values: np.ndarray, reference: int) -> tuple[np.ndarray, np.ndarray]:
    """Per point (rows of ``values``, realisations in columns): the gap reference - point
    and its paired standard error (NaN where a realisation diverged)."""
    gaps = [bench.paired_gap(values[reference], sample) for sample in values]
    return np.array([g for g, _ in gaps]), np.array([e for _, e in gaps])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", choices=sorted(bench.PROBLEMS), default="default")
    parser.add_argument("--from", dest="sources", nargs="+", default=[], metavar="JSON")
    parser.add_argument("--points", metavar="CSV",
                        help="more points: a CSV with a label column and one per free "
                             "parameter (e.g. a table's rounded values)")
    parser.add_argument("--keys", type=int, default=128, help="common noise realisations")
    parser.add_argument("--reference", type=int, default=None,
                        help="index of the point the gaps are to (default: the highest mean)")
    parser.add_argument("--target", default=None, help="override simulation.target")
    parser.add_argument("--out", default="results/benchmarks/validate_points.json")
    args = parser.parse_args()
    if args.keys < 2:
        parser.error("--keys needs at least 2 realisations (a standard error)")

    problem = bench.PROBLEMS[args.problem]
    box, objective = problem["box"], problem["objective"]
    if not args.sources and not args.points:
        parser.error("no points: give --from and/or --points")
    points = collect(args.sources, box) + (read_points(args.points, box) if args.points
                                           else [])
    study = yaml.safe_load((bench.ROOT / problem["study"]).read_text())
    if args.target:
        study["simulation"]["target"] = args.target
    connectome, empirical = bench.build_inputs(study, Path(tempfile.mkdtemp(prefix="points-")))
    parsed = bench.probe_settings(study, box)
    target = bench.group_target(connectome, empirical, objective)
    grid = np.array([[point[name] for name in box] for point in points])
    keys = COMMON_KEYS + np.arange(args.keys, dtype=np.int64)
    table, timings = run_batch(parsed.simulate, list(box),
                               Batch(subjects=[0] * (len(points) * args.keys),
                                     params=np.repeat(grid, args.keys, axis=0),
                                     sim_index=np.tile(keys, len(points))),
                               [target], bold_options=parsed.bold, weights=objective)
    values = np.asarray(table["objective"], dtype=float).reshape(len(points), args.keys)
    means = values.mean(axis=1)
    reference = int(np.nanargmax(means)) if args.reference is None else args.reference
    gaps, errors = paired(values, reference)
    for point, mean, sample, gap, error in zip(points, means, values, gaps, errors,
                                               strict=True):
        point.update({"common": float(mean),
                      "common_se": float(sample.std(ddof=1) / np.sqrt(args.keys)),
                      "gap": float(gap), "gap_se": float(error),
                      # every realisation's objective, key by key: gaps to any other
                      # reference can be recomputed, paired, from the file
                      "realisations": sample.tolist()})
    record = {"problem": {"name": args.problem, "box": box, "objective": objective,
                          "noise_seed": study["simulation"].get("seed"),
                          "target": study["simulation"].get("target"), "keys": args.keys,
                          "first_key": int(COMMON_KEYS)},
              "reference": reference, "timings": timings, "points": points}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(bench._nulls(record), indent=1))
    print(f"{len(points)} points x {args.keys} common realisations "
          f"({timings['simulate_s']:.0f} s simulating, {timings['score_s']:.0f} s scoring); "
          f"gaps to point {reference}")
    print("| # | point | " + " | ".join(box) + " | earlier validation | common mean | "
          "gap (paired) |")
    print("|---" * (5 + len(box)) + "|")
    for k, point in sorted(enumerate(points), key=lambda item: -item[1]["common"]):
        earlier = point["source_validated"]
        print(f"| {k} | {point['label']} | " + " | ".join(f"{point[n]:.3f}" for n in box)
              + f" | {'' if earlier is None else f'{earlier:.4f}'} | "
              f"{point['common']:.4f} ± {point['common_se']:.4f} | "
              f"{point['gap']:+.4f} ± {point['gap_se']:.4f} |")


if __name__ == "__main__":
    main()
