"""A shard in the GPU kernels' device layouts, and the kernels' outputs back in the caller's.

The kernels (``kernels/templates/gpu``) keep every array with the simulation index fastest
(``[var][node][sim]``, history ``[cvar][slot][node][sim]`` per speed group), so that the 32
threads of a warp, which hold 32 consecutive simulations, read and write 32 consecutive
words. :func:`layout_shard` lays a shard out that way, in the order and with the history
depths of :func:`brainsweep.network.plan.plan_shard`; :func:`collect_outputs` turns the
device arrays back into the ``[sim, time, ...]`` arrays every target returns, in the
caller's order. :func:`device_arrays` names what goes to the device: the kernels'
parameters of the same names (:mod:`brainsweep.backends.gpu.signatures`).

Delays. A shard may sweep the conduction speed. The host computes
``rint(length / speed / dt)`` in float64 (the same operations as the Numba kernel and the
oracle) once per *distinct* speed of the shard and passes one delay list per speed,
``delays[D][K]`` over the K non-zero connections, with a per-simulation group index
``delay_set[S]``. Computing them in the kernel would cost a double division per connection
per step; a per-simulation table would cost ``S·N²`` words where the planner's shards hold
few speeds. When the threads of a warp share a speed (the planner orders simulations so),
their delay reads are one broadcast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainsweep.backends.base import ShardInputs, ShardOutputs
from brainsweep.codegen.channels import history_channels
from brainsweep.errors import InputError
from brainsweep.network.delays import delay_tables
from brainsweep.network.plan import ShardPlan, plan_shard

__all__ = ["DOWNLOADED", "UPLOADED", "DeviceShard", "collect_outputs", "connection_lists",
           "device_arrays", "layout_shard", "output_shapes", "sim_major"]

# The shard's arrays the kernels read, uploaded as they are; the others are allocated on the
# device (device_arrays) and those the host reads back are DOWNLOADED.
UPLOADED = ("state", "params", "row_start", "sources", "weights", "delays", "delay_set",
            "group_first", "group_size", "group_horizon", "group_offset", "noise", "balloon",
            "sim_key")
DOWNLOADED = ("out_raw", "out_tavg", "out_bold", "diverged")


@dataclass(frozen=True)
class DeviceShard:
    """A shard's host arrays in the device layouts (simulation index fastest, plan order).

    Simulations are in the order of :attr:`plan` (sorted by speed, see
    :mod:`brainsweep.network.plan`); :func:`collect_outputs` puts them back. ``frames_*`` are
    the monitors' sample counts.
    """

    n_sims: int
    n_nodes: int
    n_states: int
    n_cvars: int
    horizon: int  # history slots of the slowest speed: its longest delay + 1
    frames_raw: int
    frames_tavg: int
    frames_bold: int
    real: np.dtype
    history_real: np.dtype  # the history's storage type: real, or float16 (history_dtype)
    plan: ShardPlan
    params: np.ndarray  # (P, S) float64
    regional: np.ndarray  # (R, N, S) float64: the spec's regional parameters (R = 0: none)
    row_start: np.ndarray  # (N + 1,) int32: node i's connections row_start[i]..[i + 1] - 1
    sources: np.ndarray  # (K,) int32: source node of each non-zero weight
    weights: np.ndarray  # (K,) real: the non-zero weights, ascending source per target
    # (N,) real: sum_j w_ij of the real weights, added in float64 in ascending j (what a
    # factorised constant part reads, codegen.channels)
    row_sums: np.ndarray
    delays: np.ndarray  # (D, K) int32, one delay list per distinct speed
    delay_set: np.ndarray  # (S,) int32: each simulation's speed group
    group_first: np.ndarray  # (D,) int32
    group_size: np.ndarray  # (D,) int32
    group_horizon: np.ndarray  # (D,) int32
    group_offset: np.ndarray  # (D,) int64 element offset of each group's history block
    state: np.ndarray  # (V, N, S) real: the initial state
    sim_key: np.ndarray  # (S,) uint32: low word of the global simulation index
    seed: int  # low word of the seed
    noise: np.ndarray  # (V,) float64
    balloon: np.ndarray  # (9,) float64

    @property
    def history_size(self) -> int:
        """Elements of the history buffer: every group's ``C x H_g x N x S_g`` block."""
        return int(np.sum(self.n_cvars * self.group_horizon.astype(np.int64) * self.n_nodes
                          * self.group_size))

    def nbytes(self) -> dict[str, int]:
        """Device bytes by part, as :class:`~brainsweep.network.plan.ShardPlan` counts them."""
        return self.plan.nbytes()

    def check_fits(self, free_bytes: int, device: str) -> None:
        """Refuse, with the numbers, a shard larger than the device's free memory."""
        self.plan.check_fits(free_bytes, device)


