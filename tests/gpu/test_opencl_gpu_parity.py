"""The OpenCL target on the NVIDIA OpenCL platform against Numba and brainsweep.rng."""

from __future__ import annotations

import pytest
from parity import (
    check_float32,
    check_float64_parity,
    check_large_shard,
    check_philox,
    check_same_seed,
)

pytestmark = pytest.mark.gpu


def test_float64_matches_numba(hcp, opencl_gpu):
    check_float64_parity(hcp, "opencl", opencl_gpu)


def test_same_seed_same_trajectory(hcp, opencl_gpu):
    check_same_seed(hcp, "opencl", opencl_gpu)


def test_large_shard_with_mixed_speeds(hcp, opencl_gpu):
    check_large_shard(hcp, "opencl", opencl_gpu)


def test_float32_within_bound_of_float64(hcp, opencl_gpu):
    check_float32(hcp, "opencl", opencl_gpu)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_philox_words_and_normals(opencl_gpu, dtype):
    from brainsweep.backends.opencl_target import philox_sample

    check_philox(philox_sample, "opencl", opencl_gpu, dtype)
