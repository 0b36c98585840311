"""Run homogeneous-rww and heterogeneous-rww stage by stage, without Snakemake, then compare.

The commands are the workflow's (``brainsweep <stage> --settings <study file>``, each stage
reading its part of the study), in the workflow's output layout (``results/<stage>/<study>``),
printed as they run with their wall times. A study can be run at another size than its file
gives: ``--target``, ``--duration-s``, ``--transient-s``, ``--g-count`` / ``--b-count`` (the
same end points, fewer or more values), ``--shards``, ``--dt``; the study files as run are
written to ``results/heterogeneity/<study>.yaml`` and ``results/config/<study>.yaml``.

``--budget-s`` chooses the duration instead: both studies are simulated first for
``--probe-s`` seconds (no transient), and the longest duration of ``--ladder-trs`` (in TRs)
whose simulations, at the rates the probes measured, fit in the budget is run. The probes'
rates and the choice are printed and kept in ``results/heterogeneity/run.json``.

Usage (repository root)::

    python3 benchmarks/heterogeneity_run.py                       # as the study files say
    python3 benchmarks/heterogeneity_run.py --target cuda --budget-s 200
    python3 benchmarks/heterogeneity_run.py --target numba --g-count 2 --b-count 2 \\
        --duration-s 18 --transient-s 2 --dt 0.2 --shards 2 --no-degenerate-checks

Then ``benchmarks/heterogeneity_comparison.py`` (run at the end) prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ("homogeneous-rww", "heterogeneous-rww")
_PRINT = threading.Lock()
# `brainsweep` of this interpreter's package (the one on PYTHONPATH where none is installed)
CLI = [sys.executable, "-m", "brainsweep.cli"]


def _say(text: str) -> None:
    with _PRINT:
        print(text, flush=True)


def _linspace(axis, count: int | None):
    """The axis with ``count`` values between the same end points (a list's first and last)."""
    if count is None:
        return axis
    if isinstance(axis, dict) and "linspace" in axis:
        low, high, _n = axis["linspace"]
    else:
        low, high = float(axis[0]), float(axis[-1])
    return {"linspace": [low, high, int(count)]}


def study_config(name: str, args) -> dict:
    """The study file with the run's overrides."""
    config = yaml.safe_load((ROOT / "config" / "studies" / f"{name}.yaml").read_text())
    sweep = config["sweep"]
    sweep["G"] = _linspace(sweep["G"], args.g_count)
    if "w_p.myelin" in sweep:
        sweep["w_p.myelin"] = _linspace(sweep["w_p.myelin"], args.b_count)
    simulation = config["simulation"]
    for key in ("target", "duration_s", "transient_s", "threads"):
        value = getattr(args, key)
        if value is not None:
            simulation[key] = value
    if args.transient_s is not None:
        config["bold"]["transient_s"] = args.transient_s
    if args.dt is not None:
        config["integration"]["dt"] = args.dt
    if args.shards is not None:
        config["shards"] = {"count": args.shards}
    if args.fcd_window_s is not None:
        config["bold"]["fcd"] = {"window_s": args.fcd_window_s, "step_s": args.fcd_step_s}
    if args.no_degenerate_checks:
        config.setdefault("fit", {})["degenerate"] = {
            "max_mean_fc_excess": None, "max_mean_fc_deficit": None,
            "min_bold_std": None, "max_global_step": None}
    return config


def run(command: list[str], log: Path, env: dict | None = None) -> float:
    """Run one stage command (``["brainsweep", stage, ...]``, printed), its output to
    ``log``; its wall time."""
    _say("$ " + " ".join(shlex.quote(part) for part in command))
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(CLI + command[1:], stdout=out, stderr=subprocess.STDOUT,
                              cwd=ROOT, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(log.read_text()[-4000:])
        raise SystemExit(f"failed ({done.returncode}) after {wall:.1f} s: {command[:2]}; "
                         f"log {log}")
    _say(f"  {command[1]} done in {wall:.1f} s")
    return wall


class Study:
    """One study's files and stage commands, in the workflow's layout."""

    def __init__(self, name: str, config: dict, results: Path, memory_mb: int):
        self.name, self.config, self.results = name, config, results
        self.memory_mb = memory_mb
        self.file = results / "heterogeneity" / f"{name}.yaml"
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self.file.write_text(yaml.safe_dump(config, sort_keys=False))
        self.connectome = results / "connectome" / name / f"{config['connectome']['name']}.npz"
        self.empirical = results / "empirical" / name / f"{config['empirical']['name']}.npz"
        suffix = {"cuda": ".cu", "opencl": ".cl"}.get(self.target, ".py")  # the targets'
        self.kernel = results / "kernels" / name / f"{config['model']['name']}{suffix}"
        self.shards = int(config.get("shards", {}).get("count", 1))
        self.walls: dict[str, float] = {}

    @property
    def target(self) -> str:
        return self.config["simulation"].get("target", "numba")

    def _log(self, stage: str, part: str = "") -> Path:
        return self.results.parent / "logs" / "heterogeneity" / f"{self.name}-{stage}{part}.log"

    def prepare(self) -> None:
        """study-config, connectome, empirical and kernel stages."""
        s = str(self.file)
        self.walls["study-config"] = run(
            ["brainsweep", "study-config", "--settings", s, "--out",
             str(self.results / "config" / f"{self.name}.yaml")], self._log("study-config"))
        self.walls["connectome"] = run(
            ["brainsweep", "connectome", "--settings", s, "--out", str(self.connectome),
             "--figure", str(self.connectome.with_suffix(".png"))], self._log("connectome"))
        self.walls["empirical"] = run(
            ["brainsweep", "empirical", "--settings", s, "--connectome", str(self.connectome),
             "--out", str(self.empirical)], self._log("empirical"))
        self.walls["kernels"] = run(
            ["brainsweep", "kernels", "--settings", s, "--target", self.target,
             "--out", str(self.kernel)], self._log("kernels"))

    def sim_shard(self, shard: int, *, settings: Path | None = None,
                  out: Path | None = None) -> Path:
        """The simulate stage on one shard (``settings`` and ``out``: a probe's)."""
        label = f"simulate-{shard}" if out is None else f"probe-{shard}"
        out = out or self.results / "sims" / self.name / f"shard-{shard}.npz"
        threads = str(self.config["simulation"].get("threads", 1))
        self.walls[label] = run(
            ["brainsweep", "simulate", "--settings", str(settings or self.file),
             "--connectome", str(self.connectome), "--kernel", str(self.kernel),
             "--shard-id", str(shard), "--out", str(out), "--memory-mb", str(self.memory_mb)],
            self._log(label), env={"NUMBA_NUM_THREADS": threads})
        return out

    def bold_shard(self, shard: int) -> None:
        self.walls[f"bold-{shard}"] = run(
            ["brainsweep", "bold", "--settings", str(self.file), "--shard-file",
             str(self.results / "sims" / self.name / f"shard-{shard}.npz"),
             "--out", str(self.bold(shard))], self._log("bold", f"-{shard}"))

    def bold(self, shard: int) -> Path:
        return self.results / "bold" / self.name / f"shard-{shard}.npz"

    def finish(self) -> None:
        """fit and figures stages."""
        shards = [str(self.bold(i)) for i in range(self.shards)]
        fit = self.results / "fit" / self.name
        self.walls["fit"] = run(
            ["brainsweep", "fit", "--settings", str(self.file), "--empirical",
             str(self.empirical), "--out-dir", str(fit), *shards], self._log("fit"))
        self.walls["figures"] = run(
            ["brainsweep", "figures", "--settings", str(self.file), "--scores",
             str(fit / "scores.csv"), "--empirical", str(self.empirical), "--out-dir",
             str(self.results / "figures" / self.name), *shards], self._log("figures"))


class Background:
    """Callables run in threads (each waits on its own subprocess); errors kept for later."""

    def __init__(self):
        self.errors: list[BaseException] = []

    def start(self, task) -> threading.Thread:
        def guarded():
            try:
                task()
            except BaseException as error:  # reported by check()
                self.errors.append(error)
        thread = threading.Thread(target=guarded)
        thread.start()
        return thread

    def check(self) -> None:
        if self.errors:
            raise self.errors[0]


def _parallel(tasks) -> None:
    """Run the callables at once and wait for all of them."""
    background = Background()
    for thread in [background.start(task) for task in tasks]:
        thread.join()
    background.check()


def probe_rates(studies: list[Study], probe_s: float, results: Path) -> dict[str, float]:
    """Wall seconds of kernel run per simulated second, per study, from a short run of every
    simulation of shard 0 (no transient): what the probe's sidecar timed."""
    rates = {}
    for study in studies:
        config = json.loads(json.dumps(study.config))
        config["simulation"].update(duration_s=probe_s, transient_s=0.0)
        settings = results / "heterogeneity" / "probe" / f"{study.name}.yaml"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(yaml.safe_dump(config, sort_keys=False))
        out = study.sim_shard(0, settings=settings, out=settings.with_suffix(".npz"))
        record = json.loads(Path(f"{out}.json").read_text())
        run_s = float(record["timings"]["run_s"])
        rates[study.name] = run_s / probe_s
        _say(f"  probe {study.name}: {probe_s:g} s simulated in {run_s:.2f} s of kernel "
             f"run ({record['timings']}), {len(np.load(out)['sim_index'])} simulations in "
             f"shard 0")
    return rates


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", nargs="+", default=list(STUDIES))
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("--target", choices=("numba", "cuda", "opencl"))
    parser.add_argument("--duration-s", type=float)
    parser.add_argument("--transient-s", type=float)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--dt", type=float)
    parser.add_argument("--g-count", type=int)
    parser.add_argument("--b-count", type=int)
    parser.add_argument("--shards", type=int, help="shards of heterogeneous-rww "
                        "(homogeneous-rww: one)")
    parser.add_argument("--fcd-window-s", type=float)
    parser.add_argument("--fcd-step-s", type=float)
    parser.add_argument("--no-degenerate-checks", action="store_true",
                        help="the fit's degenerate checks off (a plumbing test's short BOLD)")
    parser.add_argument("--memory-mb", type=int, default=16000)
    parser.add_argument("--budget-s", type=float,
                        help="choose the duration so that both studies' simulations fit")
    parser.add_argument("--probe-s", type=float, default=1.0)
    parser.add_argument("--ladder-trs", type=int, nargs="+",
                        default=[1200, 900, 600, 400, 300, 200, 100])
    args = parser.parse_args(argv)
    results = args.results.resolve()
    started = time.perf_counter()
    record: dict = {"argv": sys.argv[1:]}

    def build(name):
        config_args = argparse.Namespace(**vars(args))
        if name == "homogeneous-rww":
            config_args.shards = None  # its 32 simulations are one shard
        return Study(name, study_config(name, config_args), results, args.memory_mb)

    studies = [build(name) for name in args.studies]
    _parallel([study.prepare for study in studies])
    if args.budget_s is not None:
        rates = probe_rates(studies, args.probe_s, results)
        tr = float(studies[0].config["monitors"]["bold"]["tr"])
        transient = float(studies[0].config["simulation"]["transient_s"])
        per_s = sum(rates[s.name] * s.shards for s in studies)  # shard 0 times the shards
        fits = [n for n in args.ladder_trs if (transient + n * tr) * per_s <= args.budget_s]
        trs = max(fits) if fits else min(args.ladder_trs)
        duration = round(trs * tr, 6)
        _say(f"== probes: {rates} s of kernel per simulated s; chose {trs} TRs = "
             f"{duration:g} s (+ {transient:g} s transient), predicted "
             f"{(transient + duration) * per_s:.0f} s of simulation for a budget of "
             f"{args.budget_s:g} s")
        record.update(probe_rates=rates, chosen_trs=trs, duration_s=duration,
                      predicted_sim_s=(transient + duration) * per_s)
        for study in studies:
            study.config["simulation"]["duration_s"] = duration
            study.file.write_text(yaml.safe_dump(study.config, sort_keys=False))
            run(["brainsweep", "study-config", "--settings", str(study.file), "--out",
                 str(results / "config" / f"{study.name}.yaml")],
                study._log("study-config"))

    # the device simulates one shard at a time; each shard's BOLD stage, and each study's
    # fit and figures, run on the CPU beside the next shard's simulation
    background, post = Background(), []
    for study in studies:
        bolds = []
        for shard in range(study.shards):
            study.sim_shard(shard)
            background.check()
            bolds.append(background.start(lambda study=study, shard=shard:
                                          study.bold_shard(shard)))

        def finish(study=study, bolds=bolds):
            for thread in bolds:
                thread.join()
            background.check()
            study.finish()
        post.append(background.start(finish))
    for thread in post:
        thread.join()
    background.check()
    record["walls"] = {study.name: study.walls for study in studies}
    record["total_s"] = time.perf_counter() - started
    (results / "heterogeneity" / "run.json").write_text(json.dumps(record, indent=1))
    _say(f"== all stages in {record['total_s']:.0f} s")
    if set(args.studies) == set(STUDIES):
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "heterogeneity_comparison.py"),
                        "--results", str(results)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
