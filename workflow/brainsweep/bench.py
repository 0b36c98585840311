"""``brainsweep bench``: the sweep engine's fixed benchmark problem, timed, as a table.

The problem (issue 5): Kuramoto with the ``kuramoto_mean_field`` coupling (a / N, TVB-HPC's
form) on TVB's 68-region connectome, dt = 0.1 ms, stochastic Euler, float32, a grid of 16
conduction speeds from 1 to 10 m/s times a range of global couplings, P simulations, 40 000
steps, BOLD sampled in the kernel. For each P the table gives

* sim-steps/s — P × steps over the run time (generated, compiled and warmed up beforehand;
  uploads, every launch and the final synchronisation included, output copy excluded);
* the seconds that 40 000 steps take at that rate;
* device bytes per simulation, from :mod:`brainsweep.network.plan` (what the GPU runners
  allocate);
* achieved bandwidth: the bytes a sim-step must move at the least (every non-zero
  connection's delayed read plus the history write, ≈ 5 KB here) times sim-steps/s;
* the fraction of the floor: that bandwidth over the device's copy bandwidth, i.e. the
  floor's time over the measured time.

Timing works for every target; keep P small for Numba on a laptop. This module uses only the
public API, so ``benchmarks/sweep_bench.py`` can load it over another checkout's package to
time an older kernel.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "BENCH_SIZES",
    "RATEML_BYTES_PER_SIM",
    "BenchRow",
    "ScalingRow",
    "bench_grid",
    "floor_bytes_per_sim_step",
    "format_scaling",
    "format_table",
    "run_bench",
    "run_scaling",
]

BENCH_SIZES = (1024, 8192, 32768, 131072)
BENCH_STEPS = 40_000
N_SPEEDS = 16  # 1..10 m/s; every P of the table is a multiple of 16
COUPLING_RANGE = (0.0, 2.0)
NOISE_D = 1e-3  # rad²/ms: small phase noise; the stochastic path is what is timed
# Device-to-device copy bandwidth (bytes read + written) measured on an NVIDIA H200 with CuPy:
# 4.24-4.27 TB/s (docs/perf-logs/run{2,3,4}_gpu.log, docs/reproductions/gpu-logs/
# copy_bandwidth.log), the practical DRAM ceiling.
COPY_BANDWIDTH = {"cuda": 4.3e12, "opencl": 4.3e12}
# RateML's generated kernels keep 4096 float32 history slots per node (the reference)
RATEML_BYTES_PER_SIM = 4096 * 68 * 4
_CONNECTOME = Path(__file__).resolve().parents[2] / "resources" / "tvb-connectivity" / \
    "connectivity_68.zip"  # the checkout's copy of TVB's data


@dataclass(frozen=True)
class BenchRow:
    """One timed size of the benchmark."""

    target: str
    device: str
    n_sims: int
    n_steps: int
    run_s: float
    sim_steps_per_s: float
    seconds_40k: float
    bytes_per_sim: float | None
    floor_bytes: int  # per sim-step
    achieved_gbps: float
    floor_fraction: float | None
    diverged: int
    history_dtype: str = "float32"  # the delay history's storage type


def bench_grid(n_sims: int, *, n_speeds: int = N_SPEEDS) -> dict[str, np.ndarray]:
    """The benchmark's parameter rows: ``n_speeds`` speeds (1-10 m/s) × couplings.

    Examples
    --------
    >>> grid = bench_grid(32, n_speeds=16)
    >>> grid["speed"][:3].tolist(), float(grid["global_coupling"][-1])
    ([1.0, 1.0, 1.6], 2.0)
    """
    if n_sims % n_speeds:
        raise ValueError(f"P = {n_sims} is not a multiple of the {n_speeds} speeds")
    speeds = np.linspace(1.0, 10.0, n_speeds)
    couplings = np.linspace(*COUPLING_RANGE, n_sims // n_speeds)
    speed, coupling = np.meshgrid(speeds, couplings, indexing="ij")
    return {"speed": speed.ravel(), "global_coupling": coupling.ravel()}


def floor_bytes_per_sim_step(weights: np.ndarray, *, value_bytes: int = 4,
                             n_cvars: int = 1) -> int:
    """Bytes one sim-step must move at the least: each connection's delayed read + a write.

    Every non-zero weight reads one history value per coupled variable, and each node writes
    its new value once; everything else (state, sums, parameters) can stay on chip.
    """
    n_connections = int(np.count_nonzero(weights))
    return n_cvars * (n_connections + weights.shape[0]) * value_bytes


def _plan_bytes(conn, grid: dict[str, np.ndarray], *, n_steps: int, bold_period: int,
                history_dtype: str = "float32"):
    try:  # absent in checkouts older than the planner (benchmarks/sweep_bench.py --package)
        from brainsweep.network.plan import plan_shard
    except ImportError:
        return None
    plan = plan_shard(conn.weights, conn.lengths, grid["speed"], dt=0.1, n_states=1,
                      n_cvars=1, n_params=3, dtype="float32", history_dtype=history_dtype,
                      frames=(0, 0, n_steps // bold_period))
    return plan.bytes_per_sim


def run_bench(target: str, sizes: Sequence[int] = BENCH_SIZES, *, n_steps: int = BENCH_STEPS,
              device: str | None = None, connectome_path: str | Path | None = None,
              bandwidth: float | None = None, seed: int = 5,
              history_dtype: str | None = None) -> list[BenchRow]:
    """Time the benchmark problem for each shard size on one target.

    Parameters
    ----------
    target
        ``numba``, ``cuda`` or ``opencl``.
    sizes
        Simulation counts P (multiples of 16).
    n_steps
        Steps timed per size; the table also gives the time of 40 000 steps at that rate.
    bandwidth
        Copy bandwidth of the device in bytes/s for the floor; default: the H200's for GPU
        targets, none (no fraction) for Numba.
    history_dtype
        The delay history's storage type (None: the kernel's float32; ``"float16"`` on the
        GPU targets halves the history's bytes and the floor's).
    """
    from brainsweep import connectome, simulate

    conn = connectome.load(connectome_path or _CONNECTOME)
    n_nodes = conn.weights.shape[0]
    storage = history_dtype or "float32"
    floor = floor_bytes_per_sim_step(conn.weights, value_bytes=np.dtype(storage).itemsize)
    peak = bandwidth if bandwidth is not None else COPY_BANDWIDTH.get(target)
    bold_period_s = 0.72  # TR; 7200 steps of 0.1 ms
    options = dict(target=target, dt=0.1, integrator="euler", coupling="kuramoto_mean_field",
                   stochastic=True, noise={"theta": NOISE_D}, dtype="float32", seed=seed,
                   monitors=("bold",), bold_period_s=bold_period_s, bold_dt_s=1e-3)
    if device is not None:
        options["device"] = device
    if history_dtype is not None:  # only when asked: an older package (--package) lacks it
        options["history_dtype"] = history_dtype
    generator = np.random.default_rng(seed)
    # Warm-up: generation, compilation and module load stay out of the timings.
    small = bench_grid(N_SPEEDS)
    simulate.run(conn, "kuramoto", n_steps=20, params=small, **options)
    rows = []
    for n_sims in sizes:
        grid = bench_grid(n_sims)
        initial = generator.uniform(0.0, 2 * np.pi, (n_sims, 1, n_nodes))
        started = time.perf_counter()
        out = simulate.run(conn, "kuramoto", n_steps=n_steps, params=grid,
                           initial_state=initial, **options)
        wall = time.perf_counter() - started
        run_s = out.timings.get("run_s", wall)
        rate = n_sims * n_steps / run_s
        achieved = floor * rate
        rows.append(BenchRow(
            target=target, device=device or "default", n_sims=n_sims, n_steps=n_steps,
            run_s=run_s, sim_steps_per_s=rate, seconds_40k=n_sims * BENCH_STEPS / rate,
            # the planner counts the GPU runners' device arrays; Numba keeps its own layout
            bytes_per_sim=None if target == "numba" else _plan_bytes(
                conn, grid, n_steps=n_steps, bold_period=round(bold_period_s / 1e-4),
                history_dtype=storage),
            floor_bytes=floor, achieved_gbps=achieved / 1e9,
            floor_fraction=achieved / peak if peak else None,
            diverged=int(np.count_nonzero(out.diverged)), history_dtype=storage))
    return rows


@dataclass(frozen=True)
class ScalingRow:
    """The benchmark grid of P simulations split into one shard per GPU."""

    n_gpus: int
    n_sims: int
    n_steps: int
    wall_s: float  # release of the workers to the last shard's end (copies included)
    kernel_s: float  # the slowest shard's run_s (uploads, launches, synchronisation)
    sim_steps_per_s: float  # P x steps / wall_s
    speedup: float | None  # over the 1-GPU row of the same P
    diverged: int


def run_scaling(sizes: Sequence[int], gpus: Sequence[int], *, n_steps: int = BENCH_STEPS,
                target: str = "cuda", device: str | None = None,
                connectome_path: str | Path | None = None, seed: int = 5
                ) -> list[ScalingRow]:
    """The benchmark problem of each size P split over 1, 2, ... GPUs (one process each).

    The grid is the benchmark's (speeds vary slowest); shard k of n gets the k-th contiguous
    block of rows, as ``shards.count`` splits a study, with their global indices. Runs through
    :func:`brainsweep.reproduce.multigpu.run_sharded`: with the cuda target each process
    gets its own GPU; other targets (a CPU dry run) share the host.
    """
    from dataclasses import asdict as fields

    from brainsweep.reproduce.multigpu import run_sharded
    from brainsweep.reproduce.settings import ModelCase

    case = ModelCase(label="Kuramoto (bench)", model="kuramoto", coupling="kuramoto_mean_field",
                     noise={"theta": NOISE_D}, global_coupling=COUPLING_RANGE,
                     initial_uniform=(0.0, 2 * np.pi))
    job = {"connectome": str(connectome_path or _CONNECTOME), "case": fields(case),
           "target": target, "device": None if target == "cuda" else device,
           "n_steps": n_steps,
           "settings": {"dt": 0.1, "integrator": "euler", "dtype": "float32", "seed": seed,
                        "speeds": [1.0, 10.0, N_SPEEDS]}}
    rows = []
    for n_sims in sizes:
        grid = bench_grid(n_sims)
        single = None
        for n_gpus in gpus:
            result = run_sharded(job, grid, n_gpus, target=target)
            rate = n_sims * n_steps / result["wall_s"]
            if n_gpus == 1:
                single = rate
            rows.append(ScalingRow(
                n_gpus=n_gpus, n_sims=n_sims, n_steps=n_steps, wall_s=result["wall_s"],
                kernel_s=max(s["timings"]["run_s"] for s in result["shards"]),
                sim_steps_per_s=rate, speedup=rate / single if single else None,
                diverged=sum(s["diverged"] for s in result["shards"])))
    return rows


def format_scaling(rows: Sequence[ScalingRow]) -> str:
    """The scaling rows as a fixed-width text table."""
    header = (f"{'GPUs':>4} {'P':>7} {'steps':>6} {'wall s':>7} {'kernel s':>8} "
              f"{'Msim-steps/s':>13} {'speedup':>7} {'diverged':>8}")
    lines = [header, "-" * len(header)]
    for r in rows:
        speedup = "-" if r.speedup is None else f"{r.speedup:.2f}"
        lines.append(f"{r.n_gpus:>4} {r.n_sims:>7} {r.n_steps:>6} {r.wall_s:>7.2f} "
                     f"{r.kernel_s:>8.2f} {r.sim_steps_per_s / 1e6:>13.4g} {speedup:>7} "
                     f"{r.diverged:>8}")
    return "\n".join(lines)


def format_table(rows: Sequence[BenchRow]) -> str:
    """The rows as a fixed-width text table; a row whose history is not float32 names its
    storage type after the target (``cuda/f16``)."""
    labels = [r.target if r.history_dtype == "float32" else
              f"{r.target}/f{np.dtype(r.history_dtype).itemsize * 8}" for r in rows]
    width = max([7, *map(len, labels)])
    header = (f"{'target':<{width}} {'P':>7} {'steps':>6} {'Msim-steps/s':>13} "
              f"{'s/40k steps':>11} {'KiB/sim':>8} {'B/sim-step':>10} {'GB/s':>7} {'floor':>6} "
              f"{'diverged':>8}")
    lines = [header, "-" * len(header)]
    for r, label in zip(rows, labels, strict=True):
        per_sim = "-" if r.bytes_per_sim is None else f"{r.bytes_per_sim / 1024:.1f}"
        fraction = "-" if r.floor_fraction is None else f"{r.floor_fraction:.2f}"
        lines.append(f"{label:<{width}} {r.n_sims:>7} {r.n_steps:>6} "
                     f"{r.sim_steps_per_s / 1e6:>13.4g} {r.seconds_40k:>11.2f} {per_sim:>8} "
                     f"{r.floor_bytes:>10} {r.achieved_gbps:>7.0f} {fraction:>6} "
                     f"{r.diverged:>8}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``brainsweep bench`` (shared with ``benchmarks/sweep_bench.py``)."""
    parser.add_argument("--target", default="numba", help="numba, cuda or opencl")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(BENCH_SIZES),
                        help="simulation counts P (multiples of 16)")
    parser.add_argument("--steps", type=int, default=BENCH_STEPS, help="steps timed per size")
    parser.add_argument("--device", help="device of the target (e.g. 0, cuda:1, nvidia)")
    parser.add_argument("--bandwidth", type=float,
                        help="device copy bandwidth in bytes/s for the floor column")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--history-dtype", choices=("float32", "float16"), default=None,
                        help="storage type of the delay history (default: float32, the "
                             "kernel's; float16 on cuda and opencl)")
    parser.add_argument("--gpus", type=int, nargs="+",
                        help="instead: split each size over these GPU counts (one process "
                             "and shard per GPU) and print the scaling table")


