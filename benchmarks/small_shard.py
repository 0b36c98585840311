"""Small shards on a GPU (issue 17, item 5): what a step costs at P = 16-8 192, and why.

Usage (repository root, on a machine with an NVIDIA GPU and pycuda)::

    python benchmarks/small_shard.py time [--package DIR] [--label NAME] [--steps 20000]
        [--json FILE]
    python benchmarks/small_shard.py profile --sims 64 --steps 2000 [--mapping split]
        [--package DIR]          # one run, no warm-up: for ncu's first launch of the kernel
    python benchmarks/small_shard.py collect [--package DIR] [--frames 200] [--sims 8192]
    python benchmarks/small_shard.py store [--sizes 1024 256 64] [--steps 20000]
        [--repeats 3] [--check-steps 1500] [--json FILE]
    python benchmarks/small_shard.py half [--sims 64] [--steps 20000] [--json FILE]

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

``store`` compares the split kernel's two history store paths (the P = 1 024 regression of
docs/benchmarks.md): ``GpuTarget.fused_store`` True, the advancing thread storing its node's
next history value from registers (two barriers a step, the default since git 9514f7c), and
False, the store phase at the start of every step (three barriers), the path before it. Each
is first checked against the float64 oracle (``kernel_variants.check`` on the 80 regions,
forced split geometry 1 × 80 × 3, one round, so the knob takes effect; 20 m/s, the delay
ring wraps; bounds 1e-9 and 64 eps32; exit status 1 if one fails), then both are timed at
each P with the automatic mapping (``--mapping`` to force one), best of ``--repeats``, and
their BOLD compared.
Since that comparison the kernel fuses only in blocks of one simulation (docs/benchmarks.md):
where a block holds several (P = 1 024 on an H200) both settings now run the store phase.

``half`` runs the P = ``--sims`` shard with a float32 and a float16 history, with the
automatic mapping (the split kernel at P = 64 on an H200) and the lanes one, and prints the
BOLD means and the largest and the norm relative difference of the BOLD arrays. The BOLD
mean the ``time`` rows print is numpy's mean of a float32 array, itself a float32: the
float16 history's rounding errors (unbiased, relative ≤ 2⁻¹¹ per stored value, damped by
this low-activity regime) move single BOLD samples by ~1e-5 relatively but the mean of
20 480 samples by less than float32's resolution of it, so the two means can be the same
float32 number (on PoCL at P = 64, 20 000 steps: max relative difference 8.8e-6, norm
1.5e-7, means equal). ``half`` fails (status 1) if the difference is 0 (the history was not
half) or above 2⁻¹¹.

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
from kernel_variants import (  # noqa: E402
    BOUND32,
    BOUND64,
    Variant,
    check,
    hcp80,
    knobs,
    mapping_words,
)
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
             warm: bool = True, values: dict | None = None, repeats: int = 1) -> dict:
    """One case timed (the best of ``repeats`` runs); ``values``: more target class knobs."""
    return _run(n_sims, n_steps, mapping, overrides, warm, values, repeats)[0]


def _run(n_sims: int, n_steps: int, mapping: str | None, overrides: dict, warm: bool = True,
         values: dict | None = None, repeats: int = 1):
    """``(row, result)``: the case's row and the SimulationResult of its fastest run."""
    from brainsweep import simulate

    conn = hcp80()
    opts = options(**overrides)
    model = opts.pop("model")
    initial = np.broadcast_to(np.array([0.01, -2.0])[:, None], (2, conn.weights.shape[0]))
    best = None
    with knobs(opts["target"], {"mapping": mapping, **(values or {})}):
        if warm:  # generate, compile and load the same kernel first
            simulate.run(conn, model, n_steps=20, params=grid(n_sims), initial_state=initial,
                         **opts)
        for _ in range(max(repeats, 1)):
            started = time.perf_counter()
            out = simulate.run(conn, model, n_steps=n_steps, params=grid(n_sims),
                               initial_state=initial, **opts)
            wall = time.perf_counter() - started
            if best is None or out.timings["run_s"] < best[0].timings["run_s"]:
                best = out, wall
    out, wall = best
    run_s = out.timings["run_s"]
    row = {"n_sims": n_sims, "n_steps": n_steps, "run_s": run_s, "wall_s": wall,
           "us_per_step": run_s / n_steps * 1e6, "msteps": n_sims * n_steps / run_s / 1e6,
           "diverged": int(out.diverged.sum()),
           "bold_mean": float(np.nanmean(out.bold)) if out.bold.size else None,
           "timings": out.timings}
    return row, out


