"""Launch geometry of the GPU kernels: steps per launch, block shape, threads per simulation.

A block of the step kernel holds :data:`SIM_LANES` simulations times ``p`` threads per
simulation, each advancing every ``p``-th node (:func:`choose_node_parts` fills the device in
one wave). The tuning and its measurements are in ``docs/perf-notes.md``.
"""

from __future__ import annotations

__all__ = ["SIM_LANES", "STEPS_PER_LAUNCH", "THREADS_PER_BLOCK", "choose_node_parts",
           "launch_chunks", "resident_warps"]

STEPS_PER_LAUNCH = 4096  # steps per kernel launch: progress reports, no watchdog, no cost
THREADS_PER_BLOCK = 128  # of the one-thread-per-simulation kernels (initialise, philox)
SIM_LANES = 32  # simulations per block of the step kernel: one warp's worth


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
