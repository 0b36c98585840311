"""CMA-ES and Optuna's TPE against a dense grid on one fitting problem (docs/fitting.md).

Two problems (``--problem``):

* ``optimise-ci`` (config/studies/optimise-ci.yaml): ReducedWongWang on 32 AAL2 regions of
  the HCP group connectome, 60 s of BOLD, fitted to the group FC of the same regions (the
  empirical stage's Fisher-z mean of the 7 subjects) by fc_corr, over global coupling and
  the recurrent weight w;
* ``default`` (config/config.yaml): the default study's Hopf model on the 80 cortical AAL2
  regions, 864 s of BOLD, its objective (FC r - FCD KS - |mean FC diff|), over global
  coupling and the bifurcation parameter a (the study sweeps G at a = -0.5).

The grid is n x n over the box, each point simulated ``--seeds`` times (its score the mean);
each optimiser gets ``--budget`` candidates of ``--seeds`` simulations, once per optimiser
seed. With ``--validate K`` every method's best point (the grid's too) is simulated again
with K noise realisations none of the searches saw, all in one batch: a best score is the
maximum over many noisy candidates and so biased upwards (the more candidates, the more),
while the validated score is an unbiased estimate of the objective at the chosen point.
``--select TOP SEEDS`` makes the optimisers
choose their best that way themselves (``optimise.validate``), within their budget of
simulations. Prints a Markdown table and writes JSON.

    python benchmarks/optimise_vs_grid.py --grid 20 --budget 40 --population 8 --repeats 3
    python benchmarks/optimise_vs_grid.py --problem default --grid 16 --budget 24 \
        --population 8 --seeds 2 --target cuda
    python benchmarks/optimise_vs_grid.py --problem default --grid 32 --budget 100 \
        --population 10 --seeds 4 --validate 64 --target cuda
    python benchmarks/optimise_vs_grid.py --problem default --grid 32 --budget 80 \
        --population 10 --seeds 4 --select 5 16 --validate 64 --target cuda
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
PROBLEMS = {
    "optimise-ci": {"study": "config/studies/optimise-ci.yaml",
                    "box": {"global_coupling": [0.2, 1.5], "w": [0.5, 1.0]},
                    "objective": {"fc_corr": 1.0}},
    "default": {"study": "config/config.yaml",
                "box": {"global_coupling": [2.0, 8.0], "a": [-1.0, -0.1]},
                "objective": {"fc_corr": 1.0, "fcd_ks": 1.0, "mean_fc_diff": 1.0}},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=20)
    add_run_options(parser)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--grid-from", help="take the grid's row from this earlier JSON")
    parser.add_argument("--landscape", nargs="+", metavar="CSV",
                        help="the grid is these --save-grid files pooled (independent noise "
                             "seeds of one grid): each point's score is its mean over all "
                             "their realisations, a reference precise enough to compare with")
    parser.add_argument("--reference-top", type=int, default=0, metavar="N",
                        help="with --landscape and --validate: validate its N best points "
                             "too (how flat the optimum is)")
    parser.add_argument("--noise-seed", type=int, default=None,
                        help="override simulation.seed: another noise realisation of the "
                             "whole benchmark (the grid's reproducibility)")
    parser.add_argument("--out", default="results/benchmarks/optimise_vs_grid.json")
    parser.add_argument("--save-grid", metavar="CSV",
                        help="write every grid simulation's metrics (one row per point and "
                             "seed): the landscape, to study the noise and the ridge")
    parser.add_argument("--histories", metavar="DIR",
                        help="copy each optimiser run's history.csv into DIR "
                             "(as METHOD-SEED.csv)")
    parser.add_argument("--reuse-histories", action="store_true",
                        help="with --histories: a run whose file is already in DIR is "
                             "read from it, not run again (to validate earlier runs)")
    args = parser.parse_args()
    if args.reference_top and not (args.landscape and args.validate):
        parser.error("--reference-top needs --landscape and --validate")
    if args.reuse_histories and not args.histories:
        parser.error("--reuse-histories needs --histories")
    if args.landscape and (args.grid_from or args.save_grid):
        parser.error("--landscape is the grid: not with --grid-from or --save-grid")

    problem = PROBLEMS[args.problem]
    BOX, objective = problem["box"], problem["objective"]
    study = yaml.safe_load((ROOT / problem["study"]).read_text())
    if args.target:
        study["simulation"]["target"] = args.target
    if args.noise_seed is not None:
        study["simulation"]["seed"] = args.noise_seed
    work = Path(tempfile.mkdtemp(prefix="optimise-bench-"))
    connectome, empirical = build_inputs(study, work)

    def settings(method: str, seed: int) -> dict:
        return stage_settings(study, method, seed, box=BOX, objective=objective,
                              budget=args.budget, population=args.population,
                              seeds=args.seeds, select=args.select,
                              common_noise=args.common_noise)

    rows = []

    def dump(rows: list[dict]) -> None:
        """Write what is measured so far (after every method run: a killed run keeps it)."""
        for row in rows:
            row["gap_to_grid"] = rows[0]["best"] - row["best"]
        record = {"machine": {"cpu": platform.processor() or platform.machine(),
                              "cores": os.cpu_count(),
                              "numba_threads": os.environ.get("NUMBA_NUM_THREADS")},
                  "problem": {"name": args.problem, "study": problem["study"], "box": BOX,
                              "objective": objective, "seeds": args.seeds,
                              "validate": args.validate,
                              "noise_seed": study["simulation"].get("seed"),
                              "target": study["simulation"].get("target"),
                              "regions": int(target.weights.shape[0]),
                              "duration_s": float(study["simulation"]["duration_s"])},
                  "rows": rows, "reference": reference}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        # a quantity not measured in this run (NaN) is null in the JSON
        Path(args.out).write_text(json.dumps(_nulls(record), indent=1))
        print(f"[benchmark] {rows[-1]}", flush=True)
    # the grid: every point one simulation, all in one batch, scored like the optimisers
    parsed = Settings.from_mapping(settings("cmaes", 0))
    target = group_target(connectome, empirical, objective)
    reference = []
    if args.landscape:
        pooled = pooled_landscape(args.landscape, list(BOX), box=BOX)
        best = pooled.iloc[0]
        shape = " x ".join(str(pooled[name].nunique()) for name in BOX)
        rows.append({"method": f"grid {shape}, {int(best['size'])} seeds "
                               f"({len(args.landscape)} runs pooled)", "seed": None,
                     "simulations": int(pooled["size"].sum()), "wall_s": float("nan"),
                     "best": float(best["mean"]), **{name: float(best[name]) for name in BOX}})
        reference = [{"method": f"landscape rank {k}", "seed": None,
                      "simulations": int(point["size"]), "wall_s": float("nan"),
                      "best": float(point["mean"]), **{name: float(point[name]) for name in BOX}}
                     for k, (_, point) in enumerate(pooled.head(args.reference_top).iterrows())]
    elif args.grid_from:
        # the grid's row of an earlier run of the same problem: its best point is validated
        # again below with the same noise keys, so its validated score is that run's
        earlier = json.loads(Path(args.grid_from).read_text())
        if earlier["problem"]["box"] != BOX or earlier["problem"]["seeds"] != args.seeds:
            raise SystemExit(f"{args.grid_from}: another box or seeds than this run's")
        # a quantity that run did not measure is null there: NaN here
        rows.append({key: float("nan") if value is None and key != "seed" else value
                     for key, value in earlier["rows"][0].items()
                     if not key.startswith("validated") and key != "gap_to_grid"})
        rows[0]["method"] += " (earlier run)"
    else:
        rows.append(grid_row(args, BOX, parsed, target, objective, save=args.save_grid))
    dump(rows)
    for method in args.methods:
        for seed in range(args.repeats):
            saved = Path(args.histories) / f"{method}-{seed}.csv" if args.histories else None
            history, wall = optimiser_history(
                settings(method, seed), connectome, empirical, work,
                reuse=saved if args.reuse_histories else None)
            if saved is not None and not np.isfinite(wall):
                print(f"[benchmark] {method} seed {seed}: the history in {saved}", flush=True)
            elif saved is not None:
                saved.parent.mkdir(parents=True, exist_ok=True)
                history.to_csv(saved, index=False)
            rows.append({"method": method, "seed": seed,
                         "simulations": int(history["seeds"].sum()), "wall_s": wall,
                         **chosen_row(history, list(BOX), selected=bool(args.select))})
            dump(rows)
    if args.validate:
        samples = validate(rows, args.validate, list(BOX), parsed, target, objective,
                           paired=args.paired)
        if reference:
            # unpaired: keys of their own, after the rows'; paired: the rows' keys
            if not args.paired and len(rows) * args.validate > 2**20:
                raise SystemExit("too many validations for the reference's keys")
            theirs = validate(reference, args.validate, list(BOX), parsed, target,
                              objective, first=VALIDATION_KEYS + (0 if args.paired else 2**20),
                              paired=args.paired)
            # their gaps, like the rows', are to the first row (the grid)
            for row, sample in zip(reference, theirs, strict=True):
                row["validated_gap"], row["validated_gap_se"] = gap_to(
                    rows[0], samples[0], row, sample, paired=args.paired)
    dump(rows)
    if reference:
        print("The pooled grid's best points, each validated:")
        print("| rank | pooled seeds | pooled mean | validated | " + " | ".join(BOX) + " |")
        print("|---" * (4 + len(BOX)) + "|")
        for k, row in enumerate(reference):
            print(f"| {k} | {row['simulations']} | {row['best']:.4f} | "
                  f"{row['validated']:.4f} ± {row['validated_se']:.4f} | "
                  + " | ".join(f"{row[name]:.3f}" for name in BOX) + " |")
    extra = ["validated", "validated gap"] if args.validate else []
    print("| method | seed | simulations | wall (s) | best objective | gap to grid | "
          + " | ".join(extra + list(BOX)) + " |")
    print("|---" * (6 + len(extra) + len(BOX)) + "|")
    for row in rows:
        checked = ([f"{row['validated']:.4f} ± {row['validated_se']:.4f}",
                    f"{row['validated_gap']:+.4f} ± {row['validated_gap_se']:.4f}"]
                   if args.validate else [])
        wall = "" if row["wall_s"] is None or np.isnan(row["wall_s"]) else \
            f"{row['wall_s']:.0f}"
        print(f"| {row['method']} | {'' if row['seed'] is None else row['seed']} | "
              f"{row['simulations']} | {wall} | {row['best']:.4f} | "
              f"{row['gap_to_grid']:+.4f} | "
              + " | ".join(checked + [f"{row[name]:.3f}" for name in BOX]) + " |")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of a benchmark that runs the optimise stage on one of PROBLEMS: which
    problem, the searches' budget and design, and the validation of their choices."""
    parser.add_argument("--problem", choices=sorted(PROBLEMS), default="optimise-ci")
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=1,
                        help="noise realisations per grid point and per candidate")
    parser.add_argument("--select", type=int, nargs=2, metavar=("TOP", "SEEDS"),
                        help="the optimisers' optimise.validate: re-simulate their TOP "
                             "best with SEEDS fresh seeds and choose by that (counted in "
                             "their simulations)")
    parser.add_argument("--methods", nargs="+", choices=("cmaes", "tpe"),
                        default=["cmaes", "tpe"])
    parser.add_argument("--common-noise", action="store_true",
                        help="the optimisers' optimise.common_noise: a generation's "
                             "candidates share their noise realisations")
    parser.add_argument("--validate", type=int, default=0,
                        help="fresh noise realisations for each chosen point")
    parser.add_argument("--paired", action="store_true",
                        help="with --validate: every point validated with the same noise "
                             "keys, so that the gaps are paired comparisons")
    parser.add_argument("--target", default=None, help="override simulation.target")


