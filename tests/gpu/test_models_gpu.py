"""Every shipped model and every RateML file on the GPU targets against the float64 oracle.

The CPU tests of the same cases are tests/backends/test_models_oracle.py and test_lems.py (Numba
and OpenCL on PoCL); the cases and the bound come from tests/model_cases.py: float64,
relative error ``‖out − ref‖ / ‖ref‖ ≤ 1e-9`` on 20 HCP regions with real delays. Shipped
models run with heun and TVB's usual coupling, RateML's files unchanged (their own coupling,
Euler as RateML integrates), plus a BOLD drive that reads auxiliaries and the coupling input,
and stochastic Epileptor (six noisy variables, two Philox blocks; 31 dfun values)
with the oracle's seed, and every coupling case (tests/model_cases.py COUPLING_CASES: TVB's
couplings that CASES does not run, and a coupling reading two variables of source and target).

Run on a machine with an NVIDIA GPU: ``python -m pytest -m gpu -q tests/gpu``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from brainsweep.dsl import load_model
from brainsweep.monitors.balloon import balloon_preset
from model_cases import (
    CASES,
    COUPLING_CASES,
    EPILEPTOR_NOISE,
    N_REGIONS,
    NOISY_EPILEPTOR,
    RATE_DRIVEN_BOLD,
    RATEML_CASES,
    RTOL,
    Case,
    coupling_case,
    initial_state,
    model_variant,
    relative_error,
    run_oracle,
    run_target,
    subnetwork,
)

pytestmark = pytest.mark.gpu

XML = Path(__file__).resolve().parents[2] / "resources" / "rateml-xml"
# target -> the fixture that gives its device (and skips without one)
TARGETS = {"cuda": "cuda_device", "opencl": "opencl_gpu"}


@pytest.fixture(scope="module")
def network(hcp_connectome):
    return subnetwork(hcp_connectome)


@pytest.fixture(scope="module")
def oracle(network):
    """``get(key, model, case, integrator, initial, **options)``: the oracle, once per key."""
    store = {}

    def get(key, model, case, integrator, initial, **options):
        if key not in store:
            ref = run_oracle(network, model, case, integrator=integrator, initial=initial,
                             **options)
            assert not ref.diverged
            store[key] = ref
        return store[key]

    return get


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("name", sorted(CASES))
def test_shipped_model_matches_oracle(request, network, oracle, name, target):
    device = request.getfixturevalue(TARGETS[target])
    case, model = CASES[name], load_model(name)
    initial = initial_state(model, N_REGIONS, case.perturbation, seed=len(name))
    ref = oracle(("shipped", name), model, case, "heun", initial)
    out = run_target(network, model, case, target=target, integrator="heun", initial=initial,
                     device=device)
    assert not out.diverged[0]
    assert relative_error(out.raw[0], ref.raw) <= RTOL


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("name", sorted(RATEML_CASES))
def test_rateml_file_matches_oracle(request, network, oracle, name, target):
    device = request.getfixturevalue(TARGETS[target])
    path, case = XML / f"{name}.xml", RATEML_CASES[name]
    model = load_model(path)
    initial = initial_state(model, N_REGIONS, case.perturbation, seed=len(name))
    ref = oracle(("rateml", name), model, case, "euler", initial)
    out = run_target(network, path, case, target=target, integrator="euler", initial=initial,
                     device=device)
    assert "coupling.global_coupling" in out.parameter_names  # the file's own coupling
    assert not out.diverged[0]
    assert relative_error(out.raw[0], ref.raw) <= RTOL


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_bold_observable_reads_auxiliaries(request, network, oracle, tmp_path, target):
    device = request.getfixturevalue(TARGETS[target])
    model = load_model(model_variant("rww", RATE_DRIVEN_BOLD, tmp_path))
    case = Case("linear", dt=0.1, n_steps=2000, params={"global_coupling": 0.5})
    initial = initial_state(model, N_REGIONS, case.perturbation, seed=17)
    ref = oracle(("rate-driven",), model, case, "heun", initial, raw_period=0,
                 bold_period=100, bold_substeps=10, dt_bold_s=1e-3,
                 balloon=balloon_preset("friston2003"))
    out = run_target(network, model, case, target=target, integrator="heun", initial=initial,
                     device=device, monitors=("bold",), bold_period_s=0.01, bold_dt_s=1e-3)
    assert relative_error(out.bold[0], ref.bold) <= RTOL


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_same_seed_same_noisy_trajectory(request, network, oracle, target):
    device = request.getfixturevalue(TARGETS[target])
    model, case = load_model("epileptor"), NOISY_EPILEPTOR
    initial = initial_state(model, N_REGIONS, case.perturbation, seed=41)
    ref = oracle(("noisy-epileptor",), model, case, "heun", initial, noise=EPILEPTOR_NOISE,
                 seed=5, sim_index=3)
    out = run_target(network, model, case, target=target, integrator="heun", initial=initial,
                     device=device, stochastic=True, noise=EPILEPTOR_NOISE, seed=5,
                     sim_index=[3])
    assert not out.diverged[0]
    assert relative_error(out.raw[0], ref.raw) <= RTOL


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("key", sorted(COUPLING_CASES))
def test_coupling_matches_oracle(request, network, oracle, key, target):
    device = request.getfixturevalue(TARGETS[target])
    model, case = coupling_case(key)
    initial = initial_state(model, N_REGIONS, case.perturbation, seed=len(key))
    ref = oracle(("coupling", key), model, case, "heun", initial)
    out = run_target(network, model, case, target=target, integrator="heun", initial=initial,
                     device=device)
    assert not out.diverged[0]
    assert relative_error(out.raw[0], ref.raw) <= RTOL
