"""Per-region parameters on an NVIDIA GPU: CUDA and OpenCL against the Numba target.

The regional table is laid out ``[R][N][S]`` in plan order (simulations sorted by speed):
the sweep interleaves two speeds and gives every simulation its own eta map, so a table read
in the caller's order, or with nodes and simulations swapped, fails by far more than the
bounds. Bounds as in parity.py: float64 ≤ 1e-9 relative, float32 ≤ 16 eps32 against
float64. A large shard (256 simulations over many warps, several blocks) checks the same
with simulations spread over the device. Equal values per region give the scalar kernel's
result to the bit on the CPU (tests/backends/test_regional_params.py); on a GPU the
compiler may contract a loop-invariant scalar into other multiply-adds than a per-node
load, so there the bound is 1e-12 in float64 (a few ulp after 1000 steps).
"""

from __future__ import annotations

import numpy as np
import pytest

from regional_cases import regional_eta, regional_sweep, relative_error

pytestmark = pytest.mark.gpu

EPS32 = float(np.finfo(np.float32).eps)
TARGETS = [("cuda", "cuda_device"), ("opencl", "opencl_gpu")]


@pytest.fixture(scope="module")
def numba64(hcp):
    return {noisy: regional_sweep(hcp, target="numba", noisy=noisy) for noisy in (False, True)}


@pytest.mark.parametrize("target,device_fixture", TARGETS, ids=["cuda", "opencl"])
@pytest.mark.parametrize("noisy", [False, True], ids=["deterministic", "noise"])
def test_float64_matches_numba(hcp, target, device_fixture, noisy, request):
    device = request.getfixturevalue(device_fixture)  # skips before the reference runs
    numba64 = request.getfixturevalue("numba64")
    out = regional_sweep(hcp, target=target, device=device, noisy=noisy)
    assert not out.diverged.any()
    for monitor in ("raw", "tavg", "bold"):
        error = relative_error(getattr(out, monitor), getattr(numba64[noisy], monitor))
        assert error <= 1e-9, (monitor, error)


@pytest.mark.parametrize("target,device_fixture", TARGETS, ids=["cuda", "opencl"])
def test_float32_within_bound_of_float64(hcp, target, device_fixture, request):
    device = request.getfixturevalue(device_fixture)
    numba64 = request.getfixturevalue("numba64")
    out = regional_sweep(hcp, target=target, device=device, dtype="float32")
    for monitor in ("raw", "tavg", "bold"):
        error = relative_error(getattr(out, monitor).astype(np.float64),
                               getattr(numba64[True], monitor))
        assert error <= 16 * EPS32, (monitor, error / EPS32)


@pytest.mark.parametrize("target,device_fixture", TARGETS, ids=["cuda", "opencl"])
def test_large_shard_matches_numba(hcp, target, device_fixture, request):
    device = request.getfixturevalue(device_fixture)
    eta = regional_eta(256, hcp.weights.shape[0], seed=19)
    common = dict(n_sims=256, n_steps=500, eta=eta)
    out = regional_sweep(hcp, target=target, device=device, **common)
    ref = regional_sweep(hcp, target="numba", **common)
    for monitor in ("raw", "tavg"):
        assert relative_error(getattr(out, monitor), getattr(ref, monitor)) <= 1e-9


@pytest.mark.parametrize("target,device_fixture", TARGETS, ids=["cuda", "opencl"])
def test_equal_values_per_region_match_the_scalar_kernel(hcp, target, device_fixture,
                                                         request):
    from brainsweep import simulate

    device = request.getfixturevalue(device_fixture)
    n_nodes = hcp.weights.shape[0]
    common = dict(target=target, device=device, n_steps=1000, dtype="float64", seed=3,
                  stochastic=True, monitors=("raw", "bold"), raw_period=10,
                  bold_period_s=0.02, bold_dt_s=1e-4)
    scalar = simulate.run(hcp, "montbrio", params={"eta": [-4.9, -5.0]}, **common)
    regional = simulate.run(hcp, "montbrio", params={
        "eta": np.array([[-4.9] * n_nodes, [-5.0] * n_nodes])}, **common)
    assert relative_error(regional.raw, scalar.raw) <= 1e-12
    assert relative_error(regional.bold, scalar.bold) <= 1e-12