def build_inputs(study: dict, work: Path) -> tuple[Path, Path]:
    """The study's connectome and empirical stage outputs, built into ``work``."""
    connectome = build_connectome({k: v for k, v in study["connectome"].items()
                                   if k not in ("name", "subjects")}, work / "connectome.npz")
    empirical_settings = {**{k: v for k, v in study["empirical"].items()
                             if k not in ("name", "subjects")},
                          "postprocess": {**study["bold"], "transient_s": 0.0}}
    return connectome, build_empirical(empirical_settings, work / "empirical.npz")


def stage_settings(study: dict, method: str, seed: int, *, box: dict, objective: dict,
                   budget: int, population: int, seeds: int,
                   select: tuple[int, int] | None, common_noise: bool = False) -> dict:
    """The optimise stage's settings: the study's simulation sections and a one-restart
    ``optimise:`` fit of the group FC over ``box``."""
    return {**{k: study[k] for k in ("model", "coupling", "integration", "simulation",
                                     "monitors", "bold")},
            "optimise": {"method": method, "parameters": box, "budget": budget,
                         "population": population, "restarts": 1, "seeds": seeds,
                         "objective": objective, "subjects": "group", "seed": seed,
                         "common_noise": common_noise,
                         "validate": {"top": select[0], "seeds": select[1]}
                         if select else None}}


