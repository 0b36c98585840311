"""The CUDA target: pycuda ``SourceModule``, one thread per simulation.

The kernels (``kernels/templates/cuda``) keep every array with the simulation index fastest
(``[var][node][sim]``, history ``[cvar][slot][node][sim]``), so that the 32 threads of a warp,
which hold 32 consecutive simulations, read and write 32 consecutive words. The host side
here lays the shard out that way (:func:`layout_shard`), runs it in launches of
:data:`STEPS_PER_LAUNCH` steps and turns the device arrays back into the ``[sim, time, ...]``
arrays every target returns (:func:`collect_outputs`). The OpenCL target shares these
helpers: its kernels use the same layouts.

Delays. A shard may sweep the conduction speed. The host computes
``rint(length / speed / dt)`` in float64 (the same operations as the Numba kernel and the
oracle) once per *distinct* speed of the shard and passes a table ``delays[D][N][N]`` with a
per-simulation index ``delay_set[S]``. Computing them in the kernel would cost a double
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
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from brainsweep.backends.base import ShardInputs, ShardOutputs, Target, register
from brainsweep.codegen.generate import source_hash
from brainsweep.codegen.render import CRenderer
from brainsweep.errors import InputError

__all__ = [
    "STEPS_PER_LAUNCH",
    "CudaTarget",
    "DeviceShard",
    "collect_outputs",
    "delay_tables",
    "launch_chunks",
    "layout_shard",
    "philox_sample",
]

STEPS_PER_LAUNCH = 4096  # steps per kernel launch: progress reports, no watchdog, no cost
THREADS_PER_BLOCK = 128


@dataclass(frozen=True)
class DeviceShard:
    """A shard's host arrays in the device layouts (simulation index fastest).

    Attributes hold what the kernels read; ``frames_*`` are the monitors' sample counts.
    """

    n_sims: int
    n_nodes: int
    n_states: int
    n_cvars: int
    horizon: int  # history slots: the shard's longest delay + 1
    frames_raw: int
    frames_tavg: int
    frames_bold: int
    real: np.dtype
    params: np.ndarray  # (P, S) float64
    weights: np.ndarray  # (N, N) real, [i, j]: from j to i
    delays: np.ndarray  # (D, N, N) int32, one matrix per distinct speed
    delay_set: np.ndarray  # (S,) int32
    state: np.ndarray  # (V, N, S) real: the initial state
    sim_key: np.ndarray  # (S,) uint32: low word of the global simulation index
    seed: int  # low word of the seed
    noise: np.ndarray  # (V,) float64
    balloon: np.ndarray  # (9,) float64

    def nbytes(self) -> dict[str, int]:
        """Device bytes per array, as the runners allocate them."""
        size = self.real.itemsize
        s, n, v = self.n_sims, self.n_nodes, self.n_states
        return {
            "history": self.n_cvars * self.horizon * n * s * size,
            "state": v * n * s * size,
            "tavg_sum": v * n * s * size,
            "drive_sum": n * s * size,
            "hemo": 4 * n * s * 8,
            "out_raw": self.frames_raw * v * n * s * size,
            "out_tavg": self.frames_tavg * v * n * s * size,
            "out_bold": self.frames_bold * n * s * size,
            "tables": (self.params.nbytes + self.weights.nbytes + self.delays.nbytes
                       + self.delay_set.nbytes + self.sim_key.nbytes + 4 * s),
        }

    def check_fits(self, free_bytes: int, device: str) -> None:
        """Refuse, with the numbers, a shard larger than the device's free memory."""
        parts = self.nbytes()
        need = sum(parts.values())
        if need > free_bytes:
            biggest = max(parts, key=parts.get)
            raise InputError(
                f"the shard needs {need / 2**30:.2f} GiB on {device} but {free_bytes / 2**30:.2f}"
                f" GiB are free ({biggest}: {parts[biggest] / 2**30:.2f} GiB; {self.n_sims} "
                f"simulations, {self.n_nodes} nodes, {self.horizon} history slots); use smaller "
                f"shards", field="shard_size")


