"""Factorised couplings (kernels/couplings.yaml ``separable:``) against the unfactorised float64
oracle, on Numba and OpenCL (PoCL), and their CUDA sources through nvcc.

The oracle evaluates ``pre`` per connection, as it always did; the kernels sum
``sin x_j`` and ``cos x_j`` (Kuramoto) or ``x_j`` and the row sums (difference) instead.
The two are the same function, so only rounding separates them:

* float64: ``‖out − ref‖ / ‖ref‖ ≤ 1e-9`` (the bound of every model's oracle test,
  tests/model_cases.py), measured ~1e-16 to 2e-15;
* float32: both the factorised and the unfactorised kernel within 64 eps32 of the oracle
  (measured on PoCL: Kuramoto 4 eps32 each, SupHopf with the difference coupling 18 and 15
  eps32), and within 64 eps32 of each other;
* float16 history (OpenCL): the stored sin and cos are off by at most 2⁻¹² absolutely, so the
  outputs stay within half precision's unit roundoff u = 2⁻¹¹ of the float32 history's
  (measured 6e-7 for Kuramoto, where storing the phase itself gives 7e-6); and a phase beyond
  float16's range (65 504 rad), which overflows the unfactorised half history, is harmless.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_cuda_compile import compile_all

from brainsweep import codegen, simulate
from brainsweep.backends.opencl_target import OpenCLTarget
from brainsweep.dsl import load_model
from model_cases import (
    CASES,
    N_REGIONS,
    RTOL,
    coupling_case,
    initial_state,
    relative_error,
    run_oracle,
    run_target,
    subnetwork,
)

OPENCL_OK, OPENCL_WHY = OpenCLTarget.available()
needs_opencl = pytest.mark.skipif(not OPENCL_OK, reason=f"OpenCL unavailable: {OPENCL_WHY}")
EPS32 = float(np.finfo(np.float32).eps)
UNIT_ROUNDOFF_16 = 2.0**-11
# (model, case): both Kuramoto couplings and the difference coupling on two models
FACTORISED = {
    "kuramoto": lambda: (load_model("kuramoto"), CASES["kuramoto"]),
    "kuramoto_mean_field": lambda: coupling_case("kuramoto_mean_field"),
    "sup_hopf": lambda: (load_model("sup_hopf"), CASES["sup_hopf"]),
    "epileptor": lambda: (load_model("epileptor"), CASES["epileptor"]),
}
TARGETS = ["numba", pytest.param("opencl", marks=needs_opencl)]


@pytest.fixture(scope="module")
def network(hcp_connectome):
    return subnetwork(hcp_connectome)


@pytest.fixture(scope="module")
def problem(network):
    """``get(key)``: model, case, initial state and the oracle's raw trajectory, once each."""
    store = {}

    def get(key):
        if key not in store:
            model, case = FACTORISED[key]()
            initial = initial_state(model, N_REGIONS, case.perturbation, seed=len(key))
            ref = run_oracle(network, model, case, integrator="heun", initial=initial)
            assert not ref.diverged
            store[key] = (model, case, initial, ref.raw)
        return store[key]

    return get


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("key", sorted(FACTORISED))
def test_factorised_float64_matches_the_oracle(network, problem, key, target):
    model, case, initial, ref = problem(key)
    assert codegen.kernel_spec(model, coupling=case.coupling).factorise
    out = run_target(network, model, case, target=target, integrator="heun", initial=initial)
    assert not out.diverged[0]
    assert np.ptp(ref[:, 0, :], axis=0).max() > 1e-3  # the state moves
    assert relative_error(out.raw[0], ref) <= RTOL


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("key", ["kuramoto", "sup_hopf"])
def test_factorised_float32_matches_the_unfactorised_kernel(network, problem, key, target):
    model, case, initial, ref = problem(key)
    runs = {factorise: run_target(network, model, case, target=target, integrator="heun",
                                  initial=initial, dtype="float32", factorise=factorise).raw[0]
            for factorise in (True, False)}
    for out in runs.values():
        assert relative_error(out, ref) <= 64 * EPS32
    assert relative_error(runs[True], runs[False]) <= 64 * EPS32


@needs_opencl
def test_float16_history_of_sine_and_cosine_stays_within_half_roundoff(network, problem):
    model, case, initial, _ = problem("kuramoto")
    runs = {history: run_target(network, model, case, target="opencl", integrator="heun",
                                initial=initial, dtype="float32", history_dtype=history).raw[0]
            for history in (None, "float16")}
    error = relative_error(runs["float16"], runs[None])
    assert 0.0 < error <= UNIT_ROUNDOFF_16  # stored in half (not 0), within its roundoff


@needs_opencl
def test_a_phase_past_the_float16_range_only_overflows_the_unfactorised_history(network):
    model = load_model("kuramoto")
    initial = 7.0e4 + initial_state(model, N_REGIONS, 1.0, seed=3)  # > 65 504 rad
    common = dict(dt=0.1, n_steps=200, params={"global_coupling": 0.1}, coupling="kuramoto",
                  stochastic=False, monitors=("raw",), initial_state=initial, dtype="float32",
                  history_dtype="float16")
    on = simulate.run(network, model, target="opencl", **common)
    off = simulate.run(network, model, target="opencl", factorise=False, **common)
    assert off.diverged[0] and not on.diverged[0]


def test_factorised_sources_compile_with_nvcc(tmp_path: Path):
    jobs = {f"{model}-{coupling}-{dtype}-{history}": codegen.generate(
                model, target="cuda", coupling=coupling, dtype=dtype, history_dtype=history)
            for model, coupling in [("kuramoto", "kuramoto_mean_field"),
                                    ("epileptor", "difference")]
            for dtype in ("float32", "float64") for history in (None, "float16")}
    compile_all(jobs, tmp_path)