def optimiser_history(settings: dict, connectome: Path, empirical: Path, work: Path, *,
                      reuse: Path | None = None) -> tuple[pd.DataFrame, float]:
    """One optimiser run's history and wall time. With ``reuse``, an existing file (a
    ``--histories`` copy of an earlier run of the same settings) is read instead, its wall
    time unknown (NaN); it must hold this run's generations of candidates, noise seed,
    parameters, seeds, validation and noise-key layout. (The method and the optimiser seed
    are not in the file: its name, METHOD-SEED.csv, stands for them.)"""
    opt = settings["optimise"]
    if reuse is not None and reuse.is_file():
        history = pd.read_csv(reuse)
        phase = history["phase"] if "phase" in history else pd.Series("search",
                                                                      index=history.index)
        search, checked = history[phase == "search"], history[phase == "validate"]
        expected = opt["validate"]["top"] if opt["validate"] else 0
        generations = opt["budget"] // opt["population"]
        per_generation = search.groupby("generation").size()
        if (len(search) != generations * opt["population"]
                or list(per_generation.index) != list(range(generations))
                or (per_generation != opt["population"]).any()
                or not (search["noise_seed"] == settings["simulation"]["seed"]).all()
                or sorted(set(opt["parameters"]) - set(history.columns))
                or len(checked) != expected
                or not (search["seeds"] == opt["seeds"]).all()
                or (expected and not (checked["seeds"] == opt["validate"]["seeds"]).all())
                # common noise: one set of noise keys per generation (the same thing for
                # a population of one)
                or (opt["population"] > 1
                    and (search.groupby("generation")["sim_index"].nunique() == 1).all()
                    != bool(opt.get("common_noise")))):
            raise SystemExit(f"{reuse}: not a history of this run's generations, "
                             "noise seed, parameters, seeds, validation and noise keys")
        return history, float("nan")
    out = work / opt["method"] / str(opt["seed"]) / "jobs" / "job-0.csv"
    started = time.perf_counter()
    run_job(settings, connectome, empirical, 0, out)
    return pd.read_csv(out), time.perf_counter() - started


