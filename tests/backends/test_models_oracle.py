"""Every shipped model against the float64 oracle: Numba float64 × euler/heun/rk4, and the
OpenCL target (float64, PoCL on the CPU) × heun against both the oracle and Numba.

The cases (network, steps, couplings, parameters, why Larter-Breakspear's horizon is short)
are in tests/model_cases.py, shared with the GPU tests (tests/gpu/test_models_gpu.py). The
integrators of the OpenCL target are compared with the oracle on Montbrio in
tests/backends/test_opencl_target.py; here every model's right-hand side, auxiliaries and coupling
go through it. Bound: relative error ``‖out − ref‖ / ‖ref‖ ≤ 1e-9`` (float64 against float64).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from brainsweep import simulate
from brainsweep.backends.opencl_target import OpenCLTarget
from brainsweep.codegen import kernel_spec
from brainsweep.dsl import list_couplings, list_models, load_model
from brainsweep.monitors.balloon import balloon_preset
from model_cases import (
    CASES,
    COUPLING_CASES,
    EPILEPTOR_NOISE,
    INTEGRATORS,
    N_REGIONS,
    NOISY_EPILEPTOR,
    RATE_DRIVEN_BOLD,
    RATE_WITHOUT_INPUT_BOLD,
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

OPENCL_OK, OPENCL_WHY = OpenCLTarget.available()
needs_opencl = pytest.mark.skipif(not OPENCL_OK, reason=f"OpenCL unavailable: {OPENCL_WHY}")


def cases():
    """(model, integrator) pairs; rk4 is marked slow (one more compiled kernel per model)."""
    for name in sorted(CASES):
        for integrator in INTEGRATORS:
            marks = [pytest.mark.slow] if integrator == "rk4" else []
            yield pytest.param(name, integrator, marks=marks, id=f"{name}-{integrator}")


@pytest.fixture(scope="module")
def network(hcp_connectome):
    return subnetwork(hcp_connectome)


@pytest.fixture(scope="module")
def trajectories(network):
    """``get(name, integrator, target)``: the raw trajectory, computed once per module (the
    OpenCL tests reuse the Numba tests' runs and oracle)."""
    store: dict[tuple[str, str, str], np.ndarray] = {}

    def get(name: str, integrator: str, target: str) -> np.ndarray:
        key = (name, integrator, target)
        if key not in store:
            case, model = CASES[name], load_model(name)
            initial = initial_state(model, N_REGIONS, case.perturbation, seed=len(name))
            if target == "oracle":
                ref = run_oracle(network, model, case, integrator=integrator, initial=initial)
                assert not ref.diverged
                store[key] = ref.raw
            else:
                out = run_target(network, model, case, target=target, integrator=integrator,
                                 initial=initial)
                assert not out.diverged[0]
                store[key] = out.raw[0]
        return store[key]

    return get


def test_every_shipped_model_has_a_case():
    assert set(list_models()) == set(CASES)


def test_delays_are_real(network):
    from brainsweep.reference import delay_steps

    delays = delay_steps(network.lengths, 3.0, 0.1)
    assert delays.max() > 500 and np.unique(delays[network.weights > 0]).size > 100


@pytest.mark.parametrize(("name", "integrator"), list(cases()))
def test_numba_matches_oracle(trajectories, name, integrator):
    ref = trajectories(name, integrator, "oracle")
    # the state moves: agreement on a fixed point would prove little
    assert np.ptp(ref[:, 0, :], axis=0).max() > 1e-3
    assert relative_error(trajectories(name, integrator, "numba"), ref) <= RTOL


@needs_opencl
@pytest.mark.parametrize("name", sorted(CASES))
def test_opencl_matches_oracle_and_numba(trajectories, name):
    out = trajectories(name, "heun", "opencl")
    assert relative_error(out, trajectories(name, "heun", "oracle")) <= RTOL
    assert relative_error(out, trajectories(name, "heun", "numba")) <= RTOL


@pytest.fixture(scope="module")
def noisy_epileptor(network):
    """Stochastic heun on Epileptor: the oracle's trajectory for seeds 5 and 6."""
    model, case = load_model("epileptor"), NOISY_EPILEPTOR
    initial = initial_state(model, N_REGIONS, case.perturbation, seed=41)
    refs = {seed: run_oracle(network, model, case, integrator="heun", initial=initial,
                             noise=EPILEPTOR_NOISE, seed=seed, sim_index=3).raw
            for seed in (5, 6)}
    return SimpleNamespace(model=model, case=case, initial=initial, refs=refs)


@pytest.mark.parametrize("target", ["numba", pytest.param("opencl", marks=needs_opencl)])
def test_same_seed_same_noisy_trajectory_on_every_target(network, noisy_epileptor, target):
    """Six noisy variables (two Philox blocks): same seed and simulation index, same
    trajectory as the oracle; another seed, another trajectory. With the sigmoidal coupling
    dfun reads more than 30 values (see tests/model_cases.py), as Larter-Breakspear's does."""
    spec = kernel_spec(noisy_epileptor.model, coupling=noisy_epileptor.case.coupling)
    model = noisy_epileptor.model
    assert len(model.states) + len(model.coupling_terms) + len(spec.parameter_names) - 1 > 30
    ref = noisy_epileptor.refs[5]
    assert relative_error(noisy_epileptor.refs[6], ref) > 1e-3
    out = run_target(network, noisy_epileptor.model, noisy_epileptor.case, target=target,
                     integrator="heun", initial=noisy_epileptor.initial, stochastic=True,
                     noise=EPILEPTOR_NOISE, seed=5, sim_index=[3])
    assert not out.diverged[0]
    assert relative_error(out.raw[0], ref) <= RTOL


@pytest.fixture(scope="module")
def rate_driven(tmp_path_factory, network):
    """ReducedWongWang with ``bold: H`` (an auxiliary that reads the coupling input) and the
    oracle's BOLD of it, of the shipped ``bold: S``, and of H without the input in the drive."""
    folder = tmp_path_factory.mktemp("rww")
    model = load_model(model_variant("rww", RATE_DRIVEN_BOLD, folder))
    case = Case("linear", dt=0.1, n_steps=2000, params={"global_coupling": 0.5})
    initial = initial_state(model, N_REGIONS, case.perturbation, seed=17)

    def oracle_bold(variant):
        ref = run_oracle(network, variant, case, integrator="heun", initial=initial,
                         raw_period=0, bold_period=100, bold_substeps=10, dt_bold_s=1e-3,
                         balloon=balloon_preset("friston2003"))
        assert not ref.diverged
        return ref.bold

    return dict(model=model, case=case, initial=initial, bold=oracle_bold(model),
                bold_of_s=oracle_bold(load_model("rww")),
                without_input=oracle_bold(load_model(model_variant(
                    "rww", RATE_WITHOUT_INPUT_BOLD, folder))))


@pytest.mark.parametrize("target", ["numba", pytest.param("opencl", marks=needs_opencl)])
def test_bold_observable_reads_auxiliaries_and_coupling(network, rate_driven, target):
    """A drive that reads an auxiliary (H), which reads the coupling input, on every target."""
    ref = rate_driven["bold"]
    # the comparison can fail: the drive matters, and so does the network input inside it
    assert relative_error(rate_driven["bold_of_s"], ref) > 1e-2
    assert relative_error(rate_driven["without_input"], ref) > 1e-3
    out = run_target(network, rate_driven["model"], rate_driven["case"], target=target,
                     integrator="heun", initial=rate_driven["initial"], monitors=("bold",),
                     bold_period_s=0.01, bold_dt_s=1e-3)
    assert out.bold.shape == (1, 20, N_REGIONS)
    assert relative_error(out.bold[0], ref) <= RTOL


def test_network_input_matters(network):
    """Coupling changes the trajectory (so the comparisons above exercise the delays)."""
    case = CASES["rww"]
    model = load_model("rww")
    initial = initial_state(model, N_REGIONS, case.perturbation, seed=3)
    runs = [simulate.run(network, model, dt=case.dt, n_steps=500, integrator="heun",
                         params={"global_coupling": g}, coupling="linear", stochastic=False,
                         monitors=("raw",), initial_state=initial).raw[0] for g in (0.0, 0.5)]
    assert relative_error(runs[1], runs[0]) > 1e-3


def test_every_coupling_has_a_case():
    covered = {case.coupling for case in CASES.values()} | set(COUPLING_CASES)
    assert set(list_couplings()) <= covered


@pytest.fixture(scope="module")
def coupling_runs(network):
    """``get(key, target)``: the raw heun trajectory of COUPLING_CASES[key], once per key."""
    store: dict[tuple[str, str], np.ndarray] = {}

    def get(key: str, target: str) -> np.ndarray:
        if (key, target) not in store:
            model, case = coupling_case(key)
            initial = initial_state(model, N_REGIONS, case.perturbation, seed=len(key))
            if target == "oracle":
                ref = run_oracle(network, model, case, integrator="heun", initial=initial)
                assert not ref.diverged
                store[key, target] = ref.raw
            else:
                out = run_target(network, model, case, target=target, integrator="heun",
                                 initial=initial)
                assert not out.diverged[0]
                store[key, target] = out.raw[0]
        return store[key, target]

    return get


@pytest.mark.parametrize("key", sorted(COUPLING_CASES))
def test_coupling_numba_matches_oracle(network, coupling_runs, key):
    ref = coupling_runs(key, "oracle")
    assert np.ptp(ref[:, 0, :], axis=0).max() > 1e-3
    assert relative_error(coupling_runs(key, "numba"), ref) <= RTOL
    # the network input matters: without it the trajectory differs
    model, case = coupling_case(key)
    uncoupled = Case(case.coupling, dt=case.dt, n_steps=case.n_steps,
                     params={**case.params, "global_coupling": 0.0},
                     perturbation=case.perturbation)
    initial = initial_state(model, N_REGIONS, case.perturbation, seed=len(key))
    alone = run_target(network, model, uncoupled, target="numba", integrator="heun",
                       initial=initial).raw[0]
    assert relative_error(alone, ref) > 1e-6


@needs_opencl
@pytest.mark.parametrize("key", sorted(COUPLING_CASES))
def test_coupling_opencl_matches_oracle(coupling_runs, key):
    assert relative_error(coupling_runs(key, "opencl"), coupling_runs(key, "oracle")) <= RTOL


def test_two_variable_coupling_stores_both_and_one_variable_only_the_first():
    """JansenRit lists [y1, y2]: SigmoidalJansenRit's history holds both, linear's only y1
    (the kernel of a single-variable coupling is the one it was before terms could list more)."""
    two = kernel_spec("jansen_rit", coupling="sigmoidal_jansen_rit")
    one = kernel_spec("jansen_rit", coupling="linear")
    assert two.model.coupled_states == ("y1", "y2") and one.model.coupled_states == ("y1",)


def test_coupling_reading_more_variables_than_the_term_lists_is_refused():
    with pytest.raises(Exception, match=r"montbrio\.yaml.*coupling_terms\..*reads 2 variables"):
        kernel_spec("montbrio", coupling="sigmoidal_jansen_rit")
