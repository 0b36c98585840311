"""`brainsweep info`: every target with its devices, and what the machine offers them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from brainsweep.backends import list_targets


def brainsweep_info(env=None, prefix=()) -> str:
    result = subprocess.run([*prefix, sys.executable, "-m", "brainsweep.cli", "info"],
                            capture_output=True, text=True, timeout=120, env=env, check=True)
    return result.stdout


def test_info_lists_targets_cores_and_the_gpus_the_driver_reports(tmp_path):
    # a driver that reports two GPUs: listed even where pycuda is missing
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho '0, NVIDIA H200, 143771 MiB'\n"
                    "echo '1, NVIDIA H200, 143771 MiB'\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}",
           "CUDA_VISIBLE_DEVICES": "1"}
    out = brainsweep_info(env=env)
    for name in list_targets():
        assert any(line.startswith(f"{name}: available") or
                   line.startswith(f"{name}: unavailable: ") for line in out.splitlines()), name
    assert f"CPU: {os.cpu_count()} cores" in out  # the numba target's device line
    assert f"usable by this process: {len(os.sched_getaffinity(0))} of {os.cpu_count()}" in out
    assert "NVIDIA GPUs reported by the driver: 2" in out
    assert "    1, NVIDIA H200, 143771 MiB" in out
    assert "CUDA_VISIBLE_DEVICES=1" in out


@pytest.mark.skipif(shutil.which("taskset") is None or (os.cpu_count() or 1) < 2,
                    reason="needs taskset and two cores")
def test_info_reports_the_cores_a_job_may_use_not_the_whole_node():
    out = brainsweep_info(prefix=("taskset", "-c", "0"))
    assert f"usable by this process: 1 of {os.cpu_count()}" in out
