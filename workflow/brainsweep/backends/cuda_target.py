"""The CUDA target: pycuda ``SourceModule``, one warp lane per simulation.

The kernels, their device layouts and the run loop are those every GPU target shares
(:mod:`brainsweep.backends.gpu`); this module is the pycuda side of the device protocol
(:class:`CudaDevice`): contexts, modules, allocations, prepared calls.

pycuda is imported only when a shard runs or availability is asked, so this module imports on
machines without CUDA. The device comes from ``device`` (``"0"``, ``"cuda:1"``) or is the
first one CUDA shows, which ``CUDA_VISIBLE_DEVICES`` selects; the run pushes the device's
primary context and pops it afterwards (no ``pycuda.autoinit``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainsweep.backends.base import register
from brainsweep.backends.gpu import (
    SIM_LANES,
    STEPS_PER_LAUNCH,
    THREADS_PER_BLOCK,
    DeviceShard,
    GpuTarget,
    choose_node_parts,
    collect_outputs,
    connection_lists,
    launch_chunks,
    layout_shard,
    output_shapes,
    philox_sampler,
    prepared_types,
    resident_warps,
)
from brainsweep.backends.gpu.signatures import KERNELS
from brainsweep.codegen.generate import source_hash
from brainsweep.codegen.render import CRenderer
from brainsweep.errors import InputError

__all__ = [
    "SIM_LANES",
    "STEPS_PER_LAUNCH",
    "CudaDevice",
    "CudaTarget",
    "DeviceShard",
    "collect_outputs",
    "connection_lists",
    "choose_node_parts",
    "device_ordinal",
    "launch_chunks",
    "layout_shard",
    "output_shapes",
    "philox_sample",
    "resident_warps",
]

_CONTEXTS: dict[int, Any] = {}  # ordinal -> retained primary context (kept alive)
_MODULES: dict[tuple[int, str, int | None], Any] = {}  # (ordinal, hash, cap) -> SourceModule


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


class CudaDevice:
    """The device protocol of :mod:`brainsweep.backends.gpu.runner` on one CUDA device.

    Entering pushes the device's primary context; leaving frees every allocation of the run
    and pops it.
    """

    flat_group_size = THREADS_PER_BLOCK

    def __init__(self, device: str | None, max_registers: int | None = None):
        self.driver, self.compiler = _pycuda()
        self.ordinal = device_ordinal(device)
        self.max_registers = max_registers
        self.description = f"cuda:{self.ordinal}"
        self._allocations: list[Any] = []
        self._functions: dict[str, Any] = {}

    def __enter__(self) -> CudaDevice:
        _context(self.driver, self.ordinal).push()
        self.description = f"cuda:{self.ordinal} ({self.driver.Context.get_device().name()})"
        return self

    def __exit__(self, *exc) -> None:
        for allocation in self._allocations:
            allocation.free()
        self.driver.Context.pop()

    def free_bytes(self) -> int:
        free, _total = self.driver.mem_get_info()
        return int(free)

    def compile(self, source: str, regional: bool = False, row_sums: bool = False) -> None:
        module = _module(self.compiler, self.ordinal, source, self.max_registers)
        for name in KERNELS:
            function = module.get_function(name)
            function.prepare(prepared_types(name, regional, row_sums))
            self._functions[name] = function

    def alloc(self, shape: tuple[int, ...], dtype) -> Any:
        allocation = self.driver.mem_alloc(max(int(np.prod(shape)) * np.dtype(dtype).itemsize,
                                               1))
        self._allocations.append(allocation)
        return allocation

    def upload(self, array: np.ndarray) -> Any:
        allocation = self.alloc(array.shape, array.dtype)
        if array.nbytes:
            self.driver.memcpy_htod(allocation, np.ascontiguousarray(array))
        return allocation

    def launch(self, kernel: str, threads: int, group_size: int | None, args: list) -> None:
        size = group_size or THREADS_PER_BLOCK
        self._functions[kernel].prepared_call((threads // size, 1), (size, 1, 1), *args)

    def occupancy(self, kernel: str) -> tuple[int, int]:
        attribute = self.driver.device_attribute
        handle = self.driver.Context.get_device()
        return (handle.get_attribute(attribute.MULTIPROCESSOR_COUNT),
                resident_warps(self._functions[kernel].num_regs,
                               registers_per_multiprocessor=handle.get_attribute(
                                   attribute.MAX_REGISTERS_PER_MULTIPROCESSOR)))

    def max_group_size(self, kernel: str) -> int:
        return int(self._functions[kernel].max_threads_per_block)

    def finish(self) -> None:
        self.driver.Context.synchronize()

    def download(self, buffer: Any, host: np.ndarray) -> None:
        self.driver.memcpy_dtoh(host, buffer)


# the noise generator on its own, for tests (normals as the step kernel draws them)
philox_sample = philox_sampler(CudaDevice)


@register
class CudaTarget(GpuTarget):
    """NVIDIA GPUs through pycuda: one thread per simulation, state in global memory."""

    name = "cuda"
    language = "cuda"
    renderer = CRenderer  # float32: f-suffixed literals and functions (sinf, expf, ...)
    file_suffix = ".cu"
    conda_env = "cuda"
    uses_gpu = True

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

    def open_device(self, device: str | None) -> CudaDevice:
        return CudaDevice(device, self.max_registers)
