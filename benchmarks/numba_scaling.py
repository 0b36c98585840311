"""How brainsweep's Numba target scales with cores on a sweep: the same sweep at 1, 2, ... threads.

The problem: MontbrioPazoRoxin (TVB's defaults) on the 80-region HCP AAL2 cortical group
connectome (``resources/hcp-aal2``, the default study's preprocessing: cortical regions,
symmetrised by the mean, weights normalised by the maximum), linear coupling, deterministic
Heun, dt = 0.1 ms, from r = 0.1, V = -2.0; 64 simulations on a grid of 8 global couplings
(0.05-0.4) x 8 conduction speeds (2-16 m/s); a temporal-average monitor every 10 steps.
``brainsweep.simulate.run`` spreads the simulations over Numba's threads (``prange``); the
thread count is set with ``numba.set_num_threads`` (at most ``NUMBA_NUM_THREADS``, which
defaults to the number of cores)::

    python benchmarks/numba_scaling.py [--sims 64] [--steps 4000] [--threads 1 2]
        [--repeats 3] [--dtype float64 float32]

Compilation is excluded (a first 10-step call per float type with a fresh kernel cache,
reported). Each (float type, thread count) is timed ``--repeats`` times over the whole
``simulate.run`` call (model and coupling read from their files once, before timing), in
rounds over all of them so that each meets the same load on this shared machine; the table
gives min and median, the compiled kernel's own time (min), simulation-steps per second from
the min, the speed-up and parallel efficiency against the fewest threads, and the process's
CPU time over wall time (how many cores it really got). The load average is printed at the
start and at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from numba_vs_tvb import brainsweep_source, machine_line  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DT = 0.1


def sweep_params(n_sims: int) -> dict[str, np.ndarray]:
    """``n_sims`` rows on a (global coupling x speed) grid, as square as ``n_sims`` allows."""
    n_speeds = max(d for d in range(1, int(np.sqrt(n_sims)) + 1) if n_sims % d == 0)
    couplings, speeds = np.meshgrid(np.linspace(0.05, 0.4, n_sims // n_speeds),
                                    np.linspace(2.0, 16.0, n_speeds), indexing="ij")
    return {"global_coupling": couplings.ravel(), "speed": speeds.ravel()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"],
                        choices=["float64", "float32"])
    args = parser.parse_args(argv)
    if min(args.sims, args.steps, args.repeats, *args.threads) < 1:
        parser.error("--sims, --steps, --repeats and --threads must be positive")

    import numba

    from brainsweep import connectome, simulate
    from brainsweep.dsl import load_coupling, load_model

    if max(args.threads) > numba.config.NUMBA_NUM_THREADS:
        parser.error(f"--threads {max(args.threads)} exceeds NUMBA_NUM_THREADS = "
                     f"{numba.config.NUMBA_NUM_THREADS}")
    print(f"# machine: {machine_line()} (start)")
    conn = connectome.preprocess(connectome.load(ROOT / "resources" / "hcp-aal2"),
                                 regions={"preset": "aal2-cortical"}, symmetrise="mean",
                                 normalise="max")
    n_nodes = conn.weights.shape[0]
    params = sweep_params(args.sims)
    initial = np.array([[0.1] * n_nodes, [-2.0] * n_nodes])
    # Read the model and coupling files once, not on every call.
    model, coupling = load_model("montbrio"), load_coupling("linear")

    def call(steps: int, dtype: str):
        started, cpu = time.perf_counter(), time.process_time()
        out = simulate.run(conn, model, target="numba", dt=DT, n_steps=steps,
                           params=params, integrator="heun", coupling=coupling,
                           stochastic=False,
                           monitors=("tavg",), tavg_period=10, initial_state=initial,
                           dtype=dtype)
        wall = time.perf_counter() - started
        return wall, (time.process_time() - cpu) / wall, out

    times = {(dtype, threads): [] for dtype in args.dtype for threads in args.threads}
    compile_s, diverged = {}, {}
    with tempfile.TemporaryDirectory(prefix="numba-scaling-") as scratch:
        os.environ["BRAINSWEEP_CACHE"] = scratch  # a fresh kernel cache: real compile times
        for dtype in args.dtype:
            compile_s[dtype] = call(10, dtype)[0]
        # Rounds over every (dtype, threads), so that all meet the same load.
        for _ in range(args.repeats):
            for dtype, threads in times:
                numba.set_num_threads(threads)
                wall, cores, out = call(args.steps, dtype)
                times[(dtype, threads)].append((wall, cores, out.timings["run_s"]))
                diverged[(dtype, threads)] = int(out.diverged.sum())
    rows = [(dtype, threads, compile_s[dtype], min(t)[0],
             statistics.median(w for w, _, _ in t), min(t)[1], min(k for _, _, k in t),
             diverged[(dtype, threads)]) for (dtype, threads), t in times.items()]

    print(f"# problem: HCP AAL2 cortical group connectome ({n_nodes} regions, "
          f"{np.count_nonzero(conn.weights)} non-zero weights), MontbrioPazoRoxin (TVB "
          f"defaults), linear coupling, Heun deterministic, dt {DT} ms, {args.sims} simulations "
          f"(global coupling {params['global_coupling'].min():g}-"
          f"{params['global_coupling'].max():g} x speed {params['speed'].min():g}-"
          f"{params['speed'].max():g} m/s), {args.steps} steps, tavg monitor, "
          f"{args.repeats} repeats; numba {numba.__version__}, threading layer "
          f"{numba.threading_layer()}")
    print(f"# brainsweep: {brainsweep_source()}")
    print(f"{'dtype':<8} {'threads':>7} {'compile_s':>9} {'run_min_s':>10} {'run_med_s':>10} "
          f"{'kernel_min_s':>12} {'k sim-steps/s':>13} {'us/sim-step':>11} {'speed-up':>9} "
          f"{'efficiency':>10} {'cpu/wall':>8} {'diverged':>8}")
    sim_steps = args.sims * args.steps
    for dtype, threads, compile_s, best, median, cores, kernel, diverged in rows:
        one = next(r[3] for r in rows if r[0] == dtype and r[1] == min(args.threads))
        speedup = one / best
        print(f"{dtype:<8} {threads:>7} {compile_s:>9.2f} {best:>10.3f} {median:>10.3f} "
              f"{kernel:>12.3f} {sim_steps / best / 1e3:>13.1f} {1e6 * best / sim_steps:>11.2f} "
              f"{speedup:>8.2f}x {speedup / threads * min(args.threads):>10.2f} "
              f"{cores:>8.2f} {diverged:>8}")
    print("# run: the whole simulate.run() call; kernel: the compiled kernel alone (min); "
          "sim-steps/s, speed-up and efficiency from run_min_s")
    print("# cpu/wall: this process's CPU time over wall time in the fastest run: the cores it "
          "actually got (the machine is shared)")
    print(f"# machine: {machine_line()} (end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
