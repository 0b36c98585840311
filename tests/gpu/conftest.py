"""Fixtures of the GPU tests: skip cleanly, with the reason, where a module or device is missing.

Run on a machine with an NVIDIA GPU: ``python -m pytest -m gpu -q tests/gpu``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.io

from brainsweep.regions import select_regions

HCP = Path(__file__).resolve().parents[2] / "resources" / "hcp-aal2" / "subjects" / "101309"


@pytest.fixture(scope="session")
def cuda_device() -> str:
    """``"0"``, the first visible CUDA device; skips without pycuda or a device."""
    if importlib.util.find_spec("pycuda") is None:
        pytest.skip("pycuda is not installed (pip install 'brainsweep[cuda]')")
    from brainsweep.backends.cuda_target import CudaTarget

    ok, why = CudaTarget.available()
    if not ok:
        pytest.skip(f"no usable CUDA device: {why}")
    return "0"


@pytest.fixture(scope="session")
def opencl_gpu() -> str:
    """A device spec for an NVIDIA OpenCL GPU; skips without pyopencl or one."""
    if importlib.util.find_spec("pyopencl") is None:
        pytest.skip("pyopencl is not installed (pip install 'brainsweep[opencl]')")
    from brainsweep.backends.opencl_target import OpenCLTarget

    ok, why = OpenCLTarget.available()
    if not ok:
        pytest.skip(f"no usable OpenCL platform: {why}")
    if not any("nvidia" in line.lower() for line in OpenCLTarget.devices()):
        pytest.skip(f"no NVIDIA OpenCL platform; visible: {OpenCLTarget.devices()}")
    return "nvidia"


@pytest.fixture(scope="session")
def hcp() -> SimpleNamespace:
    """HCP subject 101309, 80 cortical AAL2 regions, weights normalised by their maximum."""
    keep = select_regions(94, preset="aal2-cortical")
    weights = scipy.io.loadmat(HCP / "structural" / "DTI_CM.mat")["sc"][np.ix_(keep, keep)]
    lengths = scipy.io.loadmat(HCP / "structural" / "DTI_LEN.mat")["len"][np.ix_(keep, keep)]
    return SimpleNamespace(weights=weights / weights.max(), lengths=lengths)
