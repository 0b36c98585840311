"""What this machine offers the targets, for ``brainsweep info``.

Each target lists the devices it can use itself (:meth:`brainsweep.backends.Target.devices`).
This module adds what a target cannot see when its own stack is missing or restricted: the
CPU cores this process may use (a SLURM job or container usually gets fewer than the node
has), the NVIDIA GPUs the driver reports even without pycuda, and the device selection
variables that SLURM and users set.
"""

from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["hardware_lines", "nvidia_gpus", "usable_cores"]


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
    lines = ["machine:", f"  CPU cores usable by this process: {usable} of {total}"]
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
