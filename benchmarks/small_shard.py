"""Small shards on a GPU (issue 17, item 5): what a step costs at P = 16-8 192, and why.

Usage (repository root, on a machine with an NVIDIA GPU and pycuda)::

    python benchmarks/small_shard.py time [--package DIR] [--label NAME] [--steps 20000]
        [--json FILE]
    python benchmarks/small_shard.py profile --sims 64 --steps 2000 [--mapping split]
        [--package DIR]          # one run, no warm-up: for ncu's first launch of the kernel
    python benchmarks/small_shard.py collect [--package DIR] [--frames 200] [--sims 8192]

The problem is ``benchmarks/kernel_variants.py``'s MPR one, the default study's model:
MontbrioPazoRoxin (τ = 10 ms), dt = 0.144 ms, stochastic Heun (noise r 5e-6, V 5e-3), linear
coupling (the zero cv term left out, as the shard stage does), Friston 2003 balloon in the
kernel (1.44 ms, TR 0.72 s), HCP subject 101309's 80 cortical regions (6 320 connections),
global coupling 16.5-20 × speed 2-16 m/s, float32. ``time`` runs each case once to compile
and once timed: the rate is P × steps over the kernel's run time (``timings["run_s"]``:
uploads, launches, final synchronisation), and ``us/step`` is that time over the steps. The
cases: the automatic mapping at P = 16 / 64 / 256 / 1 024 / 8 192, the one-thread-per-
simulation kernel at P = 64, and at P = 64 the same step without noise and without the BOLD
monitor, which price those parts of a step. ``--package`` times
another checkout's ``brainsweep`` (an older kernel) on the same problem.

``collect`` times the host-side reshaping of a shard's outputs from the device layout
``[time][var][node][sim]`` to ``[sim][time][var][node]`` in the caller's order: the package's
``collect_outputs`` against the expression it used before (``np.moveaxis(a, -1, 0)[restore]``),
on random float32 data of the given size, the simulations in a shuffled plan order.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZES = (16, 64, 256, 1024, 8192)


# the same network and grid as the kernel-variant benchmark beside this file
sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel_variants import hcp80  # noqa: E402
from kernel_variants import mpr_grid as grid  # noqa: E402

TARGET = "cuda"


def options(**overrides) -> dict:
    from brainsweep.dsl import load_model

    base = dict(model=load_model("montbrio").with_defaults(tau=10.0), target=TARGET,
                dt=0.144, integrator="heun", coupling="linear",
                noise={"r": 5.0e-6, "V": 5.0e-3}, dtype="float32", monitors=("bold",),
                seed=42, bold_period_s=0.72, bold_dt_s=0.00144, bold_preset="friston2003")
    base.update(overrides)
    return base


CASES = [  # (label, P sizes, mapping, simulate.run overrides)
    ("automatic mapping", SIZES, None, {}),
    ("one thread per simulation (lanes)", (64,), "lanes", {}),
    ("no noise (deterministic Heun)", (64,), None, {"stochastic": False}),
    ("no BOLD monitor", (64,), None, {"monitors": ()}),
]


def run_case(n_sims: int, n_steps: int, mapping: str | None, overrides: dict,
             warm: bool = True) -> dict:
    from brainsweep import simulate
    from brainsweep.registry import get_target

    conn = hcp80()
    opts = options(**overrides)
    model = opts.pop("model")
    initial = np.broadcast_to(np.array([0.01, -2.0])[:, None], (2, conn.weights.shape[0]))
    cls = type(get_target(opts["target"]))  # get_target gives a new instance each call
    saved = cls.mapping
    cls.mapping = mapping
    try:
        if warm:  # generate, compile and load the same kernel first
            simulate.run(conn, model, n_steps=20, params=grid(n_sims), initial_state=initial,
                         **opts)
        started = time.perf_counter()
        out = simulate.run(conn, model, n_steps=n_steps, params=grid(n_sims),
                           initial_state=initial, **opts)
        wall = time.perf_counter() - started
    finally:
        cls.mapping = saved
    run_s = out.timings["run_s"]
    return {"n_sims": n_sims, "n_steps": n_steps, "run_s": run_s, "wall_s": wall,
            "us_per_step": run_s / n_steps * 1e6, "msteps": n_sims * n_steps / run_s / 1e6,
            "diverged": int(out.diverged.sum()),
            "bold_mean": float(np.nanmean(out.bold)) if out.bold.size else None,
            "timings": out.timings}


def time_cases(args) -> None:
    rows = []
    for label, sizes, mapping, overrides in CASES:
        for n_sims in sizes:
            row = {"package": args.label, "case": label,
                   **run_case(n_sims, args.steps, mapping, overrides)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "a") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
    print("| package | case | P | steps | us/step | M sim-steps/s | diverged |\n"
          "|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['package']} | {r['case']} | {r['n_sims']} | {r['n_steps']} | "
              f"{r['us_per_step']:.2f} | {r['msteps']:.4g} | {r['diverged']} |")


def collect(args) -> None:
    from types import SimpleNamespace

    from brainsweep.backends.gpu.layout import collect_outputs

    generator = np.random.default_rng(3)
    s, n, v, t = args.sims, 80, 2, args.frames
    order = np.argsort(generator.uniform(size=s), kind="stable")
    shard = SimpleNamespace(n_sims=s, n_nodes=n, n_states=v, frames_raw=0, frames_tavg=t,
                            frames_bold=0, plan=SimpleNamespace(order=order))
    device = generator.standard_normal((t, v, n, s), dtype=np.float32)
    flags = np.zeros(s, dtype=np.int32)
    flags[::97] = 1
    empty = np.empty(0, dtype=np.float32)
    restore = np.argsort(order)

    def before():  # the former collect_outputs, on the temporal average
        tavg = np.moveaxis(device.reshape(t, v, n, s), -1, 0)
        tavg = np.ascontiguousarray(tavg[restore])
        tavg[(flags != 0)[restore]] = np.nan
        return tavg

    def now():
        return collect_outputs(shard, empty, device, empty, flags, {}).tavg

    times = {}
    for name, call in (("before", before), ("now", now)):
        best = np.inf
        for _ in range(args.repeats):
            started = time.perf_counter()
            result = call()
            best = min(best, time.perf_counter() - started)
            times[name] = (best, result)
    assert np.array_equal(times["before"][1], times["now"][1], equal_nan=True)
    gb = device.nbytes / 1e9
    print(json.dumps({"collect_GB": gb, "sims": s, "frames": t,
                      "before_s": times["before"][0], "now_s": times["now"][0]}))
    print(f"| collect (host) | {gb:.2f} GB, S = {s}, {t} frames | before "
          f"{times['before'][0]:.2f} s ({gb / times['before'][0]:.2f} GB/s) | now "
          f"{times['now'][0]:.2f} s ({gb / times['now'][0]:.2f} GB/s) |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("time", "profile", "collect"))
    parser.add_argument("--package", type=Path, default=ROOT / "workflow",
                        help="folder holding the brainsweep package to time")
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--target", default="cuda", help="cuda or opencl")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--sims", type=int, default=64)
    parser.add_argument("--mapping", default=None, help="lanes or split (profile)")
    parser.add_argument("--frames", type=int, default=200, help="collect: time frames")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.package.resolve()))
    global TARGET
    TARGET = args.target
    if args.mode == "time":
        time_cases(args)
    elif args.mode == "profile":
        print(json.dumps(run_case(args.sims, args.steps, args.mapping, {}, warm=False)))
    else:
        collect(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
