"""A small study's wall time stage by stage, GPU beside CPU (issue 17, item 4).

Usage (repository root)::

    python benchmarks/stage_timing.py [--targets cuda numba] [--duration 60]
        [--work /tmp/stage-timing] [--json FILE]

The study is ``benchmarks/stage_timing.yaml``, the default one until 2026-12-03
(MontbrioPazoRoxin on the HCP AAL2-80 group connectome, 8 x 8 global coupling x speed sweep,
stochastic Heun at 0.144 ms, BOLD in the kernel, fit to the group FC), with the 64
simulations in one shard (so that a GPU gets them together), ``--duration`` seconds of BOLD
kept after the 10 s transient, and an FCD window of 30 s (2 s steps) that fits that duration.
Every stage is run as the workflow runs
it, ``brainsweep <stage> --settings <study file> ...`` in its own process, and timed from the
outside (process start, imports and writing included): connectome and empirical once, then
for each target simulate, bold (FC and FCD) and fit. Numba runs with one thread per core of
the machine (``NUMBA_NUM_THREADS``). The simulate stage's own timings (its sidecar) split it
into generation, compilation and upload, the kernel, the copy back, the host-side reshaping
(``collect_s``, GPU targets) and the rest of the process (start, imports, planning, writing
the shard); the shard's arrays are then written again in this process to time the write
alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STUDY = Path(__file__).with_name("stage_timing.yaml")  # the MPR study (default until 2026-12-03)


def study_file(work: Path, target: str, duration: float, points: int) -> Path:
    config = yaml.safe_load(STUDY.read_text())
    for name, axis in config["sweep"].items():  # the default grid, or fewer points per axis
        config["sweep"][name] = {"linspace": [*axis["linspace"][:2], int(points)]}
    config["study"] = f"stage-timing-{target}"
    config["simulation"].update(target=target, duration_s=float(duration))
    config["shards"] = {"count": 1}
    config["bold"]["fcd"] = {"window_s": 30.0, "step_s": 2.0}
    path = work / f"study-{target}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def stage(name: str, *args: str, env: dict | None = None) -> float:
    """Run ``brainsweep <name> args`` as the workflow does; its wall time (s)."""
    command = [sys.executable, "-m", "brainsweep.cli", name, *args]
    started = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall


def write_time(shard: Path, work: Path) -> float:
    """Seconds to write the shard's arrays again as the stage does (io.save_npz)."""
    from brainsweep.io import load_npz, save_npz

    arrays = load_npz(shard)
    started = time.perf_counter()
    save_npz(work / "rewrite.npz", arrays)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=["cuda", "numba"])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/stage-timing"))
    parser.add_argument("--points", type=int, default=8,
                        help="points per swept axis (the default study's 8: 64 simulations)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "workflow"))
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    threads = str(os.cpu_count())
    rows = []
    first = study_file(work, args.targets[0], args.duration, args.points)
    connectome, empirical = work / "connectome.npz", work / "empirical.npz"
    rows.append({"target": "-", "stage": "connectome",
                 "wall_s": stage("connectome", "--settings", str(first), "--out",
                                 str(connectome))})
    rows.append({"target": "-", "stage": "empirical",
                 "wall_s": stage("empirical", "--settings", str(first), "--connectome",
                                 str(connectome), "--out", str(empirical))})
    for target in args.targets:
        # the kernel generated and compiled once (pycuda's and numba's caches on disk), as a
        # study's first shard does: a 4-simulation, 1 s shard of the same kernel spec
        warm = study_file(work, target, 1.0, 2)
        rows.append({"target": target, "stage": "simulate, first shard's compilation "
                     "(4 sims, 1 s)",
                     "wall_s": stage("simulate", "--settings", str(warm), "--connectome",
                                     str(connectome), "--shard-id", "0", "--out",
                                     str(work / f"warm-{target}.npz"),
                                     env={"NUMBA_NUM_THREADS": threads})})
        study = study_file(work, target, args.duration, args.points)
        shard, bold = work / f"shard-{target}.npz", work / f"bold-{target}.npz"
        wall = stage("simulate", "--settings", str(study), "--connectome", str(connectome),
                     "--shard-id", "0", "--out", str(shard),
                     env={"NUMBA_NUM_THREADS": threads})
        record = json.loads(Path(f"{shard}.json").read_text())
        timings = record["timings"]
        parts = {key: timings.get(key) for key in ("generate_s", "load_s", "run_s", "copy_s",
                                                   "collect_s", "total_s")}
        rows.append({"target": target, "stage": "simulate", "wall_s": wall,
                     "n_steps": record["n_steps"], **parts,
                     "rest_s": wall - timings["total_s"],
                     "write_s": write_time(shard, work)})
        rows.append({"target": target, "stage": "bold (FC, FCD)",
                     "wall_s": stage("bold", "--settings", str(study), "--shard-file",
                                     str(shard), "--out", str(bold))})
        rows.append({"target": target, "stage": "fit",
                     "wall_s": stage("fit", "--settings", str(study), "--empirical",
                                     str(empirical), "--out-dir", str(work / f"fit-{target}"),
                                     str(bold))})
        for row in rows[-4:]:
            print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(f"# {os.cpu_count()} cores; one shard of {args.points ** 2} simulations, "
          f"{args.duration:g} s of BOLD "
          f"after a 10 s transient")
    print("| target | stage | wall s | generate | compile+upload | kernel | copy | reshape "
          "| rest of process | write npz |\n|---|---|---|---|---|---|---|---|---|---|")

    def cell(row, key):
        value = row.get(key)
        return "-" if value is None else f"{value:.2f}"

    for row in rows:
        print(f"| {row['target']} | {row['stage']} | {row['wall_s']:.2f} | "
              + " | ".join(cell(row, k) for k in ("generate_s", "load_s", "run_s", "copy_s",
                                                  "collect_s", "rest_s", "write_s")) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
