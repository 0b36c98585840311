"""Shared fixtures: real connectomes from the shipped data."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace


def _pin_x86_v3_code_paths() -> None:
    """Run NumPy's and OpenBLAS's AVX2 kernels on a CPU with AVX-512.

    Both pick their kernels by CPU at run time, and the AVX-512 ones round differently in the
    last bit (measured: NumPy's tanh/arctanh of the Fisher-z group FC, OpenBLAS's dgemm in
    FC and its least squares in detrending). tests/checksums.sha256 holds bit-exact results
    recorded at the AVX2 level, so the workflow runs the tests start (subprocesses inherit
    this environment) use that level on every x86-64 machine that has it. Set before NumPy
    is first imported, so this process follows too where nothing imported it earlier.
    """
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return
    if {"avx2", "fma", "avx512f"} <= flags:
        os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
        os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", "X86_V4 AVX512_ICL AVX512_SPR")


_pin_x86_v3_code_paths()

import numpy as np  # noqa: E402  (after the pin above)
import pytest  # noqa: E402
import scipy.io  # noqa: E402

from brainsweep.regions import select_regions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HCP = ROOT / "resources" / "hcp-aal2" / "subjects"


def hcp_subject(subject: str = "101309") -> SimpleNamespace:
    """One HCP subject's 80 cortical regions: weights / max, lengths in mm, zero diagonal."""
    folder = HCP / subject / "structural"
    weights = scipy.io.loadmat(folder / "DTI_CM.mat")["sc"]
    lengths = scipy.io.loadmat(folder / "DTI_LEN.mat")["len"]
    keep = select_regions(94, preset="aal2-cortical")
    weights = weights[np.ix_(keep, keep)].astype(np.float64)
    np.fill_diagonal(weights, 0.0)
    return SimpleNamespace(weights=weights / weights.max(),
                           lengths=lengths[np.ix_(keep, keep)].astype(np.float64))


@pytest.fixture(scope="session")
def hcp_connectome() -> SimpleNamespace:
    return hcp_subject()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


def pytest_report_header(config) -> list[str]:
    """The CPU and the OpenCL platform the OpenCL tests use (or why they skip), at the top."""
    from brainsweep.info import cpu_description

    lines = [f"brainsweep: CPU {cpu_description()}"]
    try:
        from brainsweep.backends.opencl_target import (
            platform_words,
            select_device,
            unavailable_reason,
        )

        why = unavailable_reason()
        if why is None:
            device = select_device()
            lines.append(f"brainsweep: OpenCL tests run on {platform_words(device)}, "
                         f"{device.name.strip()}")
        else:
            lines.append(f"brainsweep: OpenCL tests skip: {why}")
    except Exception as error:  # noqa: BLE001 - a header must never stop the run
        lines.append(f"brainsweep: OpenCL not checked ({error})")
    return lines
