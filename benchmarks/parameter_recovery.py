"""Parameter recovery: plant known parameters, simulate an "empirical" FC (and FCD) from
them with a noise seed of its own, and fit it back with each optimiser (docs/fitting.md).

The problems are optimise_vs_grid.py's (``--problem``): the same model, length, box and
objective, with the group FC replaced by the planted simulation's. Every run is the
optimise stage itself (``run_job``) on the planted target, ``--repeats`` optimiser seeds per
method. With ``--validate K`` the planted point and every run's chosen point are simulated
again with K noise realisations none of the searches saw (one batch): the planted point's
validated score is what a perfect recovery would score, so a recovered point scoring the
same within its errors is as good a fit as the truth, wherever it lies.

The error of a recovered point is reported per axis as a fraction of the box's width, and
for two-parameter problems as the error of the ratio of the two (the default problem's
ridge keeps G/|a| and leaves the position along it to the noise). Prints a Markdown table
and writes JSON.

    python benchmarks/parameter_recovery.py --problem default --plant global_coupling=5 \\
        a=-0.55 --budget 200 --population 20 --seeds 4 --select 5 80 --validate 64 \\
        --repeats 2 --target cuda
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
import optimise_vs_grid as bench  # noqa: E402  (the sibling benchmark's problems and helpers)

from brainsweep.empirical.checks import group_fc  # noqa: E402
from brainsweep.io import load_npz, save_npz  # noqa: E402
from brainsweep.optimise.evaluate import Subject, simulate_connectivity  # noqa: E402


def _plant(text: list[str], box: dict) -> dict[str, float]:
    """``NAME=VALUE`` for every free parameter of the box, each inside it."""
    values = {}
    for item in text:
        name, _, value = item.partition("=")
        if name not in box:
            raise SystemExit(f"--plant: {name!r} is not a free parameter ({sorted(box)})")
        try:
            values[name] = float(value)
        except ValueError:
            raise SystemExit(f"--plant: {item!r} is not NAME=NUMBER") from None
        low, high = box[name]
        if not low <= values[name] <= high:
            raise SystemExit(f"--plant: {name} = {values[name]} is outside [{low}, {high}]")
    missing = sorted(set(box) - set(values))
    if missing:
        raise SystemExit(f"--plant: no value for {missing}")
    return {name: values[name] for name in box}


def planted_empirical(study: dict, connectome: Path, truth: dict[str, float], seed: int,
                      out: Path, *, box: dict, realisations: int = 1) -> Path:
    """The empirical stage's file of a planted group: ``realisations`` "subjects", each
    ``truth`` simulated with noise seed ``seed`` (keys 0, 1, ...) and processed as every
    candidate is. The group FC is their Fisher-z mean and the group FCD their values
    pooled, as the empirical stage makes a group of measured subjects."""
    sections = {**study, "simulation": {**study["simulation"], "seed": int(seed)}}
    parsed = bench.probe_settings(sections, box)
    conn = load_npz(connectome)
    subject = Subject("planted", np.eye(conn["weights"].shape[0]), None, conn["weights"],
                      conn["lengths"])
    fc, fcds, diverged = simulate_connectivity(
        parsed.simulate, list(truth), np.repeat([list(truth.values())], realisations, axis=0),
        np.arange(realisations), subject, bold_options=parsed.bold)
    if diverged.any() or not np.isfinite(fc).all():
        raise SystemExit(f"the planted point {truth} diverged with noise seed {seed}")
    arrays = {"fc_group": group_fc(fc, "fisher-z"), "fc_subjects": fc,
              "subject_ids": np.array([f"planted-{k}" for k in range(realisations)])}
    if fcds is not None:
        arrays["fcd_values"] = np.concatenate(fcds).astype(np.float32)
        arrays["fcd_offsets"] = np.cumsum([0] + [v.size for v in fcds]).astype(np.int64)
    return save_npz(out, arrays, {"benchmark": "parameter_recovery", "truth": truth,
                                  "noise_seed": int(seed)})


def recovery_errors(point: dict[str, float], truth: dict[str, float],
                    box: dict) -> dict[str, float]:
    """Per axis, the error as a fraction of the box's width; with two axes also the
    relative error of their ratio (first / |second|)."""
    errors = {f"error_{name}": (point[name] - truth[name]) / (box[name][1] - box[name][0])
              for name in box}
    if len(box) == 2:
        first, second = list(box)
        planted = truth[first] / abs(truth[second])
        errors["ratio"] = point[first] / abs(point[second])
        errors["error_ratio"] = (errors["ratio"] - planted) / planted
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bench.add_run_options(parser)
    parser.add_argument("--plant", nargs="+", required=True, metavar="NAME=VALUE")
    parser.add_argument("--truth-seed", type=int, default=7,
                        help="the planted simulation's noise seed (the fits use the "
                             "study's simulation.seed)")
    parser.add_argument("--truth-realisations", type=int, default=1, metavar="K",
                        help="the planted target is a group of K realisations (Fisher-z "
                             "mean FC, pooled FCD), as an empirical group FC is")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default="results/benchmarks/parameter_recovery.json")
    args = parser.parse_args()

    problem = bench.PROBLEMS[args.problem]
    box, objective = problem["box"], problem["objective"]
    truth = _plant(args.plant, box)
    study = yaml.safe_load((bench.ROOT / problem["study"]).read_text())
    if args.target:
        study["simulation"]["target"] = args.target
    if study["simulation"].get("seed") == args.truth_seed:
        raise SystemExit("--truth-seed must differ from the study's simulation.seed")
    work = Path(tempfile.mkdtemp(prefix="recovery-bench-"))
    connectome, _ = bench.build_inputs(study, work)
    empirical = planted_empirical(study, connectome, truth, args.truth_seed,
                                  work / "planted.npz", box=box,
                                  realisations=args.truth_realisations)

    def settings(method: str, seed: int) -> dict:
        return bench.stage_settings(study, method, seed, box=box, objective=objective,
                                    budget=args.budget, population=args.population,
                                    seeds=args.seeds, select=args.select,
                                    common_noise=args.common_noise)


    rows = [{"method": "planted", "seed": None, "simulations": args.truth_realisations,
             "wall_s": float("nan"),
             "best": float("nan"), **truth}]
    for method in args.methods:
        for seed in range(args.repeats):
            history, wall = bench.optimiser_history(settings(method, seed), connectome,
                                                    empirical, work)
            rows.append({"method": method, "seed": seed,
                         "simulations": int(history["seeds"].sum()), "wall_s": wall,
                         **bench.chosen_row(history, list(box), selected=bool(args.select))})
            print(f"[recovery] {rows[-1]}", flush=True)
    for row in rows:
        row.update(recovery_errors(row, truth, box))
    if args.validate:
        parsed = bench.probe_settings(study, box)
        target = bench.group_target(connectome, empirical, objective)
        # validated_gap: the planted point's validated score minus the row's
        bench.validate(rows, args.validate, list(box), parsed, target, objective,
                       paired=args.paired)
    record = {"problem": {"name": args.problem, "study": problem["study"], "box": box,
                          "objective": objective, "truth": truth,
                          "truth_seed": args.truth_seed,
                          "truth_realisations": args.truth_realisations,
                          "noise_seed": study["simulation"].get("seed"),
                          "target": study["simulation"].get("target"),
                          "seeds": args.seeds, "validate": args.validate,
                          "paired": args.paired},
              "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(bench._nulls(record), indent=1))

    extra = ["validated", "gap to planted"] if args.validate else []
    ratio = [f"{list(box)[0]}/|{list(box)[1]}| error"] if len(box) == 2 else []
    print("| method | seed | simulations | wall (s) | chosen score | "
          + " | ".join(extra + [f"{name} (error / box)" for name in box] + ratio) + " |")
    print("|---" * (5 + len(extra) + len(box) + len(ratio)) + "|")
    for row in rows:
        checked = ([f"{row['validated']:.4f} ± {row['validated_se']:.4f}",
                    f"{row['validated_gap']:+.4f} ± {row['validated_gap_se']:.4f}"]
                   if args.validate else [])
        wall = "" if not np.isfinite(row["wall_s"]) else f"{row['wall_s']:.0f}"
        best = "" if not np.isfinite(row["best"]) else f"{row['best']:.4f}"
        cells = [f"{row[name]:.3f} ({row['error_' + name]:+.3f})" for name in box]
        cells += [f"{row['error_ratio']:+.3f}"] if ratio else []
        print(f"| {row['method']} | {'' if row['seed'] is None else row['seed']} | "
              f"{row['simulations']} | {wall} | {best} | " + " | ".join(checked + cells) + " |")


if __name__ == "__main__":
    main()
