"""What a reproduction ran on: host, CPU, GPUs, driver, library versions (``machine.json``)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from typing import Any

from brainsweep.info import cpu_model

__all__ = ["cpu_model", "cuda_device_facts", "cuda_memory", "machine_record"]


def _nvidia_smi() -> list[dict[str, str]] | None:
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return None
    fields = "index,name,driver_version,memory.total,clocks.sm,clocks.max.sm,pci.bus_id"
    try:
        out = subprocess.run([tool, f"--query-gpu={fields}", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    names = fields.split(",")
    return [dict(zip(names, (v.strip() for v in line.split(",")), strict=False))
            for line in out.stdout.splitlines() if line.strip()]


def cuda_memory(device: str | None = None) -> tuple[int, int]:
    """(free, total) bytes of a CUDA device, in the primary context the cuda target uses."""
    import pycuda.driver as driver

    from brainsweep.backends.cuda_target import _context, device_ordinal

    context = _context(driver, device_ordinal(device))
    context.push()
    try:
        free, total = driver.mem_get_info()
    finally:
        driver.Context.pop()
    return int(free), int(total)


def cuda_device_facts(device: str | None = None) -> dict[str, Any]:
    """Name, compute capability and the occupancy limits of a CUDA device."""
    import pycuda.driver as driver

    from brainsweep.backends.cuda_target import device_ordinal

    driver.init()
    handle = driver.Device(device_ordinal(device))
    attribute = driver.device_attribute
    return {
        "name": handle.name(), "pci_bus_id": handle.pci_bus_id(),
        "compute_capability": ".".join(map(str, handle.compute_capability())),
        "total_bytes": int(handle.total_memory()),
        "multiprocessors": handle.get_attribute(attribute.MULTIPROCESSOR_COUNT),
        "max_threads_per_multiprocessor": handle.get_attribute(
            attribute.MAX_THREADS_PER_MULTIPROCESSOR),
        "registers_per_multiprocessor": handle.get_attribute(
            attribute.MAX_REGISTERS_PER_MULTIPROCESSOR),
        "max_blocks_per_multiprocessor": handle.get_attribute(
            attribute.MAX_BLOCKS_PER_MULTIPROCESSOR),
        "warp_size": handle.get_attribute(attribute.WARP_SIZE),
        "clock_khz": handle.get_attribute(attribute.CLOCK_RATE),
        "driver_version": driver.get_driver_version(),
    }


def machine_record(target: str, device: str | None = None) -> dict[str, Any]:
    """Everything a reader needs to place the numbers: host, CPU, GPUs, versions, time."""
    import numpy

    from brainsweep import __version__
    from brainsweep.backends import get_target
    from brainsweep.info import usable_cores
    from brainsweep.io import git_commit

    usable, total = usable_cores()
    record: dict[str, Any] = {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": platform.node(), "os": platform.platform(), "cpu": cpu_model(),
        "cpu_cores_usable": usable, "cpu_cores": total,
        # 1, 5 and 15-minute load when the run starts: other work sharing the CPUs
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(), "numpy": numpy.__version__,
        "brainsweep": __version__, "git_commit": git_commit(),
        "target": target, "device": device,
        "environment": {k: os.environ[k] for k in ("CUDA_VISIBLE_DEVICES", "NUMBA_NUM_THREADS",
                                                   "BRAINSWEEP_OPENCL_DEVICE") if k in os.environ},
    }
    impl = get_target(target)
    ok, why = impl.available()
    record["target_devices"] = impl.devices() if ok else [f"unavailable: {why}"]
    if target == "numba":
        import numba

        record["numba"] = numba.__version__
        record["numba_threads"] = numba.config.NUMBA_NUM_THREADS
    if target == "cuda" and ok:
        record["cuda_device"] = cuda_device_facts(device)
        from brainsweep.backends.cuda_target import CudaTarget

        record["kernel_settings"] = {"connection_batch": CudaTarget.connection_batch,
                                     "node_parts": CudaTarget.node_parts,
                                     "max_registers": CudaTarget.max_registers}
    gpus = _nvidia_smi()
    if gpus is not None:
        record["nvidia_smi"] = gpus
    return record
