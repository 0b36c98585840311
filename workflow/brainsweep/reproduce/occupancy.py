"""GPU occupancy of the CUDA step kernel for a shard of P simulations (poster Fig. 2b).

What the figure calls *occupancy* is computed, not sampled by a profiler:

    occupancy(P) = resident warps the launch can keep on the device at once
                   / (multiprocessors × maximum resident warps per multiprocessor)

where the launch has ``ceil(P / 32)`` blocks of ``32 · p`` threads (``p`` threads per
simulation, as the cuda target chooses them), and a multiprocessor holds as many blocks as
its registers, its thread slots and its block slots allow (the CUDA occupancy calculation;
the kernel uses no shared memory). For a launch that fills the device this is the
*theoretical occupancy* of the kernel (its registers per thread and block size); below that it
is the theoretical occupancy times the fraction of the device's resident-block slots the P
simulations fill. It is an upper bound of what a profiler would report as achieved
occupancy.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["LaunchOccupancy", "kernel_launch", "launch_occupancy"]

SIM_LANES = 32  # simulations per block (one warp's worth), as in the cuda target
REGISTER_UNIT = 256  # registers are allocated per warp in units of 256


@dataclass(frozen=True)
class LaunchOccupancy:
    """The occupancy of one launch and the limits that set it."""

    n_sims: int
    parts: int  # threads per simulation
    registers: int  # per thread
    block_threads: int
    blocks: int
    blocks_per_multiprocessor: int  # resident at once
    limited_by: str  # registers, threads or blocks
    theoretical: float  # resident warps per multiprocessor / maximum, for a full device
    waves: float  # blocks / (blocks_per_multiprocessor × multiprocessors)
    occupancy: float  # resident warps of this launch / the device's warp slots

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


def launch_occupancy(n_sims: int, *, parts: int, registers: int, multiprocessors: int,
                     registers_per_multiprocessor: int = 65536,
                     max_threads_per_multiprocessor: int = 2048,
                     max_blocks_per_multiprocessor: int = 32, warp_size: int = 32
                     ) -> LaunchOccupancy:
    """Occupancy of the step kernel's launch for ``n_sims`` simulations.

    Examples
    --------
    H200 (132 multiprocessors), 64 registers, 4 threads per simulation: 8 blocks of 128
    threads fit a multiprocessor by registers (32 of its 64 warps), so a full device is at
    50 %: 1056 blocks (33 792 simulations) fill it; 1024 simulations (32 blocks) fill 32 of
    its 1056 block slots.

    >>> full = launch_occupancy(33792, parts=4, registers=64, multiprocessors=132)
    >>> full.blocks_per_multiprocessor, full.limited_by, full.theoretical, full.occupancy
    (8, 'registers', 0.5, 0.5)
    >>> round(launch_occupancy(1024, parts=4, registers=64, multiprocessors=132).occupancy, 4)
    0.0152
    """
    if n_sims < 1 or parts < 1 or registers < 1:
        raise ValueError("n_sims, parts and registers must be positive")
    warps_per_block = parts * SIM_LANES // warp_size
    block_threads = parts * SIM_LANES
    per_warp = math.ceil(registers * warp_size / REGISTER_UNIT) * REGISTER_UNIT
    limits = {
        "registers": registers_per_multiprocessor // (per_warp * warps_per_block),
        "threads": max_threads_per_multiprocessor // block_threads,
        "blocks": max_blocks_per_multiprocessor,
    }
    limited_by = min(limits, key=limits.get)
    per_multiprocessor = limits[limited_by]
    if per_multiprocessor < 1:
        raise ValueError(f"a block of {block_threads} threads at {registers} registers does "
                         f"not fit a multiprocessor")
    max_warps = max_threads_per_multiprocessor // warp_size
    blocks = math.ceil(n_sims / SIM_LANES)
    slots = per_multiprocessor * multiprocessors
    resident = min(blocks, slots) * warps_per_block
    return LaunchOccupancy(
        n_sims=n_sims, parts=parts, registers=registers, block_threads=block_threads,
        blocks=blocks, blocks_per_multiprocessor=per_multiprocessor, limited_by=limited_by,
        theoretical=per_multiprocessor * warps_per_block / max_warps,
        waves=blocks / slots, occupancy=resident / (max_warps * multiprocessors))


def kernel_launch(source: str, n_sims: int, *, device: str | None = None) -> dict[str, int]:
    """Registers per thread of the compiled step kernel and the threads per simulation the
    cuda target would launch ``n_sims`` simulations with (its own choice, same module)."""
    import pycuda.compiler as compiler
    import pycuda.driver as driver

    from brainsweep.backends.cuda_target import (
        CudaTarget,
        _context,
        _module,
        choose_node_parts,
        device_ordinal,
        resident_warps,
    )

    ordinal = device_ordinal(device)
    context = _context(driver, ordinal)
    context.push()
    try:
        function = _module(compiler, ordinal, source, CudaTarget.max_registers).get_function(
            "simulate_shard")
        handle = driver.Context.get_device()
        attribute = driver.device_attribute
        multiprocessors = handle.get_attribute(attribute.MULTIPROCESSOR_COUNT)
        per_sm = handle.get_attribute(attribute.MAX_REGISTERS_PER_MULTIPROCESSOR)
        parts = CudaTarget.node_parts or choose_node_parts(
            n_sims, multiprocessors,
            resident_warps(function.num_regs, registers_per_multiprocessor=per_sm))
        return {"registers": int(function.num_regs), "parts": int(parts),
                "local_bytes": int(function.local_size_bytes),
                "multiprocessors": int(multiprocessors), "registers_per_multiprocessor": per_sm,
                "max_threads_per_multiprocessor": handle.get_attribute(
                    attribute.MAX_THREADS_PER_MULTIPROCESSOR),
                "max_blocks_per_multiprocessor": handle.get_attribute(
                    attribute.MAX_BLOCKS_PER_MULTIPROCESSOR)}
    finally:
        driver.Context.pop()