def chosen_row(history: pd.DataFrame, names: list[str], *, selected: bool) -> dict:
    """The point a run chose: its best candidate, by the re-simulated scores of its top
    candidates when it validated them (``selected``)."""
    if selected:
        history = history[history["phase"] == "validate"]
    top = history.loc[history["objective"].idxmax()]
    return {"best": float(top["objective"]), **{name: float(top[name]) for name in names}}


# noise keys of the validation runs: above every key a search of this benchmark uses
# (grid: points x seeds; an optimiser: budget x seeds), below the 2**32 the kernels take
VALIDATION_KEYS = 3 * 2**30


def grid_row(args, box: dict, parsed: Settings, target: Subject, objective: dict, *,
             save: str | None = None) -> dict:
    """The n x n grid, every point simulated ``args.seeds`` times, all in one batch."""
    axes = [np.linspace(*box[name], args.grid) for name in box]
    mesh = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(box), -1).T
    # point p's realisation r is simulation seeds * p + r: its own noise
    repeated = np.repeat(mesh, args.seeds, axis=0)
    started = time.perf_counter()
    table, _ = run_batch(parsed.simulate, list(box),
                         Batch(subjects=[0] * len(repeated), params=repeated,
                               sim_index=np.arange(len(repeated), dtype=np.int64)),
                         [target], bold_options=parsed.bold, weights=objective)
    wall = time.perf_counter() - started
    if save:
        landscape = table.drop(columns=[c for c in ("subject",) if c in table]).copy()
        for k, name in enumerate(box):
            landscape.insert(k, name, repeated[:, k])
        landscape.insert(len(box), "realisation", np.tile(np.arange(args.seeds), len(mesh)))
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        # 6 significant digits, the coordinates too: every file of one grid has the same
        # rounded points, so --landscape pools them (and validates the rounded points)
        landscape.to_csv(save, index=False, float_format="%.6g")
    # a point with a diverged realisation scores NaN, as in the fit and the optimisers
    per_point = np.asarray(table["objective"], dtype=float).reshape(len(mesh), args.seeds)
    scores = per_point.mean(axis=1)
    best = int(np.nanargmax(scores))
    return {"method": f"grid {args.grid} x {args.grid}", "seed": None,
            "simulations": len(repeated), "wall_s": wall, "best": float(scores[best]),
            **{name: float(mesh[best, k]) for k, name in enumerate(box)}}