def delay_tables(lengths: np.ndarray, speeds: np.ndarray, dt: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Delay matrices in steps, one per distinct speed, and each simulation's matrix index.

    Parameters
    ----------
    lengths
        (N, N) tract lengths in mm.
    speeds
        (S,) conduction speeds in m/s (= mm/ms), one per simulation.
    dt
        Integration step (ms).

    Returns
    -------
    delays
        (D, N, N) int32, ``rint(length / speed / dt)`` computed in float64 exactly as
        :func:`brainsweep.reference.delay_steps` does.
    delay_set
        (S,) int32: the row of ``delays`` that simulation ``s`` uses.

    Examples
    --------
    >>> d, k = delay_tables(np.array([[0.0, 30.0], [30.0, 0.0]]), np.array([3.0, 1.5, 3.0]), 1.0)
    >>> d[:, 0, 1].tolist(), k.tolist()
    ([20, 10], [0, 1, 0])
    """
    distinct, delay_set = np.unique(np.asarray(speeds, dtype=np.float64), return_inverse=True)
    steps = np.rint(np.asarray(lengths, dtype=np.float64)[None] / distinct[:, None, None] / dt)
    if steps.max(initial=0.0) >= 2**31 - 1:
        raise InputError(f"delays of {steps.max():.0f} steps overflow 32-bit indices; raise dt "
                         f"or the speed", field="speed")
    # Descending speeds first would not change results; sorted order keeps the table stable.
    return steps.astype(np.int32), delay_set.astype(np.int32).reshape(-1)


def layout_shard(spec, inputs: ShardInputs) -> DeviceShard:
    """Lay a shard out for the device kernels (``[var][node][sim]`` and friends)."""
    real = np.dtype(spec.dtype)
    n_sims, n_params = inputs.params.shape
    n_nodes = inputs.weights.shape[0]
    if n_params != len(spec.parameter_names):
        raise InputError(f"the parameter table has {n_params} columns, the kernel expects "
                         f"{len(spec.parameter_names)}: {spec.parameter_names}", field="params")
    if inputs.n_steps >= 2**31 - 1:
        raise InputError(f"n_steps ({inputs.n_steps}) must fit in 32 bits", field="n_steps")
    delays, delay_set = delay_tables(inputs.lengths, inputs.params[:, -1], inputs.dt)

    def frames(period: int) -> int:
        return inputs.n_steps // period if period > 0 else 0

    initial = np.asarray(inputs.initial, dtype=np.float64)
    return DeviceShard(
        n_sims=n_sims, n_nodes=n_nodes, n_states=len(spec.model.states),
        n_cvars=len(spec.model.coupled_states), horizon=int(delays.max(initial=0)) + 1,
        frames_raw=frames(inputs.raw_period), frames_tavg=frames(inputs.tavg_period),
        frames_bold=frames(inputs.bold_period), real=real,
        params=np.ascontiguousarray(np.asarray(inputs.params, dtype=np.float64).T),
        weights=np.ascontiguousarray(inputs.weights, dtype=np.float64).astype(real),
        delays=np.ascontiguousarray(delays), delay_set=np.ascontiguousarray(delay_set),
        # real(initial) as the Numba kernel rounds it, then simulation index fastest
        state=np.ascontiguousarray(initial.astype(real).transpose(1, 2, 0)),
        sim_key=(np.asarray(inputs.sim_index, dtype=np.int64) & 0xFFFFFFFF).astype(np.uint32),
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
    its partial outputs are masked here, whole, rather than in the kernel.
    """
    s, n, v = shard.n_sims, shard.n_nodes, shard.n_states
    raw = np.moveaxis(out_raw.reshape(shard.frames_raw, v, n, s), -1, 0)
    tavg = np.moveaxis(out_tavg.reshape(shard.frames_tavg, v, n, s), -1, 0)
    bold = np.moveaxis(out_bold.reshape(shard.frames_bold, n, s), -1, 0)
    flags = np.asarray(diverged).reshape(s) != 0
    raw, tavg, bold = (np.ascontiguousarray(a) for a in (raw, tavg, bold))
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
_INITIALISE_ARGS = "iiiPPPPPP"
_SIMULATE_ARGS = "iiiiiPPPPdPIPiiiiPdPPPPPPPPP"


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


def _module(compiler, ordinal: int, source: str):
    key = (ordinal, source_hash(source))
    if key not in _MODULES:
        # The source carries extern "C" on its kernels itself; pycuda's compiler caches the
        # cubin on disk under a hash of the source and options.
        _MODULES[key] = compiler.SourceModule(source, no_extern_c=True,
                                              options=["-lineinfo"])
    return _MODULES[key]


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
    main_template = "simulate.cu.j2"
    coupling_sum = "{gx}"  # the sums are scalars, one node at a time

    def context_extras(self, spec) -> dict[str, Any]:
        """``fn``: the math function names for the kernel's real type (sqrtf or sqrt)."""
        return {"fn": dict(self.renderer(dtype=spec.dtype).functions)}

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
            module = _module(compiler, ordinal, source)
            compiled = time.perf_counter()
            initialise = module.get_function("initialise_shard")
            initialise.prepare(_INITIALISE_ARGS)
            simulate = module.get_function("simulate_shard")
            simulate.prepare(_SIMULATE_ARGS)

            state = upload(shard.state)
            params, weights = upload(shard.params), upload(shard.weights)
            delays, delay_set = upload(shard.delays), upload(shard.delay_set)
            noise, balloon = upload(shard.noise), upload(shard.balloon)
            sim_key = upload(shard.sim_key)
            history, _ = empty((shard.n_cvars, shard.horizon, shard.n_nodes, shard.n_sims),
                               shard.real)
            tavg_sum, _ = empty((shard.n_states, shard.n_nodes, shard.n_sims), shard.real)
            drive_sum, _ = empty((shard.n_nodes, shard.n_sims), shard.real)
            hemo, _ = empty((4, shard.n_nodes, shard.n_sims), np.float64)
            outputs = {name: empty(shape, shard.real)
                       for name, shape in output_shapes(shard).items()}
            diverged, diverged_host = empty((shard.n_sims,), np.int32)

            grid = (math.ceil(shard.n_sims / THREADS_PER_BLOCK), 1)
            block = (THREADS_PER_BLOCK, 1, 1)
            sizes = (shard.n_sims, shard.n_nodes, shard.horizon)
            initialise.prepared_call(grid, block, *sizes, state, history, tavg_sum, drive_sum,
                                     hemo, diverged)
            for begin, end in launch_chunks(inputs.n_steps):
                simulate.prepared_call(
                    grid, block, *sizes, begin, end, params, weights, delays, delay_set,
                    float(inputs.dt), noise, shard.seed, sim_key, int(inputs.raw_period),
                    int(inputs.tavg_period), int(inputs.bold_period),
                    int(max(inputs.bold_substeps, 1)), balloon, float(inputs.dt_bold_s),
                    state, history, tavg_sum, drive_sum, hemo, outputs["out_raw"][0],
                    outputs["out_tavg"][0], outputs["out_bold"][0], diverged)
                if progress:
                    driver.Context.synchronize()
                    print(f"cuda: {end}/{inputs.n_steps} steps", file=sys.stderr)
            driver.Context.synchronize()
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
