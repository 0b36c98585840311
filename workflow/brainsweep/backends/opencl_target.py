"""The OpenCL target: pyopencl, one work-item lane per simulation (see the CUDA target).

Runs on PoCL on CPUs (CI) and on NVIDIA, AMD and Intel GPUs with double precision
(``cl_khr_fp64``: delays, uniforms and the balloon are computed in double on every path). The
kernels (``kernels/templates/opencl``) and their device layouts are those of the CUDA target,
whose host-side helpers (:func:`~brainsweep.backends.cuda_target.layout_shard`,
:func:`~brainsweep.backends.cuda_target.collect_outputs`) this module shares; only the
runtime calls differ.

pyopencl is imported lazily. The device comes from ``device`` or, if that is None, from
``BRAINSWEEP_OPENCL_DEVICE``: either ``"<platform>:<device>"`` indices (as
``PYOPENCL_CTX`` spells them) or a case-insensitive substring of ``"<platform> <device>"``
(``"nvidia"``, ``"pthread"``); without either, the first GPU, else the first device.

Only devices whose compiler works are chosen: once per process every visible device compiles
a two-line kernel (:func:`compiler_check`). A CPU OpenCL built on an LLVM older than the CPU
cannot: PoCL asks LLVM for the host CPU's name, an LLVM that does not know the CPU answers
``generic``, and PoCL refuses to compile for it (``unknown target CPU 'generic'``). This is
the PoCL 3.0 inside pyopencl's PyPI wheels (LLVM 14) on AMD Zen 5 (CPU family 26). Debian's
and Ubuntu's ``pocl-opencl-icd`` (PoCL 3.1 and newer, "distro" builds) compile for the
best-matching of a fixed list of CPUs that their LLVM knows, so they work on new CPUs; the
check reports that remedy in one line (:func:`unavailable_reason`).
"""

from __future__ import annotations

import functools
import math
import os
import time
from typing import Any

import numpy as np

from brainsweep.backends.base import ShardInputs, ShardOutputs, Target, register
from brainsweep.backends.cuda_target import (
    DEVICE_TABLES,
    SIM_LANES,
    choose_node_parts,
    collect_outputs,
    launch_chunks,
    layout_shard,
    output_shapes,
    resident_warps,
)
from brainsweep.codegen.generate import source_hash
from brainsweep.codegen.render import CRenderer
from brainsweep.errors import InputError
from brainsweep.progress import Progress

__all__ = ["OpenCLRenderer", "OpenCLTarget", "build_options", "compiler_check", "philox_sample",
           "platform_words", "select_device", "unavailable_reason"]

_GPU_WORK_GROUP = 128
_CONTEXTS: dict[str, tuple[Any, Any]] = {}  # device key -> (context, queue)
_PROGRAMS: dict[tuple[str, str], Any] = {}  # (device key, source hash) -> built program


class OpenCLRenderer(CRenderer):
    """OpenCL C: the plain math names are overloaded for float, so none takes an ``f``."""

    float_suffix_functions = False


def _pyopencl():
    try:
        import pyopencl
    except ImportError as error:  # pragma: no cover - depends on the machine
        raise InputError(f"the opencl target needs pyopencl ({error}); install "
                         f"brainsweep[opencl] (and, for CPUs, Debian/Ubuntu's pocl-opencl-icd)",
                         field="target") from error
    return pyopencl


def _all_devices(cl) -> list[tuple[int, int, Any]]:
    found = []
    for p, platform in enumerate(cl.get_platforms()):
        try:
            devices = platform.get_devices()
        except cl.Error:  # a platform with no devices raises instead of returning []
            continue
        found.extend((p, d, device) for d, device in enumerate(devices))
    return found


# What a user does about a CPU OpenCL that cannot compile for this CPU (README, "OpenCL").
CPU_OPENCL_REMEDY = ("install a CPU OpenCL that knows this CPU: Debian/Ubuntu's pocl-opencl-icd "
                     "(apt-get install pocl-opencl-icd), or a vendor OpenCL driver")
_PROBE_KERNEL = "__kernel void probe(__global float *x)\n{ x[get_global_id(0)] += 1.0f; }\n"


def platform_words(device) -> str:
    """``PoCL 3.0-rc2 (LLVM 14.0.6)``-style words for a device's platform."""
    version = " ".join(str(device.platform.version).split())
    words = version.split()
    if "PoCL" in words:  # "OpenCL 3.0 PoCL 3.0-rc2  Linux, Release, RELOC, LLVM 14.0.6, ..."
        release = words[words.index("PoCL") + 1]
        llvm = words[words.index("LLVM") + 1].rstrip(",") if "LLVM" in words else None
        return f"PoCL {release}" + (f" (LLVM {llvm})" if llvm else "")
    return f"{device.platform.name} ({version})"


