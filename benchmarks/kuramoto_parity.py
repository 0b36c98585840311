"""The benchmark problem on a GPU target against Numba float64: relative errors, printed.

Usage: ``python benchmarks/kuramoto_parity.py --target cuda [--device 0]``. Small: 32
simulations (two per speed), 3000 steps, raw phases and BOLD. A float32 run of a phase
oscillator drifts from float64 by rounding that the dynamics do not damp, so the table shows
the float32 error next to Numba's own float32 error as the yardstick; float64 must agree to
rounding (≤ 1e-9).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from brainsweep import bench, connectome, simulate  # noqa: E402


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    if not (np.all(np.isfinite(out)) and np.all(np.isfinite(ref))):
        return float("nan")
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="opencl")
    parser.add_argument("--device")
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args()
    conn = connectome.load(bench._CONNECTOME)
    grid = bench.bench_grid(32)
    initial = np.random.default_rng(1).uniform(0, 2 * np.pi, (32, 1, 68))
    options = dict(dt=0.1, integrator="euler", coupling="kuramoto_mean_field", stochastic=True,
                   noise={"theta": bench.NOISE_D}, seed=3, monitors=("raw", "bold"),
                   bold_period_s=0.02, bold_dt_s=1e-3, n_steps=args.steps, params=grid,
                   initial_state=initial)
    ref = simulate.run(conn, "kuramoto", target="numba", dtype="float64", **options)
    ref32 = simulate.run(conn, "kuramoto", target="numba", dtype="float32", **options)
    device = {"device": args.device} if args.device else {}
    ok = True
    for dtype, bound in (("float64", 1e-9), ("float32", None)):
        out = simulate.run(conn, "kuramoto", target=args.target, dtype=dtype, **options,
                           **device)
        for monitor in ("raw", "bold"):
            error = relative_error(getattr(out, monitor).astype(np.float64),
                                   getattr(ref, monitor))
            yardstick = relative_error(getattr(ref32, monitor).astype(np.float64),
                                       getattr(ref, monitor))
            vs32 = relative_error(getattr(out, monitor).astype(np.float64),
                                  getattr(ref32, monitor).astype(np.float64))
            passed = error <= (bound if bound else 10 * max(yardstick, 1e-7))
            ok &= passed
            print(f"{args.target} {dtype} {monitor}: rel. error vs numba float64 {error:.2e} "
                  f"(numba float32: {yardstick:.2e}; vs numba float32 {vs32:.2e}) "
                  f"{'ok' if passed else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
