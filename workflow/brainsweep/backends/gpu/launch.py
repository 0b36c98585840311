"""Launch geometry of the GPU kernels: steps per launch, block shape, threads per simulation.

Two mappings of threads to simulations (:func:`choose_mapping`). The *lanes* mapping
(``simulate_shard``): a block holds :data:`SIM_LANES` simulations times ``p`` threads per
simulation, each advancing every ``p``-th node (:func:`choose_node_parts` fills the device in
one wave). A shard of fewer than ``32 x multiprocessors`` simulations leaves multiprocessors
without a block in it, so such a shard takes the *split* mapping (``simulate_split``): a
block holds a few simulations, each summed by up to a thousand threads, nodes and their
connections split between them (:func:`choose_split`). The tuning and its measurements are
in ``docs/perf-notes.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainsweep.codegen.channels import sum_count

__all__ = ["SIM_LANES", "SPLIT_MAX_THREADS", "STEPS_PER_LAUNCH", "THREADS_PER_BLOCK", "Mapping",
           "choose_mapping", "choose_node_parts", "choose_split", "launch_chunks",
           "resident_warps", "split_block", "split_threads"]

STEPS_PER_LAUNCH = 4096  # steps per kernel launch: progress reports, no watchdog, no cost
THREADS_PER_BLOCK = 128  # of the one-thread-per-simulation kernels (initialise, philox)
SIM_LANES = 32  # simulations per block of the step kernel: one warp's worth
SPLIT_MAX_THREADS = 1024  # the largest block of the split kernel (CUDA's and most OpenCLs')
_LOCAL_BYTES = 48 * 1024  # static local memory a block may declare on every such device


def launch_chunks(n_steps: int, steps_per_launch: int = STEPS_PER_LAUNCH
                  ) -> list[tuple[int, int]]:
    """``[(begin, end), ...]`` step ranges covering ``0..n_steps``."""
    return [(begin, min(begin + steps_per_launch, n_steps))
            for begin in range(0, n_steps, steps_per_launch)]


def resident_warps(registers: int, *, registers_per_multiprocessor: int = 65536,
                   max_warps: int = 64) -> int:
    """Warps one multiprocessor holds at once for a kernel using ``registers`` per thread.

    Registers are allocated per warp in units of 256, as on every NVIDIA GPU since Kepler.
    """
    per_warp = -(-max(int(registers), 1) * 32 // 256) * 256
    return max(1, min(max_warps, registers_per_multiprocessor // per_warp))


def choose_node_parts(n_sims: int, multiprocessors: int, warps_per_multiprocessor: int, *,
                      max_parts: int = 16) -> int:
    """Threads per simulation for the step kernel: the most (a power of two) in one wave.

    A shard of ``n_sims`` simulations fills ``ceil(n_sims / 32)`` warps; splitting each
    simulation's nodes over ``p`` threads makes ``p`` times as many, which hides the history
    reads' latency, as long as they all fit on the device at once (a second, partial wave
    would leave most multiprocessors idle at its end).

    Examples
    --------
    >>> choose_node_parts(32768, 132, 24), choose_node_parts(1024, 132, 24)
    (2, 16)
    """
    warps = -(-int(n_sims) // SIM_LANES)
    capacity = int(multiprocessors) * int(warps_per_multiprocessor)
    parts = 1
    while parts * 2 <= max_parts and warps * parts * 2 <= capacity:
        parts *= 2
    return parts


def split_threads(n_sums: int, real_bytes: int) -> int:
    """The split kernel's largest block for ``n_sums`` partial sums of ``real_bytes`` each:
    its local memory holds every thread's sums (at most 48 KiB, a power of two threads)."""
    threads = SPLIT_MAX_THREADS
    while threads > 32 and max(int(n_sums), 1) * threads * int(real_bytes) > _LOCAL_BYTES:
        threads //= 2
    return threads


def split_block(spec) -> int:
    """The split kernel's largest block for ``spec`` (its local memory holds the sums)."""
    return split_threads(sum_count(spec), np.dtype(spec.dtype).itemsize)