def _compile_failure(cl, device) -> str | None:
    """None when ``device`` builds and runs the probe kernel correctly, else why not."""
    import numpy as np

    try:
        context = cl.Context([device])
        program = cl.Program(context, _PROBE_KERNEL).build()
        queue = cl.CommandQueue(context, device)
        values = np.arange(4, dtype=np.float32)
        buffer = cl.Buffer(context, cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR,
                           hostbuf=values)
        program.probe(queue, values.shape, None, buffer)
        cl.enqueue_copy(queue, values, buffer)
        queue.finish()
    except Exception as error:  # noqa: BLE001 - any driver error means the device is unusable
        text = " ".join(str(error).split())
        if "unknown target CPU" in text:
            from brainsweep.info import cpu_description

            return (f"{platform_words(device)} cannot compile for this CPU, "
                    f"{cpu_description()}: its LLVM does not know the CPU "
                    f"(\"unknown target CPU 'generic'\"); {CPU_OPENCL_REMEDY}")
        return (f"{platform_words(device)} on {device.name.strip()} failed to compile a "
                f"two-line test kernel: {text[-300:]}")
    if not np.array_equal(values, np.arange(1, 5, dtype=np.float32)):
        return (f"{platform_words(device)} on {device.name.strip()} ran a two-line test "
                f"kernel wrongly ({values.tolist()} instead of [1, 2, 3, 4])")
    return None


@functools.cache
def compiler_check() -> tuple[tuple[tuple[int, int, Any], ...], tuple[str, ...]]:
    """Once per process: the visible devices whose compiler works, and why the others fail.

    Returns ``(working, failures)``: ``(platform index, device index, device)`` of each device
    that built and ran a two-line kernel, and one line per device that did not.
    """
    cl = _pyopencl()
    working, failures = [], []
    for p, d, device in _all_devices(cl):
        why = _compile_failure(cl, device)
        if why is None:
            working.append((p, d, device))
        else:
            failures.append(why)
    return tuple(working), tuple(failures)


def unavailable_reason() -> str | None:
    """None when some OpenCL device compiles, else one line with the cause and the remedy."""
    try:
        import pyopencl as cl
    except ImportError as error:
        return f"pyopencl is not installed ({error}); pip install 'brainsweep[opencl]'"
    try:
        if not _all_devices(cl):
            return ("no OpenCL device is visible; install a GPU driver's OpenCL, or "
                    "Debian/Ubuntu's pocl-opencl-icd for CPUs")
        working, failures = compiler_check()
    except Exception as error:  # noqa: BLE001 - an ICD loader with no platform raises its own
        return f"OpenCL is not usable here ({' '.join(str(error).split())})"
    if working:
        return None
    return "; ".join(dict.fromkeys(failures))  # the same cause once, even for several devices


def select_device(device: str | None = None):
    """The ``pyopencl.Device`` that ``device`` names (see the module docstring)."""
    cl = _pyopencl()
    wanted = device if device not in (None, "") else os.environ.get("BRAINSWEEP_OPENCL_DEVICE")
    found = _all_devices(cl)
    why = unavailable_reason()
    if why is not None:
        raise InputError(f"the opencl target cannot run here: {why}", field="target")
    working, _ = compiler_check()
    usable = {_device_key(x) for _, _, x in working}
    if wanted in (None, ""):
        gpus = [x for _, _, x in working if x.type & cl.device_type.GPU]
        return gpus[0] if gpus else working[0][2]
    text = str(wanted).strip()
    indices = text.split(":")
    if len(indices) == 2 and all(part.isdigit() for part in indices):
        matches = [x for p, d, x in found if (p, d) == (int(indices[0]), int(indices[1]))]
    else:
        matches = [x for _, _, x in found
                   if text.lower() in f"{x.platform.name} {x.name}".lower()]
    for candidate in matches:
        if _device_key(candidate) in usable:
            return candidate
    if matches:
        failure = _compile_failure(cl, matches[0])
        raise InputError(f"OpenCL device {wanted!r} cannot compile kernels: {failure}",
                         field="device")
    raise InputError(f"no OpenCL device matches {wanted!r}; visible: "
                     f"{[f'{p}:{d} {x.platform.name} {x.name}' for p, d, x in found]}",
                     field="device")


def _device_key(device) -> str:
    return f"{device.platform.name}|{device.name}|{device.int_ptr}"


def _queue(cl, device):
    key = _device_key(device)
    if key not in _CONTEXTS:
        context = cl.Context([device])
        _CONTEXTS[key] = (context, cl.CommandQueue(context, device))
    return _CONTEXTS[key]