def _nulls(value):
    """NaN and infinities as null (JSON has neither), through dicts, lists and tuples."""
    if isinstance(value, dict):
        return {key: _nulls(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_nulls(item) for item in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return value


def pooled_landscape(paths: list[str], names: list[str], *,
                     box: dict | None = None) -> pd.DataFrame:
    """``--save-grid`` files of one grid pooled: per point the mean and standard deviation
    of its realisations' objectives and their number (``size``), best first. A point with a
    diverged realisation scores NaN (mean and s.d.) and comes last. With ``box``, each
    axis must be the n evenly spaced values of the box that ``grid_row`` makes."""
    tables = []
    for path in paths:
        table = pd.read_csv(path)
        missing = sorted({*names, "objective"} - set(table.columns))
        if missing:
            raise SystemExit(f"{path}: no column(s) {missing}")
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    groups = table.groupby(names)["objective"]
    pooled = groups.agg(["mean", "std", "size"])
    diverged = table["objective"].isna().groupby([table[n] for n in names]).any()
    pooled.loc[diverged[diverged].index, ["mean", "std"]] = np.nan
    pooled = pooled.sort_values("mean", ascending=False, na_position="last").reset_index()
    for name in box or {}:
        axis = np.sort(pooled[name].unique())
        expected = np.linspace(*box[name], axis.size)
        if not np.allclose(axis, expected, rtol=1e-5, atol=1e-6 * np.ptp(expected)):
            raise SystemExit(f"{paths}: axis {name} is not {axis.size} points evenly "
                             f"spanning {box[name]}")
    return pooled


def validate(rows: list[dict], repeats: int, names: list[str], parsed: Settings,
             target: Subject, objective: dict, *, first: int | None = None,
             paired: bool = False) -> np.ndarray:
    """Each row's best point simulated ``repeats`` more times in one batch, with noise keys
    no search used; adds ``validated`` (the mean), ``validated_se`` (its standard error)
    and ``validated_gap`` (the first row's validated score minus the row's).

    ``paired``: every row with the same keys (common random numbers). A realisation moves
    nearby points alike, so the rows' differences then lose that shared luck, and
    ``validated_gap_se`` is the paired standard error of the gap; otherwise each row has
    keys of its own and the gap's error is the two means' errors combined. Returns the
    realisations' objectives (rows x repeats)."""
    first = VALIDATION_KEYS if first is None else first
    points = np.array([[row[name] for name in names] for row in rows])
    keys = (np.tile(np.arange(repeats), len(rows)) if paired
            else np.arange(len(rows) * repeats)).astype(np.int64) + first
    batch = Batch(subjects=[0] * (len(rows) * repeats),
                  params=np.repeat(points, repeats, axis=0), sim_index=keys)
    table, _ = run_batch(parsed.simulate, names, batch, [target],
                         bold_options=parsed.bold, weights=objective)
    values = np.asarray(table["objective"], dtype=float).reshape(len(rows), repeats)
    for row, sample in zip(rows, values, strict=True):
        row["validated"] = float(np.mean(sample))  # NaN if any realisation diverged
        row["validated_se"] = float(np.std(sample, ddof=1) / np.sqrt(repeats))
    for row, sample in zip(rows, values, strict=True):
        row["validated_gap"], row["validated_gap_se"] = gap_to(rows[0], values[0], row,
                                                               sample, paired=paired)
    return values


def gap_to(base: dict, base_sample: np.ndarray, row: dict, sample: np.ndarray, *,
           paired: bool) -> tuple[float, float]:
    """``base``'s validated score minus ``row``'s, and its standard error: of the
    realisation-by-realisation differences when both were simulated with the same keys
    (``paired``), else the two means' errors combined."""
    if paired:
        return paired_gap(base_sample, sample)
    return (float(base["validated"] - row["validated"]),
            float(np.hypot(base["validated_se"], row["validated_se"])))


def paired_gap(base: np.ndarray, sample: np.ndarray) -> tuple[float, float]:
    """The mean of the realisation-by-realisation differences ``base - sample`` (the same
    keys) and its standard error."""
    differences = np.asarray(base, dtype=float) - np.asarray(sample, dtype=float)
    return (float(differences.mean()),
            float(differences.std(ddof=1) / np.sqrt(differences.size)))


def group_target(connectome: Path, empirical: Path, objective: dict) -> Subject:
    """The group FC (and, when the objective weighs fcd_ks, the pooled FCD values) of the
    empirical file, on the study's connectome: what the optimise stage fits with
    ``subjects: group``."""
    data, conn = read_empirical(empirical), load_npz(connectome)
    fcd = data["fcd_values"].astype(np.float64) \
        if "fcd_ks" in objective and "fcd_values" in data else None
    return Subject("group", data["fc_group"], fcd, conn["weights"], conn["lengths"])


def probe_settings(study: dict, box: dict) -> Settings:
    """The study's simulation and BOLD settings as the stage parses them (the optimise
    section a placeholder): for simulating chosen points outside a search."""
    return Settings.from_mapping(stage_settings(study, "cmaes", 0, box=box,
                                                objective={"fc_corr": 1.0}, budget=2,
                                                population=2, seeds=1, select=None))


if __name__ == "__main__":
    main()