@dataclass(frozen=True)
class Mapping:
    """How the step kernel's threads map to simulations, nodes and connections."""

    kernel: str  # "simulate_shard" (lanes) or "simulate_split"
    group: int  # threads per block
    blocks: int
    lanes: int  # consecutive simulations a block holds
    node_parts: int  # threads that split a simulation's nodes
    conn_parts: int = 1  # threads that split each node's connections (split kernel)

    @property
    def threads(self) -> int:
        return self.group * self.blocks


def choose_split(n_sims: int, n_nodes: int, multiprocessors: int,
                 warps_per_multiprocessor: int, *, max_threads: int = SPLIT_MAX_THREADS
                 ) -> tuple[int, int, int]:
    """``(lanes, node_parts, conn_parts)`` of the split kernel for a small shard.

    A simulation's threads must share one block (they meet at barriers every step), so the
    shard spreads over at most ``n_sims`` blocks: ``lanes`` simulations per block, the
    largest power of two that still leaves a block for every multiprocessor. Each block
    then takes its share of the device's resident threads (at most ``max_threads``): first
    one thread per node, then the rest split each node's connections.

    Examples
    --------
    >>> choose_split(64, 80, 132, 32), choose_split(256, 80, 132, 32)
    ((1, 80, 12), (1, 80, 6))
    >>> choose_split(1024, 80, 132, 32), choose_split(3, 20, 2, 1)
    ((4, 80, 1), (2, 16, 1))
    """
    n_sims, n_nodes = max(int(n_sims), 1), max(int(n_nodes), 1)
    lanes = 1
    while lanes * 2 <= SIM_LANES and -(-n_sims // (lanes * 2)) >= multiprocessors:
        lanes *= 2
    blocks = -(-n_sims // lanes)
    capacity = int(multiprocessors) * int(warps_per_multiprocessor) * 32
    group = max(32, min(int(max_threads), capacity // blocks // 32 * 32))
    per_sim = max(1, group // lanes)
    node_parts = min(n_nodes, per_sim)
    return lanes, node_parts, max(1, per_sim // node_parts)


def choose_mapping(n_sims: int, n_nodes: int, *, occupancy: tuple[int, int] | None,
                   split_occupancy: tuple[int, int] | None = None, mapping: str | None = None,
                   node_parts: int | None = None,
                   split_geometry: tuple[int, int, int] | None = None,
                   max_threads: int = SPLIT_MAX_THREADS) -> Mapping:
    """The step kernel's mapping: ``mapping`` ("lanes", "split") or, None, the lanes one
    unless the shard leaves multiprocessors without a block (``occupancy``: multiprocessors
    and resident warps per multiprocessor of the lanes kernel, None on a CPU device, which
    keeps the lanes one; ``split_occupancy`` the split kernel's, if it differs).
    ``node_parts`` and ``split_geometry`` (lanes, node_parts, conn_parts) fix the geometry.

    Examples
    --------
    >>> choose_mapping(64, 80, occupancy=(132, 32)).kernel
    'simulate_split'
    >>> choose_mapping(8192, 80, occupancy=(132, 32)).node_parts
    16
    """
    if mapping not in (None, "lanes", "split"):
        raise ValueError(f"mapping must be 'lanes', 'split' or None, got {mapping!r}")
    lane_blocks = -(-int(n_sims) // SIM_LANES)
    if mapping is None:
        mapping = "split" if occupancy is not None and lane_blocks < occupancy[0] else "lanes"
    if mapping == "lanes":
        parts = node_parts or (1 if occupancy is None else choose_node_parts(n_sims,
                                                                             *occupancy))
        return Mapping("simulate_shard", SIM_LANES * parts, lane_blocks, SIM_LANES, parts)
    lanes, parts, conn = split_geometry or choose_split(
        n_sims, n_nodes, *(split_occupancy or occupancy or (1, 1)), max_threads=max_threads)
    if lanes * parts * conn > max_threads:
        raise ValueError(f"split geometry {lanes} x {parts} x {conn} exceeds the kernel's "
                         f"{max_threads} threads per block")
    return Mapping("simulate_split", lanes * parts * conn, -(-int(n_sims) // lanes), lanes,
                   parts, conn)
