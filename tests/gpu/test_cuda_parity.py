"""The CUDA target on an NVIDIA GPU against the Numba target and brainsweep.rng."""

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


def test_float64_matches_numba(hcp, cuda_device):
    check_float64_parity(hcp, "cuda", cuda_device)


def test_same_seed_same_trajectory(hcp, cuda_device):
    check_same_seed(hcp, "cuda", cuda_device)


def test_large_shard_with_mixed_speeds(hcp, cuda_device):
    check_large_shard(hcp, "cuda", cuda_device)


def test_float32_within_bound_of_float64(hcp, cuda_device):
    check_float32(hcp, "cuda", cuda_device)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_philox_words_and_normals(cuda_device, dtype):
    from brainsweep.backends.cuda_target import philox_sample

    check_philox(philox_sample, "cuda", cuda_device, dtype)
