"""The OpenCL target: pyopencl, one work-item lane per simulation (see the CUDA target).

Runs on PoCL on CPUs (CI) and on NVIDIA, AMD and Intel GPUs with double precision
(``cl_khr_fp64``: delays, uniforms and the balloon are computed in double on every path). The
kernels, their device layouts and the run loop are those every GPU target shares
(:mod:`brainsweep.backends.gpu`); this module is the pyopencl side of the device protocol
(:class:`OpenCLDevice`) and the choice of a device.

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
import os
from typing import Any

import numpy as np

from brainsweep.backends.base import register
from brainsweep.backends.gpu import (
    THREADS_PER_BLOCK,
    GpuTarget,
    philox_sampler,
    resident_warps,
)
from brainsweep.backends.gpu.signatures import KERNELS
from brainsweep.codegen.generate import source_hash
from brainsweep.codegen.render import CRenderer
from brainsweep.errors import InputError

__all__ = ["CPU_OPENCL_REMEDY", "OpenCLDevice", "OpenCLRenderer", "OpenCLTarget",
           "build_options", "compiler_check", "philox_sample", "platform_words",
           "select_device", "unavailable_reason"]

_CONTEXTS: dict[str, tuple[Any, Any]] = {}  # device key -> (context, queue)
_PROGRAMS: dict[tuple[str, str], Any] = {}  # (device key, source hash) -> built program
# Occupancy the threads per simulation assume without the register cap: OpenCL does not
# report a kernel's registers, and nvcc's own choice for the step kernel (92) gives 21 warps.
_UNCAPPED_WARPS = 21


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


class OpenCLDevice:
    """The device protocol of :mod:`brainsweep.backends.gpu.runner` on one OpenCL device.

    Contexts, queues and programs are kept per device for the process; buffers are freed
    when the run lets go of them.
    """

    def __init__(self, device: str | None, max_registers: int | None = None):
        self.cl = _pyopencl()
        self.wanted = device
        self.max_registers = max_registers
        self._kernels: dict[str, Any] = {}

    def __enter__(self) -> OpenCLDevice:
        # chosen here, after the shard's layout, so that bad inputs are reported first
        self.device = select_device(self.wanted)
        self.description = f"OpenCL {self.device.name}"
        self.gpu = bool(self.device.type & self.cl.device_type.GPU)
        # GPUs get whole groups of 128; a CPU runs a group's work-items one after another,
        # so its runtime may choose
        self.flat_group_size = (min(THREADS_PER_BLOCK, self.device.max_work_group_size)
                                if self.gpu else None)
        self.context, self.queue = _queue(self.cl, self.device)
        return self

    def __exit__(self, *exc) -> None:
        self._kernels.clear()

    def free_bytes(self) -> int:
        return int(self.device.global_mem_size)

    def compile(self, source: str, regional: bool = False, row_sums: bool = False) -> None:
        # set_args takes the arguments as bound by name, so the kernels need no signature
        self.options = build_options(self.device, self.max_registers)
        program = _program(self.cl, self.device, self.context, source, self.options)
        self._kernels = {name: self.cl.Kernel(program, name) for name in KERNELS}

    def alloc(self, shape: tuple[int, ...], dtype) -> Any:
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        return self.cl.Buffer(self.context, self.cl.mem_flags.READ_WRITE, max(nbytes, 1))

    def upload(self, array: np.ndarray) -> Any:
        if array.nbytes == 0:  # OpenCL refuses empty buffers
            return self.alloc((1,), np.uint8)
        flags = self.cl.mem_flags
        return self.cl.Buffer(self.context, flags.READ_WRITE | flags.COPY_HOST_PTR,
                              hostbuf=np.ascontiguousarray(array))

    def launch(self, kernel: str, threads: int, group_size: int | None, args: list) -> None:
        function = self._kernels[kernel]
        function.set_args(*args)
        self.cl.enqueue_nd_range_kernel(self.queue, function, (threads,),
                                        None if group_size is None else (group_size,))

    def occupancy(self, kernel: str) -> tuple[int, int] | None:
        if not self.gpu:  # CPU work-items of a group run one after another: no gain
            return None
        warps = resident_warps(self.max_registers) if self.options else _UNCAPPED_WARPS
        return self.device.max_compute_units, warps

    def max_group_size(self, kernel: str) -> int:
        return int(self._kernels[kernel].get_work_group_info(
            self.cl.kernel_work_group_info.WORK_GROUP_SIZE, self.device))

    def finish(self) -> None:
        self.queue.finish()

    def download(self, buffer: Any, host: np.ndarray) -> None:
        self.cl.enqueue_copy(self.queue, host, buffer)


# the noise generator on its own, for tests (normals as the step kernel draws them)
philox_sample = philox_sampler(OpenCLDevice)


@register
class OpenCLTarget(GpuTarget):
    """OpenCL devices through pyopencl: one work-item lane per simulation, nodes split.

    The tuning knobs are the CUDA target's; the register cap is passed where NVIDIA's driver
    takes one (:func:`build_options`).
    """

    name = "opencl"
    language = "opencl"
    renderer = OpenCLRenderer
    file_suffix = ".cl"
    conda_env = "opencl"

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

    def open_device(self, device: str | None) -> OpenCLDevice:
        return OpenCLDevice(device, self.max_registers)