def _history_option(args: argparse.Namespace) -> str | None:
    """``--history-dtype``, None where it is the kernel's own float32 (the default kernel)."""
    value = getattr(args, "history_dtype", None)
    return None if value in (None, "float32") else value


def main_from_args(args: argparse.Namespace) -> None:
    """Run the benchmark that ``args`` describe and print its table."""
    if getattr(args, "gpus", None):
        scaling = run_scaling(args.sizes, args.gpus, n_steps=args.steps, target=args.target,
                              device=args.device)
        print(f"# {args.target}, benchmark grid split into one shard per GPU (process); "
              f"host {platform.node()}")
        print(format_scaling(scaling))
        if args.json:
            Path(args.json).write_text(json.dumps([asdict(r) for r in scaling], indent=1))
        return
    rows = run_bench(args.target, args.sizes, n_steps=args.steps, device=args.device,
                     bandwidth=args.bandwidth, history_dtype=_history_option(args))
    from brainsweep.backends import get_target

    print(f"# {args.target} devices: {get_target(args.target).devices()}")
    print(f"# Kuramoto, TVB connectivity_68, dt 0.1 ms, stochastic Euler, float32 "
          f"(history {rows[0].history_dtype if rows else 'float32'}), "
          f"{N_SPEEDS} speeds 1-10 m/s x couplings {COUPLING_RANGE}; host {platform.node()}")
    print(format_table(rows))
    per_sim = [r.bytes_per_sim for r in rows if r.bytes_per_sim is not None]
    if per_sim:
        print(f"# RateML keeps 4096 float32 history slots x 68 nodes: "
              f"{RATEML_BYTES_PER_SIM / 1024:.0f} KiB/sim; here {per_sim[0] / 1024:.1f} KiB/sim "
              f"({per_sim[0] / RATEML_BYTES_PER_SIM:.1%} of it)")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=1))
