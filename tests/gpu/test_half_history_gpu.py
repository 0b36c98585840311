"""The float16 delay history on an NVIDIA GPU, CUDA and OpenCL (tests/half_history.py
states the checks and their tolerances): exact rounding to nearest in one warp and in a
shard of several blocks with speeds mixed in every warp, and MontbrioPazoRoxin with float16
history within half precision's unit roundoff of float32 history."""

from __future__ import annotations

from pathlib import Path

import pytest

from half_history import check_montbrio_within_unit_roundoff, check_rounding_to_nearest

pytestmark = pytest.mark.gpu


@pytest.fixture(params=["cuda", "opencl"])
def gpu(request) -> tuple[str, str]:
    """(target, device) for each GPU target, skipped where it is missing."""
    fixture = {"cuda": "cuda_device", "opencl": "opencl_gpu"}[request.param]
    return request.param, request.getfixturevalue(fixture)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_half_history_rounds_to_nearest(gpu, tmp_path: Path, dtype: str):
    target, device = gpu
    check_rounding_to_nearest(target, tmp_path, dtype=dtype, device=device)


def test_half_history_rounds_to_nearest_in_a_large_shard(gpu, tmp_path: Path):
    target, device = gpu
    check_rounding_to_nearest(target, tmp_path, dtype="float32", n_sims=1000, device=device)


def test_montbrio_with_half_history_within_unit_roundoff(gpu, hcp):
    target, device = gpu
    check_montbrio_within_unit_roundoff(hcp, target, device=device)
