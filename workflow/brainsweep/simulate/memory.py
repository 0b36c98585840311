"""Host memory of a planned shard: what it needs by part, what the machine has, and the
refusal (with the numbers) of a shard that cannot fit. Part of the engine: the shard stage
(:mod:`brainsweep.simulate_stage`) checks every shard with it before anything runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from brainsweep.errors import PlanError
from brainsweep.network.plan import ShardPlan

__all__ = ["HostMemory", "available_memory_bytes", "check_host_memory", "host_memory"]


@dataclass(frozen=True)
class HostMemory:
    """Host bytes one shard needs, by part (see :func:`host_memory`)."""

    outputs: int  # every simulation's BOLD: the kernel's array and the float32 copy saved
    working: int  # state, delay history and tables of the simulations that run at once
    tables: int  # connection lists, delays and constants shared by the shard
    concurrent: int  # simulations that run at once

    @property
    def total(self) -> int:
        return self.outputs + self.working + self.tables


def host_memory(plan: ShardPlan, *, concurrent: int,
                history_slots: int | None = None) -> HostMemory:
    """Host bytes of a shard: all outputs plus the working set of ``concurrent`` simulations.

    A CPU target runs ``concurrent`` simulations at a time (its threads), each holding its
    state, a ring buffer of twice ``history_slots`` (default: the plan's horizon; the Numba
    kernel sizes it from the longest tract, weighted or not) so that a delayed read never
    wraps, and its own (N, N) delay and weight tables; every simulation's BOLD output stays
    in memory until the shard is saved, once as computed and once as the float32 array
    written. For a GPU target the working set lives on the device, so this over-counts
    the host by the working set of ``concurrent`` simulations: a bound, not a guess.
    """
    concurrent = max(1, min(int(concurrent), plan.n_sims))
    slots = plan.horizon if history_slots is None else max(int(history_slots), plan.horizon)
    _, _, bold_frames = plan.frames
    outputs = plan.n_sims * bold_frames * plan.n_nodes * (plan.real_bytes + 4)
    per_sim = (plan.simulation_bytes(2 * slots)
               - bold_frames * plan.n_nodes * plan.real_bytes  # outputs counted above
               + plan.n_nodes * plan.n_nodes * (4 + plan.real_bytes))
    return HostMemory(outputs=int(outputs), working=int(concurrent * per_sim),
                      tables=int(plan.table_bytes()), concurrent=concurrent)


def available_memory_bytes() -> int | None:
    """Memory the kernel says is available to start new work (``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_host_memory(plan: ShardPlan, available: int, *, concurrent: int,
                      history_slots: int | None = None, where: str = "this host") -> HostMemory:
    """Refuse, with the numbers, a shard whose :func:`host_memory` exceeds ``available``.

    Raises
    ------
    PlanError
        The bytes needed by part, the bytes available, and how many simulations would fit.
    """
    need = host_memory(plan, concurrent=concurrent, history_slots=history_slots)
    slots = plan.horizon if history_slots is None else max(int(history_slots), plan.horizon)
    if need.total <= available:
        return need
    per_output = need.outputs / max(plan.n_sims, 1)
    room = available - need.tables - need.working
    fit = max(0, int(room // per_output)) if per_output > 0 and room > 0 else 0
    raise PlanError(
        f"shard of {plan.n_sims} simulations needs {_mib(need.total)} of host memory but "
        f"{where} allows {_mib(available)}: outputs {_mib(need.outputs)} ({plan.n_sims} x "
        f"{plan.frames[2]} BOLD frames x {plan.n_nodes} nodes), working set "
        f"{_mib(need.working)} ({need.concurrent} simulation(s) at once, history of "
        f"{slots} slots), tables {_mib(need.tables)}; at most {fit} simulations fit: "
        f"use more shards (shards.count / shards.size) or give the job more memory "
        f"(snakemake --set-resources simulate_shard:mem_mb=...)")


def _mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB ({n:.0f} B)"
