"""What this machine offers the targets, for ``brainsweep info``.

Each target lists the devices it can use itself (:meth:`brainsweep.backends.Target.devices`).
This module adds what a target cannot see when its own stack is missing or restricted: the
CPU cores this process may use (a SLURM job or container usually gets fewer than the node
has), the NVIDIA GPUs the driver reports even without pycuda, and the device selection
variables that SLURM and users set.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess

__all__ = ["cpu_description", "cpu_model", "hardware_lines", "nvidia_gpus", "usable_cores"]


def _cpuinfo_field(name: str) -> str | None:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key, sep, value = line.partition(":")
                if sep and key.strip() == name:
                    return value.strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or what ``platform`` knows)."""
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_description() -> str:
    """Model name with CPU family and model numbers, e.g. ``AMD EPYC (family 26, model 2)``.

    The family matters because compilers name CPUs by it: an LLVM older than the CPU knows
    no name for it (see the OpenCL target's compiler check).
    """
    family, model = _cpuinfo_field("cpu family"), _cpuinfo_field("model")
    numbers = f" (family {family}, model {model})" if family and model else ""
    return f"{cpu_model()}{numbers}"


def usable_cores() -> tuple[int, int]:
    """(cores this process may run on, cores of the machine)."""
    total = os.cpu_count() or 1
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        usable = total
    return usable, total


def nvidia_gpus(*, timeout: float = 10.0) -> list[str] | None:
    """The NVIDIA GPUs the driver reports (``nvidia-smi``), one line each; None when there is
    no driver tool to ask."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return None
    try:
        out = subprocess.run(
            [tool, "--query-gpu=index,name,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=timeout, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def hardware_lines() -> list[str]:
    """Lines describing the machine, printed by ``brainsweep info`` after the targets."""
    usable, total = usable_cores()
    lines = ["machine:", f"  CPU: {cpu_description()}",
             f"  CPU cores usable by this process: {usable} of {total}"]
    gpus = nvidia_gpus()
    if gpus is None:
        lines.append("  NVIDIA driver: not found (no nvidia-smi)")
    else:
        lines.append(f"  NVIDIA GPUs reported by the driver: {len(gpus)}")
        lines += [f"    {gpu}" for gpu in gpus]
    for name in ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_GPUS", "NUMBA_NUM_THREADS"):
        if name in os.environ:
            lines.append(f"  {name}={os.environ[name]}")
    return lines
