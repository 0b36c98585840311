"""The CUDA target: pycuda ``SourceModule``, one warp lane per simulation.

The kernels (``kernels/templates/cuda``) keep every array with the simulation index fastest
(``[var][node][sim]``, history ``[cvar][slot][node][sim]`` per speed group), so that the 32
threads of a warp, which hold 32 consecutive simulations, read and write 32 consecutive
words. The host side here lays the shard out that way, in the order and with the history
depths of :func:`brainsweep.network.plan.plan_shard` (:func:`layout_shard`), runs it in
launches of :data:`STEPS_PER_LAUNCH` steps and turns the device arrays back into the
``[sim, time, ...]`` arrays every target returns, in the caller's order
(:func:`collect_outputs`). The OpenCL target shares these helpers: its kernels use the same
layouts.

Speed. A block of the step kernel holds 32 simulations times ``p`` threads per simulation,
each advancing every ``p``-th node (:func:`choose_node_parts` fills the device in one wave);
only non-zero weights are visited, in batches whose history loads are issued together. The
tuning and its measurements are in ``docs/perf-notes.md``.

Delays. A shard may sweep the conduction speed. The host computes
``rint(length / speed / dt)`` in float64 (the same operations as the Numba kernel and the
oracle) once per *distinct* speed of the shard and passes one delay list per speed,
``delays[D][K]`` over the K non-zero connections, with a per-simulation group index
``delay_set[S]``. Computing them in the kernel would cost a double
division per connection per step; a per-simulation table would cost ``S·N²`` words where the
planner's shards hold few speeds. When the threads of a warp share a speed (the planner
orders simulations so), their delay reads are one broadcast.

pycuda is imported only when a shard runs or availability is asked, so this module imports on
machines without CUDA. The device comes from ``device`` (``"0"``, ``"cuda:1"``) or is the
first one CUDA shows, which ``CUDA_VISIBLE_DEVICES`` selects; the run pushes the device's
primary context and pops it afterwards (no ``pycuda.autoinit``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from brainsweep.backends.base import ShardInputs, ShardOutputs, Target, register
from brainsweep.codegen.generate import source_hash
from brainsweep.codegen.render import CRenderer
from brainsweep.errors import InputError
from brainsweep.network.delays import delay_tables
from brainsweep.network.plan import ShardPlan, plan_shard
from brainsweep.progress import Progress

__all__ = [
    "SIM_LANES",
    "STEPS_PER_LAUNCH",
    "CudaTarget",
    "DEVICE_TABLES",
    "DeviceShard",
    "collect_outputs",
    "connection_lists",
    "choose_node_parts",
    "launch_chunks",
    "layout_shard",
    "philox_sample",
    "resident_warps",
]

STEPS_PER_LAUNCH = 4096  # steps per kernel launch: progress reports, no watchdog, no cost
THREADS_PER_BLOCK = 128  # of the one-thread-per-simulation kernels (initialise, philox)
SIM_LANES = 32  # simulations per block of the step kernel: one warp's worth


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
    row_start: np.ndarray  # (N + 1,) int32: node i's connections row_start[i]..[i + 1] - 1
    sources: np.ndarray  # (K,) int32: source node of each non-zero weight
    weights: np.ndarray  # (K,) real: the non-zero weights, ascending source per target
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
                          n_states=len(spec.model.states), n_cvars=len(spec.model.coupled_states),
                          n_params=n_params, sim_index=inputs.sim_index, dtype=spec.dtype,
                          history_dtype=spec.history_storage, frames=counts)
    elif ((plan.n_sims, plan.n_nodes, plan.frames) != (n_sims, n_nodes, counts)
          or not np.array_equal(plan.sim_index, inputs.sim_index[plan.order])
          or not np.array_equal(plan.speeds, inputs.speeds[plan.order])):
        raise InputError(f"the shard's plan ({plan.n_sims} simulations, frames {plan.frames}) "
                         f"was made for other inputs ({n_sims} simulations, frames {counts})",
                         field="plan")
    order = plan.order
    delays, _ = delay_tables(inputs.lengths, plan.group_speeds, inputs.dt)
    row_start, sources, flat = connection_lists(weights)
    if plan.horizon * n_nodes >= 2**31:  # the kernels index (slot, node) rows in 32 bits
        raise InputError(f"{plan.horizon} history slots x {n_nodes} nodes overflow 32-bit "
                         f"indices; raise dt or the slowest speed", field="speed")
    initial = np.asarray(inputs.initial, dtype=np.float64)[order]
    return DeviceShard(
        n_sims=n_sims, n_nodes=n_nodes, n_states=plan.n_states, n_cvars=plan.n_cvars,
        horizon=plan.horizon, frames_raw=counts[0], frames_tavg=counts[1],
        frames_bold=counts[2], real=real, history_real=history_real, plan=plan,
        params=np.ascontiguousarray(np.asarray(inputs.params, dtype=np.float64)[order].T),
        row_start=row_start, sources=sources,
        weights=np.ascontiguousarray(weights.reshape(-1)[flat].astype(real)),
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


def launch_chunks(n_steps: int, steps_per_launch: int = STEPS_PER_LAUNCH
                  ) -> list[tuple[int, int]]:
    """``[(begin, end), ...]`` step ranges covering ``0..n_steps``."""
    return [(begin, min(begin + steps_per_launch, n_steps))
            for begin in range(0, n_steps, steps_per_launch)]


def collect_outputs(shard: DeviceShard, out_raw: np.ndarray, out_tavg: np.ndarray,
                    out_bold: np.ndarray, diverged: np.ndarray, timings: dict[str, float]
                    ) -> ShardOutputs:
    """Device-layout outputs → ``[sim, time, (var,) node]``, diverged simulations masked.

    The kernels stop a simulation at its first non-finite state, as the Numba kernel does;
    its partial outputs are masked here, whole, rather than in the kernel. Simulations come
    back in the caller's order, undoing the plan's sort by speed.
    """
    s, n, v = shard.n_sims, shard.n_nodes, shard.n_states
    raw = np.moveaxis(out_raw.reshape(shard.frames_raw, v, n, s), -1, 0)
    tavg = np.moveaxis(out_tavg.reshape(shard.frames_tavg, v, n, s), -1, 0)
    bold = np.moveaxis(out_bold.reshape(shard.frames_bold, n, s), -1, 0)
    flags = np.asarray(diverged).reshape(s) != 0
    restore = np.argsort(shard.plan.order)  # plan order back to the caller's rows
    raw, tavg, bold, flags = (np.ascontiguousarray(a[restore]) for a in (raw, tavg, bold, flags))
    for array in (raw, tavg, bold):
        array[flags] = np.nan
    return ShardOutputs(raw=raw, tavg=tavg, bold=bold, diverged=flags, timings=timings)


def output_shapes(shard: DeviceShard) -> dict[str, tuple[int, ...]]:
    """Device-layout shapes of the outputs (at least one element, for the allocators)."""
    s, n, v = shard.n_sims, shard.n_nodes, shard.n_states
    return {"out_raw": (shard.frames_raw, v, n, s), "out_tavg": (shard.frames_tavg, v, n, s),
            "out_bold": (shard.frames_bold, n, s)}


# --- pycuda -----------------------------------------------------------------------------------

_CONTEXTS: dict[int, Any] = {}  # ordinal -> retained primary context (kept alive)
_MODULES: dict[tuple[int, str], Any] = {}  # (ordinal, source hash) -> SourceModule

# Argument types of the kernels, in pycuda's prepared-call spelling (i int, I uint32,
# d double, P pointer); the C signatures are in kernels/templates/cuda/simulate.cu.j2.
# The shard's tables in the order of the kernel's arguments (params .. group_offset).
DEVICE_TABLES = ("params", "row_start", "sources", "weights", "delays", "delay_set", "group_first",
           "group_size", "group_horizon", "group_offset")
_INITIALISE_ARGS = "iiPPPPPPPPPPP"
_SIMULATE_ARGS = "iiiii" + "P" * 10 + "dPIPiiiiPd" + "P" * 9


def _pycuda():
    """``pycuda.driver`` and ``pycuda.compiler``, or InputError saying what is missing."""
    try:
        import pycuda.compiler as compiler
        import pycuda.driver as driver
    except ImportError as error:  # pragma: no cover - depends on the machine
        raise InputError(f"the cuda target needs pycuda ({error}); install brainsweep[cuda]",
                         field="target") from error
    return driver, compiler


def device_ordinal(device: str | int | None) -> int:
    """The CUDA ordinal that ``device`` names: ``None`` (0), ``3``, ``"3"``, ``"cuda:3"``."""
    if device is None or device == "":
        return 0  # CUDA numbers only the devices CUDA_VISIBLE_DEVICES shows
    text = str(device).strip().lower().removeprefix("cuda:").removeprefix("gpu")
    if not text.isdigit():
        raise InputError(f"a CUDA device is an ordinal such as 0 or 'cuda:1', got {device!r}",
                         field="device")
    return int(text)


def _context(driver, ordinal: int):
    if ordinal not in _CONTEXTS:
        driver.init()
        if ordinal >= driver.Device.count():
            raise InputError(f"CUDA device {ordinal} does not exist; "
                             f"{driver.Device.count()} visible", field="device")
        _CONTEXTS[ordinal] = driver.Device(ordinal).retain_primary_context()
    return _CONTEXTS[ordinal]


def _module(compiler, ordinal: int, source: str, max_registers: int | None = None):
    key = (ordinal, source_hash(source), max_registers)
    if key not in _MODULES:
        # The source carries extern "C" on its kernels itself; pycuda's compiler caches the
        # cubin on disk under a hash of the source and options.
        options = ["-lineinfo"]
        if max_registers:
            options.append(f"-maxrregcount={int(max_registers)}")
        _MODULES[key] = compiler.SourceModule(source, no_extern_c=True, options=options)
    return _MODULES[key]


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


def philox_sample(source: str, *, seed: int, sim: np.ndarray, step: np.ndarray,
                  node: np.ndarray, block: np.ndarray, dtype: str,
                  device: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run the generated ``philox_sample`` kernel of ``source`` on a CUDA device.

    Returns the (n, 4) uint32 Philox words of counters ``(step, node, block, 0)`` under keys
    ``(seed, sim)`` and the (n, 4) normals the simulation kernel would draw from them.
    """
    driver, compiler = _pycuda()
    ordinal = device_ordinal(device)
    context = _context(driver, ordinal)
    columns = [np.ascontiguousarray(np.asarray(a) & 0xFFFFFFFF, dtype=np.uint32)
               for a in (sim, step, node, block)]
    n = columns[0].size
    words = np.empty((n, 4), dtype=np.uint32)
    normals = np.empty((n, 4), dtype=np.dtype(dtype))
    context.push()
    try:
        function = _module(compiler, ordinal, source).get_function("philox_sample")
        function(np.int32(n), np.uint32(int(seed) & 0xFFFFFFFF),
                 *(driver.In(c) for c in columns), driver.Out(words), driver.Out(normals),
                 block=(THREADS_PER_BLOCK, 1, 1), grid=(math.ceil(n / THREADS_PER_BLOCK), 1))
        driver.Context.synchronize()
    finally:
        driver.Context.pop()
    return words, normals