def build_options(device, max_registers: int | None) -> tuple[str, ...]:
    """Compiler options: NVIDIA's register cap where its driver offers one, nothing else."""
    if max_registers and "cl_nv_compiler_options" in device.extensions:
        return (f"-cl-nv-maxrregcount={int(max_registers)}",)
    return ()


def _program(cl, device, context, source: str, options: tuple[str, ...] = ()):
    key = (_device_key(device), source_hash(source), options)
    if key not in _PROGRAMS:
        if "cl_khr_fp64" not in device.extensions:
            raise InputError(f"OpenCL device {device.name} lacks double precision "
                             f"(cl_khr_fp64), which every brainsweep kernel needs",
                             field="device")
        # No fast-math options: the kernels must round as the other targets do.
        _PROGRAMS[key] = cl.Program(context, source).build(options=list(options))
    return _PROGRAMS[key]


def _work_sizes(cl, device, n: int) -> tuple[tuple[int], tuple[int] | None]:
    """Global size padded to whole work groups (kernels skip the padding); GPUs get 128."""
    if device.type & cl.device_type.GPU:
        local = min(_GPU_WORK_GROUP, device.max_work_group_size)
        return (math.ceil(n / local) * local,), (local,)
    return (n,), None


def philox_sample(source: str, *, seed: int, sim: np.ndarray, step: np.ndarray,
                  node: np.ndarray, block: np.ndarray, dtype: str,
                  device: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run the generated ``philox_sample`` kernel of ``source`` on an OpenCL device.

    Returns the (n, 4) uint32 Philox words of counters ``(step, node, block, 0)`` under keys
    ``(seed, sim)`` and the (n, 4) normals the simulation kernel would draw from them.
    """
    cl = _pyopencl()
    chosen = select_device(device)
    context, queue = _queue(cl, chosen)
    program = _program(cl, chosen, context, source)
    columns = [np.ascontiguousarray(np.asarray(a) & 0xFFFFFFFF, dtype=np.uint32)
               for a in (sim, step, node, block)]
    n = columns[0].size
    words = np.empty((n, 4), dtype=np.uint32)
    normals = np.empty((n, 4), dtype=np.dtype(dtype))
    flags = cl.mem_flags
    inputs = [cl.Buffer(context, flags.READ_ONLY | flags.COPY_HOST_PTR, hostbuf=c)
              for c in columns]
    words_buffer = cl.Buffer(context, flags.WRITE_ONLY, words.nbytes)
    normals_buffer = cl.Buffer(context, flags.WRITE_ONLY, normals.nbytes)
    kernel = cl.Kernel(program, "philox_sample")
    kernel.set_args(np.int32(n), np.uint32(int(seed) & 0xFFFFFFFF), *inputs, words_buffer,
                    normals_buffer)
    cl.enqueue_nd_range_kernel(queue, kernel, *_work_sizes(cl, chosen, n))
    cl.enqueue_copy(queue, words, words_buffer)
    cl.enqueue_copy(queue, normals, normals_buffer)
    queue.finish()
    return words, normals


@register
class OpenCLTarget(Target):
    """OpenCL devices through pyopencl: one work-item lane per simulation, nodes split."""

    name = "opencl"
    template_folder = "opencl"
    renderer = OpenCLRenderer
    file_suffix = ".cl"
    conda_env = "opencl"
    main_template = "simulate.cl.j2"
    coupling_sum = "{gx}"  # the sums are scalars, one node at a time
    history_dtypes = ("float16",)  # half storage through vload_half / vstore_half_rte
    # Tuning, as the CUDA target's. OpenCL does not report a kernel's registers, so the
    # threads per simulation assume the occupancy of the capped CUDA kernel: 32 warps per
    # unit with the NVIDIA register cap, 21 (nvcc's own 92 registers) without it.
    connection_batch: int = 4
    node_parts: int | None = None
    max_registers: int | None = 64

    def context_extras(self, spec) -> dict[str, Any]:
        """``fn`` (math names for the real type), ``sim_lanes`` and ``connection_batch``."""
        return {"fn": dict(self.renderer(dtype=spec.dtype).functions),
                "sim_lanes": SIM_LANES, "connection_batch": int(self.connection_batch)}

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """Whether some visible device compiles kernels (checked once per process)."""
        why = unavailable_reason()
        return (why is None), (why or "")

    @classmethod
    def devices(cls) -> list[str]:
        """Each visible device in words; those whose compiler fails are marked so."""
        ok, _ = cls.available()
        if not ok:
            return []
        import pyopencl as cl

        working, _ = compiler_check()
        usable = {_device_key(x) for _, _, x in working}
        return [f"{p}:{d}: {x.platform.name} {platform_words(x)}, {x.name.strip()}"
                + ("" if _device_key(x) in usable else " (cannot compile: not used)")
                for p, d, x in _all_devices(cl)]

    def run(self, source: str, spec, inputs: ShardInputs, *, device: str | None = None,
            progress: bool = False) -> ShardOutputs:
        cl = _pyopencl()
        started = time.perf_counter()
        shard = layout_shard(spec, inputs)
        chosen = select_device(device)
        shard.check_fits(chosen.global_mem_size, f"OpenCL {chosen.name}")
        context, queue = _queue(cl, chosen)
        options = build_options(chosen, self.max_registers)
        program = _program(cl, chosen, context, source, options)
        compiled = time.perf_counter()
        flags = cl.mem_flags

        def upload(array: np.ndarray):
            if array.nbytes == 0:  # OpenCL refuses empty buffers
                return cl.Buffer(context, flags.READ_WRITE, 1)
            return cl.Buffer(context, flags.READ_WRITE | flags.COPY_HOST_PTR,
                             hostbuf=np.ascontiguousarray(array))

        def empty(shape: tuple[int, ...], dtype) -> tuple[Any, np.ndarray]:
            host = np.empty(shape, dtype=dtype)
            return cl.Buffer(context, flags.READ_WRITE, max(host.nbytes, 1)), host

        state = upload(shard.state)
        tables = [upload(getattr(shard, name)) for name in DEVICE_TABLES]
        noise, balloon = upload(shard.noise), upload(shard.balloon)
        sim_key = upload(shard.sim_key)
        history, _ = empty((shard.history_size,), shard.history_real)
        tavg_sum, _ = empty((shard.n_states, shard.n_nodes, shard.n_sims), shard.real)
        drive_sum, _ = empty((shard.n_nodes, shard.n_sims), shard.real)
        hemo, _ = empty((4, shard.n_nodes, shard.n_sims), np.float64)
        outputs = {name: empty(shape, shard.real) for name, shape in output_shapes(shard).items()}
        diverged, diverged_host = empty((shard.n_sims,), np.int32)

        sizes = (np.int32(shard.n_sims), np.int32(shard.n_nodes))
        work = _work_sizes(cl, chosen, shard.n_sims)
        initialise = cl.Kernel(program, "initialise_shard")
        initialise.set_args(*sizes, *tables[5:], state, history, tavg_sum, drive_sum, hemo,
                            diverged)
        cl.enqueue_nd_range_kernel(queue, initialise, *work)
        simulate = cl.Kernel(program, "simulate_shard")
        if chosen.type & cl.device_type.GPU:
            parts = self.node_parts or choose_node_parts(
                shard.n_sims, chosen.max_compute_units,
                resident_warps(self.max_registers) if options else 21)
        else:  # CPU work-items of a group run one after another: splitting gains nothing
            parts = self.node_parts or 1
        step_work = ((math.ceil(shard.n_sims / SIM_LANES) * SIM_LANES * parts,),
                     (SIM_LANES * parts,))
        report = Progress(shard.n_sims * inputs.n_steps, label="opencl") if progress else None
        for begin, end in launch_chunks(inputs.n_steps):
            simulate.set_args(
                *sizes, np.int32(shard.sources.size), np.int32(begin), np.int32(end), *tables,
                np.float64(inputs.dt), noise, np.uint32(shard.seed), sim_key,
                np.int32(inputs.raw_period), np.int32(inputs.tavg_period),
                np.int32(inputs.bold_period), np.int32(max(inputs.bold_substeps, 1)), balloon,
                np.float64(inputs.dt_bold_s), state, history, tavg_sum, drive_sum, hemo,
                outputs["out_raw"][0], outputs["out_tavg"][0], outputs["out_bold"][0],
                diverged)
            cl.enqueue_nd_range_kernel(queue, simulate, *step_work)
            if report is not None:
                queue.finish()
                report.update(shard.n_sims * end)
        queue.finish()
        if report is not None:
            report.finish()
        ran = time.perf_counter()
        for buffer, host in (*outputs.values(), (diverged, diverged_host)):
            if host.nbytes:
                cl.enqueue_copy(queue, host, buffer)
        queue.finish()
        finished = time.perf_counter()
        return collect_outputs(
            shard, outputs["out_raw"][1], outputs["out_tavg"][1], outputs["out_bold"][1],
            diverged_host, {"load_s": compiled - started, "run_s": ran - compiled,
                            "copy_s": finished - ran})
