"""Shard plans: history depth, simulation order, device bytes, and what fits a device.

A GPU shard is memory-bound on its delayed reads: every connection of every step reads one
value of the delay history. The plan fixes the three things that decide how many bytes that
costs and whether the shard fits at all:

* **order** — simulations sorted by conduction speed (stable, so equal speeds keep their
  order, and each keeps its global index, which keys its noise). The 32 threads of a warp then
  share one delay matrix, read the same delay entry (one broadcast) and the same history row
  (32 consecutive words: one coalesced line).
* **history depth** — the simulations of one speed form a *group*, and each group's ring
  buffer holds ``max delay + 1`` steps of that speed alone, counted over the connections that
  are read (non-zero weights). The shard's horizon is that of its slowest speed; a fast group
  does not pay for it.
* **bytes** — every device array per simulation (state, history, parameters, monitor sums,
  haemodynamics, outputs) and the shared tables, so that a shard larger than the device is
  refused before anything is allocated, with the numbers.

The CUDA and OpenCL targets lay their device arrays out from this plan, so the byte counts
here are the allocations they make.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainsweep.errors import PlanError
from brainsweep.network.delays import delay_horizon

__all__ = [
    "WARP_SIZE",
    "ShardPlan",
    "plan_shard",
    "speed_order",
]

WARP_SIZE = 32  # threads that execute together on NVIDIA GPUs (AMD: 64, still a multiple)
_HEMO_VALUES = 4  # balloon state s, f, v, q per node, always float64
_PER_SIM_INTS = 3  # sim_key, delay_set and the diverged flag: one 32-bit word each
_GROUP_TABLE_BYTES = 4 + 4 + 4 + 8  # first, size, horizon (int32) and offset (int64)


def speed_order(speeds: np.ndarray) -> np.ndarray:
    """The stable permutation that sorts simulations by speed (plan position → input row).

    Examples
    --------
    >>> speed_order(np.array([6.0, 3.0, 6.0, 3.0])).tolist()
    [1, 3, 0, 2]
    """
    return np.argsort(np.asarray(speeds, dtype=np.float64), kind="stable")


@dataclass(frozen=True, eq=False)
class ShardPlan:
    """How one shard is laid out on a device, and what it costs.

    Arrays are in *plan order* (sorted by speed); ``order[k]`` is the input row of plan
    position ``k``. Byte counts are exact device allocations of the CUDA/OpenCL runners.

    Attributes
    ----------
    n_sims, n_nodes, n_states, n_cvars, n_params
        Shard size, network size, state and coupled variables, kernel parameter columns.
    n_regional
        Parameters given per region (``KernelSpec.regional``): N doubles each per simulation.
    n_connections
        Connections read each step (non-zero weights).
    real_bytes, history_bytes
        Bytes of one value of the kernel's real type and of one history value.
    frames
        ``(raw, tavg, bold)`` samples per simulation.
    order, sim_index, speeds
        Input row, global simulation index and speed of each plan position.
    group_speeds, group_first, group_size, group_horizon
        One entry per distinct speed: the speed, its first plan position, its number of
        simulations and its history slots (longest delay + 1).
    """

    n_sims: int
    n_nodes: int
    n_states: int
    n_cvars: int
    n_params: int
    n_connections: int
    real_bytes: int
    history_bytes: int
    frames: tuple[int, int, int]
    order: np.ndarray
    sim_index: np.ndarray
    speeds: np.ndarray
    group_speeds: np.ndarray
    group_first: np.ndarray
    group_size: np.ndarray
    group_horizon: np.ndarray
    n_regional: int = 0  # parameters given per region: an (N,) double table each

    @property
    def horizon(self) -> int:
        """History slots of the shard's slowest speed (the deepest ring buffer)."""
        return int(self.group_horizon.max(initial=1))

    @property
    def n_groups(self) -> int:
        """Distinct speeds, i.e. delay matrices, of the shard."""
        return int(self.group_speeds.size)

    def history_offsets(self) -> np.ndarray:
        """(D,) int64 element offset of each group's ``[C][H_g][N][S_g]`` history block."""
        sizes = self.n_cvars * self.group_horizon * self.n_nodes * self.group_size
        return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    def simulation_bytes(self, horizon: int) -> int:
        """Device bytes of one simulation whose history holds ``horizon`` slots."""
        n, v, r = self.n_nodes, self.n_states, self.real_bytes
        raw, tavg, bold = self.frames
        return (v * n * r  # state
                + self.n_cvars * horizon * n * self.history_bytes  # delay history
                + self.n_params * 8  # parameters, double
                + self.n_regional * n * 8  # per-region parameters, double
                + _PER_SIM_INTS * 4
                + v * n * r + n * r  # temporal-average and BOLD-drive running sums
                + _HEMO_VALUES * n * 8  # balloon state, double
                + (raw * v * n + tavg * v * n + bold * n) * r)  # outputs

    def table_bytes(self) -> int:
        """Bytes shared by the shard: connection lists, delays, group tables, constants."""
        k = self.n_connections
        return (k * self.real_bytes  # weights of the non-zero connections
                + k * 4 + (self.n_nodes + 1) * 4  # their sources and each node's row start
                + self.n_groups * k * 4  # one delay list per speed
                + self.n_groups * _GROUP_TABLE_BYTES
                + self.n_states * 8 + 9 * 8)  # noise intensities, balloon constants

    def nbytes(self) -> dict[str, int]:
        """Device bytes by part: ``history``, ``other`` (per-simulation rest), ``tables``."""
        history = int(self.n_cvars * self.n_nodes * self.history_bytes
                      * np.dot(self.group_horizon, self.group_size))
        everything = sum(self.simulation_bytes(int(h)) * int(s)
                         for h, s in zip(self.group_horizon, self.group_size, strict=True))
        return {"history": history, "other": int(everything) - history,
                "tables": self.table_bytes()}

    @property
    def total_bytes(self) -> int:
        """All device bytes of the shard."""
        return sum(self.nbytes().values())

    @property
    def bytes_per_sim(self) -> float:
        """Mean device bytes per simulation, shared tables excluded."""
        parts = self.nbytes()
        return (parts["history"] + parts["other"]) / max(self.n_sims, 1)

    def warps_sharing_delays(self, warp: int = WARP_SIZE) -> float:
        """Fraction of warps whose simulations all share one speed (1.0: all coalesced)."""
        if self.n_sims == 0:
            return 1.0
        starts = np.arange(0, self.n_sims, warp)
        ends = np.minimum(starts + warp, self.n_sims) - 1
        return float(np.mean(self.speeds[starts] == self.speeds[ends]))

    def largest_shard(self, device_bytes: int) -> int:
        """The most simulations that fit in ``device_bytes`` whatever their speeds.

        Sized at the slowest speed's bytes per simulation, so any shard of this size drawn
        from the same grid fits.
        """
        worst = self.simulation_bytes(self.horizon)
        return max(0, (int(device_bytes) - self.table_bytes()) // worst)

    def check_fits(self, device_bytes: int, device: str = "the device") -> None:
        """Raise :class:`~brainsweep.errors.PlanError`, with the numbers, if it cannot fit."""
        need = self.total_bytes
        if need <= device_bytes:
            return
        parts = self.nbytes()
        raise PlanError(
            f"the shard needs {_size(need)} on {device} but only {_size(device_bytes)} are "
            f"available: {self.n_sims} simulations x {_size(self.bytes_per_sim)} (history "
            f"{_size(parts['history'])}: {self.n_cvars} coupled variable(s) x up to "
            f"{self.horizon} slots x {self.n_nodes} nodes x {self.history_bytes} B) + "
            f"{_size(parts['tables'])} of tables; at most {self.largest_shard(device_bytes)} "
            f"simulations fit: use smaller shards (shards.size) or a faster slowest speed")


def _size(n: float) -> str:
    """Bytes in GiB, as device memory is quoted, and exactly (small test devices too)."""
    return f"{n / 2**30:.2f} GiB ({n:.0f} B)"


def plan_shard(
    weights: np.ndarray,
    lengths: np.ndarray,
    speeds: np.ndarray,
    *,
    dt: float,
    n_states: int,
    n_cvars: int,
    n_params: int,
    sim_index: np.ndarray | None = None,
    dtype: str = "float32",
    history_dtype: str | None = None,
    frames: tuple[int, int, int] = (0, 0, 0),
    device_bytes: int | None = None,
    device: str = "the device",
    n_regional: int = 0,
) -> ShardPlan:
    """Plan one shard: order by speed, size each speed group's history, count the bytes.

    Parameters
    ----------
    weights, lengths
        (N, N) connectome; weights[i, j] from j to i, lengths in mm.
    speeds
        (S,) conduction speed of each simulation, m/s (= mm/ms).
    dt
        Integration step, ms.
    n_states, n_cvars, n_params
        The kernel's state variables, coupled variables and parameter columns.
    sim_index
        (S,) global simulation indices; default ``0..S-1``.
    dtype, history_dtype
        The kernel's real type and the history's storage type (default: ``dtype``).
    frames
        ``(raw, tavg, bold)`` output samples per simulation.
    n_regional
        Parameters the kernel reads per region (``len(KernelSpec.regional)``).
    device_bytes
        If given, refuse with :class:`~brainsweep.errors.PlanError` a plan that does not fit.

    Examples
    --------
    >>> w = np.array([[0.0, 1.0], [1.0, 0.0]]); lengths = np.full((2, 2), 10.0)
    >>> plan = plan_shard(w, lengths, np.array([2.0, 1.0, 2.0]), dt=0.1, n_states=1,
    ...                   n_cvars=1, n_params=3)
    >>> plan.order.tolist(), plan.group_horizon.tolist(), plan.horizon
    ([1, 0, 2], [101, 51], 101)
    """
    weights = np.asarray(weights)
    speeds = np.asarray(speeds, dtype=np.float64).reshape(-1)
    n_sims, n_nodes = speeds.size, weights.shape[0]
    if np.any(~np.isfinite(speeds)) or np.any(speeds <= 0):
        raise PlanError("conduction speeds must be positive finite numbers (m/s)")
    indices = np.arange(n_sims, dtype=np.int64) if sim_index is None else \
        np.asarray(sim_index, dtype=np.int64).reshape(-1)
    if indices.size != n_sims:
        raise PlanError(f"sim_index has {indices.size} entries for {n_sims} simulations")
    order = speed_order(speeds)
    ordered = speeds[order]
    group_speeds, group_first, group_size = np.unique(ordered, return_index=True,
                                                      return_counts=True)
    plan = ShardPlan(
        n_sims=n_sims, n_nodes=n_nodes, n_states=int(n_states), n_cvars=int(n_cvars),
        n_params=int(n_params), n_connections=int(np.count_nonzero(weights)),
        real_bytes=np.dtype(dtype).itemsize,
        history_bytes=np.dtype(history_dtype or dtype).itemsize,
        frames=tuple(int(f) for f in frames), order=order, sim_index=indices[order],
        speeds=ordered, group_speeds=group_speeds,
        group_first=group_first.astype(np.int64), group_size=group_size.astype(np.int64),
        group_horizon=np.array([delay_horizon(weights, lengths, v, dt) for v in group_speeds],
                               dtype=np.int64),
        n_regional=int(n_regional),
    )
    if device_bytes is not None:
        plan.check_fits(device_bytes, device)
    return plan