@register
class CudaTarget(Target):
    """NVIDIA GPUs through pycuda: one thread per simulation, state in global memory."""

    name = "cuda"
    template_folder = "cuda"
    renderer = CRenderer  # float32: f-suffixed literals and functions (sinf, expf, ...)
    file_suffix = ".cu"
    conda_env = "cuda"
    uses_gpu = True
    main_template = "simulate.cu.j2"
    coupling_sum = "{gx}"  # the sums are scalars, one node at a time
    history_dtypes = ("float16",)  # __half storage through cuda_fp16.h (docs/design.md)
    # Tuning (docs/perf-notes.md): history loads issued together per thread; threads per
    # simulation (None: as many as fill the device once, see choose_node_parts); a register
    # cap for nvcc (None: its own choice). 64 registers let 32 warps share a multiprocessor
    # instead of 21 at nvcc's 92, for a few bytes of spills in sinf's rare slow path:
    # 142 -> 214 M sim-steps/s on the benchmark at P = 32768 on an H200; batches of 4 then
    # gave 245 (8: 206), the fewest registers with enough loads in flight.
    connection_batch: int = 4
    node_parts: int | None = None
    max_registers: int | None = 64

    def context_extras(self, spec) -> dict[str, Any]:
        """``fn`` (math names for the real type), ``sim_lanes`` and ``connection_batch``."""
        return {"fn": dict(self.renderer(dtype=spec.dtype).functions),
                "sim_lanes": SIM_LANES, "connection_batch": int(self.connection_batch)}

    @classmethod
    def available(cls) -> tuple[bool, str]:
        try:
            import pycuda.driver as driver
        except ImportError as error:
            return False, f"pycuda is not installed ({error})"
        try:
            driver.init()
            count = driver.Device.count()
        except Exception as error:  # pycuda raises its own LogicError/RuntimeError kinds
            return False, f"CUDA is not usable here ({error})"
        if count == 0:
            return False, "no CUDA device is visible (CUDA_VISIBLE_DEVICES?)"
        return True, ""

    @classmethod
    def devices(cls) -> list[str]:
        ok, _ = cls.available()
        if not ok:
            return []
        import pycuda.driver as driver

        return [f"cuda:{k}: {driver.Device(k).name()}, "
                f"{driver.Device(k).total_memory() / 2**30:.0f} GiB"
                for k in range(driver.Device.count())]

    def run(self, source: str, spec, inputs: ShardInputs, *, device: str | None = None,
            progress: bool = False) -> ShardOutputs:
        driver, compiler = _pycuda()
        started = time.perf_counter()
        shard = layout_shard(spec, inputs)
        ordinal = device_ordinal(device)
        context = _context(driver, ordinal)
        context.push()
        allocations = []

        def upload(array: np.ndarray):
            allocation = driver.mem_alloc(max(array.nbytes, 1))
            allocations.append(allocation)
            if array.nbytes:
                driver.memcpy_htod(allocation, np.ascontiguousarray(array))
            return allocation

        def empty(shape: tuple[int, ...], dtype) -> tuple[Any, np.ndarray]:
            host = np.empty(shape, dtype=dtype)
            allocation = driver.mem_alloc(max(host.nbytes, 1))
            allocations.append(allocation)
            return allocation, host

        try:
            free, _total = driver.mem_get_info()
            shard.check_fits(free, f"cuda:{ordinal} ({driver.Context.get_device().name()})")
            module = _module(compiler, ordinal, source, self.max_registers)
            compiled = time.perf_counter()
            initialise = module.get_function("initialise_shard")
            initialise.prepare(_INITIALISE_ARGS)
            simulate = module.get_function("simulate_shard")
            simulate.prepare(_SIMULATE_ARGS)

            state = upload(shard.state)
            tables = [upload(getattr(shard, name)) for name in DEVICE_TABLES]
            noise, balloon = upload(shard.noise), upload(shard.balloon)
            sim_key = upload(shard.sim_key)
            history, _ = empty((shard.history_size,), shard.history_real)
            tavg_sum, _ = empty((shard.n_states, shard.n_nodes, shard.n_sims), shard.real)
            drive_sum, _ = empty((shard.n_nodes, shard.n_sims), shard.real)
            hemo, _ = empty((4, shard.n_nodes, shard.n_sims), np.float64)
            outputs = {name: empty(shape, shard.real)
                       for name, shape in output_shapes(shard).items()}
            diverged, diverged_host = empty((shard.n_sims,), np.int32)

            grid = (math.ceil(shard.n_sims / THREADS_PER_BLOCK), 1)
            block = (THREADS_PER_BLOCK, 1, 1)
            groups = tables[5:]  # delay_set and the group tables
            initialise.prepared_call(grid, block, shard.n_sims, shard.n_nodes, *groups, state,
                                     history, tavg_sum, drive_sum, hemo, diverged)
            attribute = driver.device_attribute
            device_handle = driver.Context.get_device()
            parts = self.node_parts or choose_node_parts(
                shard.n_sims, device_handle.get_attribute(attribute.MULTIPROCESSOR_COUNT),
                resident_warps(simulate.num_regs, registers_per_multiprocessor=(
                    device_handle.get_attribute(attribute.MAX_REGISTERS_PER_MULTIPROCESSOR))))
            step_grid = (math.ceil(shard.n_sims / SIM_LANES), 1)
            step_block = (SIM_LANES * parts, 1, 1)
            report = Progress(shard.n_sims * inputs.n_steps, label="cuda") if progress else None
            for begin, end in launch_chunks(inputs.n_steps):
                simulate.prepared_call(
                    step_grid, step_block, shard.n_sims, shard.n_nodes, shard.sources.size,
                    begin, end, *tables, float(inputs.dt), noise, shard.seed, sim_key,
                    int(inputs.raw_period), int(inputs.tavg_period), int(inputs.bold_period),
                    int(max(inputs.bold_substeps, 1)), balloon, float(inputs.dt_bold_s),
                    state, history, tavg_sum, drive_sum, hemo, outputs["out_raw"][0],
                    outputs["out_tavg"][0], outputs["out_bold"][0], diverged)
                if report is not None:
                    driver.Context.synchronize()
                    report.update(shard.n_sims * end)
            driver.Context.synchronize()
            if report is not None:
                report.finish()
            ran = time.perf_counter()
            for allocation, host in (*outputs.values(), (diverged, diverged_host)):
                if host.nbytes:
                    driver.memcpy_dtoh(host, allocation)
        finally:
            for allocation in allocations:
                allocation.free()
            driver.Context.pop()
        finished = time.perf_counter()
        return collect_outputs(
            shard, outputs["out_raw"][1], outputs["out_tavg"][1], outputs["out_bold"][1],
            diverged_host, {"load_s": compiled - started, "run_s": ran - compiled,
                            "copy_s": finished - ran})