def time_cases(args) -> None:
    rows = []
    for label, sizes, mapping, overrides in CASES:
        for n_sims in sizes:
            row = {"package": args.label, "case": label,
                   **run_case(n_sims, args.steps, mapping, overrides)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    _append(args.json, rows)
    print("| package | case | P | steps | us/step | M sim-steps/s | diverged |\n"
          "|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['package']} | {r['case']} | {r['n_sims']} | {r['n_steps']} | "
              f"{r['us_per_step']:.2f} | {r['msteps']:.4g} | {r['diverged']} |")


def _relative(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(max elementwise, norm) relative difference of ``a`` from ``b``, in float64."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if not a.size:
        return float("nan"), float("nan")
    scale = np.where(b == 0, 1.0, np.abs(b))
    return float(np.max(np.abs(a - b) / scale)), float(np.linalg.norm(a - b) /
                                                        np.linalg.norm(b))


STORE_PATHS = (("fused store (registers)", True), ("store phase every step", False))


def store_paths(args) -> int:
    """The split kernel's two history store paths (GpuTarget.fused_store), each checked
    against the oracle, then timed at each P with the automatic mapping."""
    failed = []
    for label, fused in STORE_PATHS:
        if args.skip_check:
            break
        # one round of 80 nodes (1 x 80 x 3: within NVIDIA OpenCL's 256), so the knob matters
        variant = Variant("mpr", label, {}, {"mapping": "split", "split_geometry": (1, 80, 3),
                                             "fused_store": fused})
        errors = check(variant, TARGET, hcp80(), n_steps=args.check_steps, speed=20.0)
        ok = errors[0] <= BOUND64 and errors[1] <= BOUND32
        print(f"# check {label}: f64 vs oracle {errors[0]:.2e}, f32 vs f64 {errors[1]:.2e} "
              f"({'ok' if ok else 'FAILED'})", flush=True)
        if not ok:
            failed.append(label)
    rows = []
    for n_sims in args.sizes:
        runs = {}
        for label, fused in STORE_PATHS:
            row, out = _run(n_sims, args.steps, args.mapping, {},
                            values={"fused_store": fused}, repeats=args.repeats)
            runs[fused] = out
            row = {"mode": "store", "case": label, "fused_store": fused,
                   "mapping": mapping_words(TARGET, args.mapping, n_sims, 80), **row}
            rows.append(row)
            print(json.dumps(row), flush=True)
        rows[-1]["bold_vs_fused"] = _relative(runs[False].bold, runs[True].bold)
    _append(args.json, rows)
    print("| case | P | steps | mapping | us/step | M sim-steps/s | vs fused | diverged | "
          "best of |\n|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        base = next(x for x in rows if x["n_sims"] == r["n_sims"] and x["fused_store"])
        print(f"| {r['case']} | {r['n_sims']} | {r['n_steps']} | {r['mapping']} | "
              f"{r['us_per_step']:.2f} | {r['msteps']:.4g} | "
              f"{r['msteps'] / base['msteps']:.3f}x | {r['diverged']} | {args.repeats} |")
    for r in rows:
        if "bold_vs_fused" in r:
            print(f"# P={r['n_sims']}: BOLD of the store phase against the fused store: max "
                  f"relative {r['bold_vs_fused'][0]:.2e}, norm {r['bold_vs_fused'][1]:.2e}")
    return 1 if failed else 0


def half_history(args) -> int:
    """float16 against float32 history at P = ``--sims``, automatic and lanes mappings."""
    rows = []
    for mapping in (None, "lanes"):
        runs = {}
        for history in (None, "float16"):
            row, out = _run(args.sims, args.steps, mapping, {"history_dtype": history})
            runs[history] = out
            rows.append({"mode": "half", "history": history or "float32",
                         "mapping": mapping_words(TARGET, mapping, args.sims, 80), **row,
                         "bold_mean64": float(np.nanmean(out.bold.astype(np.float64)))})
            print(json.dumps(rows[-1]), flush=True)
        rows[-1]["bold_vs_float32"] = _relative(runs["float16"].bold, runs[None].bold)
    _append(args.json, rows)
    print("| mapping | history | P | steps | M sim-steps/s | BOLD mean (float32 nanmean) | "
          "BOLD mean (float64) | BOLD vs float32: max rel / norm rel |\n"
          "|---|---|---|---|---|---|---|---|")
    failed = False
    for r in rows:
        diff = r.get("bold_vs_float32")
        text = "-" if diff is None else f"{diff[0]:.2e} / {diff[1]:.2e}"
        print(f"| {r['mapping']} | {r['history']} | {r['n_sims']} | {r['n_steps']} | "
              f"{r['msteps']:.4g} | {r['bold_mean']!r} | {r['bold_mean64']!r} | {text} |")
        if diff is not None and not 0 < diff[1] <= 2.0**-11:
            failed = True  # no difference: the history was not half; above u: a fault
            print(f"HALF HISTORY CHECK FAILED ({r['mapping']}): norm relative difference "
                  f"{diff[1]:.2e} not in (0, 2^-11]", file=sys.stderr)
    return 1 if failed else 0


def _append(path: Path | None, rows: list[dict]) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")


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
    parser.add_argument("mode", choices=("time", "profile", "collect", "store", "half"))
    parser.add_argument("--package", type=Path, default=ROOT / "workflow",
                        help="folder holding the brainsweep package to time")
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--target", default="cuda", help="cuda or opencl")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--sims", type=int, default=64)
    parser.add_argument("--mapping", default=None, help="lanes or split (profile, store)")
    parser.add_argument("--frames", type=int, default=200, help="collect: time frames")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 256, 64],
                        help="store: the P to time")
    parser.add_argument("--check-steps", type=int, default=1500, help="store: oracle steps")
    parser.add_argument("--skip-check", action="store_true", help="store: time only")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.package.resolve()))
    global TARGET
    TARGET = args.target
    if args.mode == "time":
        time_cases(args)
    elif args.mode == "profile":
        print(json.dumps(run_case(args.sims, args.steps, args.mapping, {}, warm=False)))
    elif args.mode == "store":
        return store_paths(args)
    elif args.mode == "half":
        return half_history(args)
    else:
        collect(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