def connection_lists(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-zero weights as lists per target node: ``(row_start, sources, flat index)``.

    Node i's connections are ``row_start[i] .. row_start[i + 1] - 1``, sources ascending, so
    the kernels add the same terms in the same order as a dense loop over j (whose zero
    weights add exactly zero); ``flat index`` picks them out of any (N, N) matrix.
    """
    targets, sources = np.nonzero(np.asarray(weights))  # row-major: ascending j per row i
    row_start = np.searchsorted(targets, np.arange(weights.shape[0] + 1)).astype(np.int32)
    return row_start, sources.astype(np.int32), targets * weights.shape[1] + sources


def layout_shard(spec, inputs: ShardInputs) -> DeviceShard:
    """Lay a shard out for the device kernels: plan order, ``[var][node][sim]`` arrays."""
    real = np.dtype(spec.dtype)
    history_real = np.dtype(spec.history_storage)
    n_sims, n_params = inputs.params.shape
    n_nodes = inputs.weights.shape[0]
    if n_params != len(spec.parameter_names):
        raise InputError(f"the parameter table has {n_params} columns, the kernel expects "
                         f"{len(spec.parameter_names)}: {spec.parameter_names}", field="params")
    if inputs.n_steps >= 2**31 - 1:
        raise InputError(f"n_steps ({inputs.n_steps}) must fit in 32 bits", field="n_steps")

    def frames(period: int) -> int:
        return inputs.n_steps // period if period > 0 else 0

    counts = (frames(inputs.raw_period), frames(inputs.tavg_period), frames(inputs.bold_period))
    weights = np.asarray(inputs.weights, dtype=np.float64)
    plan = inputs.plan
    if plan is None:  # the Python API's callers do not plan; the shard stage has planned
        plan = plan_shard(weights, inputs.lengths, inputs.speeds, dt=inputs.dt,
                          n_states=len(spec.model.states), n_cvars=len(history_channels(spec)),
                          n_params=n_params, sim_index=inputs.sim_index, dtype=spec.dtype,
                          history_dtype=spec.history_storage, frames=counts,
                          n_regional=len(spec.regional))
    elif ((plan.n_sims, plan.n_nodes, plan.frames, plan.n_regional)
          != (n_sims, n_nodes, counts, len(spec.regional))
          or not np.array_equal(plan.sim_index, inputs.sim_index[plan.order])
          or not np.array_equal(plan.speeds, inputs.speeds[plan.order])):
        raise InputError(f"the shard's plan ({plan.n_sims} simulations, frames {plan.frames}) "
                         f"was made for other inputs ({n_sims} simulations, frames {counts})",
                         field="plan")
    order = plan.order
    regional = np.zeros((0, n_nodes, n_sims))
    if spec.regional:
        if inputs.regional is None or inputs.regional.shape != (n_sims, len(spec.regional),
                                                                 n_nodes):
            got = None if inputs.regional is None else inputs.regional.shape
            raise InputError(f"the kernel reads {list(spec.regional)} per region: the "
                             f"regional table must be (S, R, N) = "
                             f"{(n_sims, len(spec.regional), n_nodes)}, got {got}",
                             field="regional")
        regional = np.asarray(inputs.regional, dtype=np.float64)[order].transpose(1, 2, 0)
    delays, _ = delay_tables(inputs.lengths, plan.group_speeds, inputs.dt)
    row_start, sources, flat = connection_lists(weights)
    if plan.horizon * n_nodes >= 2**31:  # the kernels index (slot, node) rows in 32 bits
        raise InputError(f"{plan.horizon} history slots x {n_nodes} nodes overflow 32-bit "
                         f"indices; raise dt or the slowest speed", field="speed")
    initial = np.asarray(inputs.initial, dtype=np.float64)[order]
    device_weights = np.ascontiguousarray(weights.reshape(-1)[flat].astype(real))
    row_sums = np.bincount(np.repeat(np.arange(n_nodes), np.diff(row_start)),
                           weights=device_weights.astype(np.float64), minlength=n_nodes)
    return DeviceShard(
        n_sims=n_sims, n_nodes=n_nodes, n_states=plan.n_states, n_cvars=plan.n_cvars,
        horizon=plan.horizon, frames_raw=counts[0], frames_tavg=counts[1],
        frames_bold=counts[2], real=real, history_real=history_real, plan=plan,
        params=np.ascontiguousarray(np.asarray(inputs.params, dtype=np.float64)[order].T),
        regional=np.ascontiguousarray(regional),
        row_start=row_start, sources=sources,
        weights=device_weights, row_sums=np.ascontiguousarray(row_sums.astype(real)),
        delays=np.ascontiguousarray(delays.reshape(delays.shape[0], -1)[:, flat]),
        delay_set=np.repeat(np.arange(plan.n_groups, dtype=np.int32), plan.group_size),
        group_first=plan.group_first.astype(np.int32),
        group_size=plan.group_size.astype(np.int32),
        group_horizon=plan.group_horizon.astype(np.int32),
        group_offset=plan.history_offsets(),
        # real(initial) as the Numba kernel rounds it, then simulation index fastest
        state=np.ascontiguousarray(initial.astype(real).transpose(1, 2, 0)),
        sim_key=(plan.sim_index & 0xFFFFFFFF).astype(np.uint32),
        seed=int(inputs.seed) & 0xFFFFFFFF,
        noise=np.ascontiguousarray(inputs.noise, dtype=np.float64),
        balloon=np.ascontiguousarray(inputs.balloon, dtype=np.float64),
    )


def collect_outputs(shard: DeviceShard, out_raw: np.ndarray, out_tavg: np.ndarray,
                    out_bold: np.ndarray, diverged: np.ndarray, timings: dict[str, float]
                    ) -> ShardOutputs:
    """Device-layout outputs → ``[sim, time, (var,) node]``, diverged simulations masked.

    The kernels stop a simulation at its first non-finite state, as the Numba kernel does;
    its partial outputs are masked here, whole, rather than in the kernel. Simulations come
    back in the caller's order, undoing the plan's sort by speed.
    """
    s, n, v = shard.n_sims, shard.n_nodes, shard.n_states
    flags = np.asarray(diverged).reshape(s) != 0
    restore = np.argsort(shard.plan.order)  # plan order back to the caller's rows
    raw = sim_major(out_raw.reshape(shard.frames_raw, v, n, s), restore, flags)
    tavg = sim_major(out_tavg.reshape(shard.frames_tavg, v, n, s), restore, flags)
    bold = sim_major(out_bold.reshape(shard.frames_bold, n, s), restore, flags)
    return ShardOutputs(raw=raw, tavg=tavg, bold=bold, diverged=flags[restore],
                        timings=timings)


_TILE = 64  # rows and columns of one transposed tile (16 KiB of float32)


def sim_major(device: np.ndarray, restore: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """``device[..., plan sim]`` as a new ``[caller sim, ...]`` array, diverged rows NaN.

    A band of device rows (the simulation index fastest) at a time: its columns taken in
    the caller's order (contiguous reads; skipped when the plan kept the caller's order),
    then transposed tile by tile into the result's rows. Taking
    ``np.moveaxis(device, -1, 0)[restore]`` whole instead reads every element with the
    stride of a device row, a cache line (and in large shards a page) per element: a 7 GB
    temporal average spent ~45 s there.

    Examples
    --------
    >>> device = np.arange(12.0).reshape(2, 2, 3)  # [time][node][sim]
    >>> sim_major(device, np.array([2, 0, 1]), np.array([False, True, False]))[:, :, 0]
    array([[ 2.,  8.],
           [ 0.,  6.],
           [nan, nan]])
    """
    s = device.shape[-1]
    rows = device.reshape(-1, s)  # a view: the device layout is contiguous
    out = np.empty((s, rows.shape[0]), dtype=device.dtype)
    if out.size:
        keep = bool(np.array_equal(restore, np.arange(s)))
        for begin in range(0, rows.shape[0], _TILE):
            end = begin + _TILE
            band = rows[begin:end] if keep else rows[begin:end].take(restore, axis=1)
            for first in range(0, s, _TILE):
                out[first:first + _TILE, begin:end] = band[:, first:first + _TILE].T
        out[flags[restore]] = np.nan
    return out.reshape(s, *device.shape[:-1])


def output_shapes(shard: DeviceShard) -> dict[str, tuple[int, ...]]:
    """Device-layout shapes of the outputs (at least one element, for the allocators)."""
    s, n, v = shard.n_sims, shard.n_nodes, shard.n_states
    return {"out_raw": (shard.frames_raw, v, n, s), "out_tavg": (shard.frames_tavg, v, n, s),
            "out_bold": (shard.frames_bold, n, s)}


def device_arrays(shard: DeviceShard) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and type of every device array the kernels write that is not uploaded: the
    history, the monitors' running sums, the outputs and the divergence flags."""
    s, n, v = shard.n_sims, shard.n_nodes, shard.n_states
    arrays = {"history": ((shard.history_size,), shard.history_real),
              "tavg_sum": ((v, n, s), shard.real), "drive_sum": ((n, s), shard.real),
              "hemo": ((4, n, s), np.dtype(np.float64))}
    arrays.update({name: (shape, shard.real) for name, shape in output_shapes(shard).items()})
    arrays["diverged"] = ((s,), np.dtype(np.int32))
    return arrays
