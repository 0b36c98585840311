"""The issue-17 kernels on an NVIDIA GPU, CUDA and OpenCL, with the tolerances of their CPU
tests (tests/backends/test_factorised_coupling.py, tests/backends/test_split_mapping.py):

* factorised couplings (Kuramoto: sin and cos in the history; difference: row sums) in float64
  against the float64 oracle (≤ 1e-9), and in float32 against the unfactorised kernel
  (≤ 64 eps32);
* the split mapping (many threads per simulation) chosen by the device for a small shard and
  forced at geometries that share blocks, need several rounds and split connections: float64
  against the one-thread kernel and the oracle (≤ 1e-9), a diverged simulation masked alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from brainsweep import codegen, reference, simulate
from brainsweep.dsl import load_model
from brainsweep.registry import get_target
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

pytestmark = pytest.mark.gpu
EPS32 = float(np.finfo(np.float32).eps)


@pytest.fixture(params=["cuda", "opencl"])
def gpu(request) -> tuple[str, str]:
    fixture = {"cuda": "cuda_device", "opencl": "opencl_gpu"}[request.param]
    return request.param, request.getfixturevalue(fixture)


@pytest.fixture(scope="module")
def network(hcp):
    return subnetwork(hcp)


FACTORISED = {
    "kuramoto": lambda: (load_model("kuramoto"), CASES["kuramoto"]),
    "kuramoto_mean_field": lambda: coupling_case("kuramoto_mean_field"),
    "sup_hopf": lambda: (load_model("sup_hopf"), CASES["sup_hopf"]),
    "epileptor": lambda: (load_model("epileptor"), CASES["epileptor"]),
}


@pytest.mark.parametrize("key", sorted(FACTORISED))
def test_factorised_couplings_match_the_oracle(gpu, network, key):
    target, device = gpu
    model, case = FACTORISED[key]()
    initial = initial_state(model, N_REGIONS, case.perturbation, seed=len(key))
    ref = run_oracle(network, model, case, integrator="heun", initial=initial).raw
    out = run_target(network, model, case, target=target, integrator="heun",
                     initial=initial, device=device)
    assert codegen.kernel_spec(model, coupling=case.coupling).factorise
    assert relative_error(out.raw[0], ref) <= RTOL
    runs = [run_target(network, model, case, target=target, integrator="heun",
                       initial=initial, device=device, dtype="float32",
                       factorise=factorise).raw[0] for factorise in (True, False)]
    assert relative_error(runs[0], runs[1]) <= 64 * EPS32
    assert relative_error(runs[0], ref) <= 64 * EPS32


def _initial(hcp, n_sims: int) -> np.ndarray:
    """(S, 2, N) random initial states near MontbrioPazoRoxin's low-activity state."""
    generator = np.random.default_rng(20261202)
    n = hcp.weights.shape[0]
    return np.stack([generator.uniform(0.05, 0.3, (n_sims, n)),
                     generator.uniform(-2.2, -1.2, (n_sims, n))], axis=1)


def _sweep(hcp, target, device, *, mapping, geometry=None, n_sims=3, **overrides):
    options = dict(n_steps=1000, integrator="heun", dtype="float64",
                   monitors=("raw", "tavg", "bold"), seed=11, bold_period_s=0.02,
                   bold_dt_s=1e-4, tavg_period=10, initial_state=_initial(hcp, n_sims),
                   stochastic=True,
                   noise={"r": 0.01, "V": 0.02}, device=device,
                   params={"global_coupling": np.linspace(0.3, 0.6, n_sims),
                           "speed": np.where(np.arange(n_sims) % 2, 6.0, 3.0),
                           "eta": np.linspace(-5.0, -4.8, n_sims)})
    options.update(overrides)
    cls = type(get_target(target))  # get_target gives a new instance: set the class
    saved = cls.mapping, cls.split_geometry
    cls.mapping, cls.split_geometry = mapping, geometry
    try:
        return simulate.run(hcp, "montbrio", target=target, **options)
    finally:
        cls.mapping, cls.split_geometry = saved


# the split kernel's block on NVIDIA's OpenCL holds at most 256 work-items (its registers), on
# CUDA 1024: geometries beyond 256 run on CUDA and are refused on OpenCL with that limit named
OPENCL_SPLIT_LIMIT = 256


def _refused_on_opencl(target: str, geometry) -> bool:
    if target != "opencl" or geometry is None or np.prod(geometry) <= OPENCL_SPLIT_LIMIT:
        return False
    return True


@pytest.mark.parametrize("geometry", [None, (2, 16, 3), (1, 80, 3), (3, 80, 1), (1, 80, 12),
                                      (4, 80, 2)],
                         ids=["device's", "2x16x3", "1x80x3", "3x80x1", "1x80x12", "4x80x2"])
def test_split_matches_the_one_thread_kernel(gpu, hcp, geometry):
    target, device = gpu
    n_sims = 40  # two lane blocks: the device's own choice is the split kernel
    if _refused_on_opencl(target, geometry):
        with pytest.raises(ValueError, match=f"exceeds the kernel's {OPENCL_SPLIT_LIMIT} "):
            _sweep(hcp, target, device, mapping="split", geometry=geometry, n_sims=n_sims)
        return
    lanes = _sweep(hcp, target, device, mapping="lanes", n_sims=n_sims)
    split = _sweep(hcp, target, device, mapping=None if geometry is None else "split",
                   geometry=geometry, n_sims=n_sims)
    assert not lanes.diverged.any() and not split.diverged.any()
    for monitor in ("raw", "tavg", "bold"):
        assert relative_error(getattr(split, monitor), getattr(lanes, monitor)) <= 1e-9


def test_split_matches_the_oracle(gpu, hcp):
    target, device = gpu
    # one round (every node its own advancing thread), 3 connection parts: 240 work-items
    out = _sweep(hcp, target, device, mapping="split", geometry=(1, 80, 3), n_sims=1,
                 n_steps=300, monitors=("raw",), coupling="difference", sim_index=[7])
    spec = codegen.kernel_spec("montbrio", coupling="difference")
    ref = reference.simulate_one(
        spec, weights=hcp.weights, lengths=hcp.lengths,
        params=dict(zip(spec.parameter_names, out.parameters[0], strict=True)), dt=0.1,
        n_steps=300, initial=_initial(hcp, 1)[0], noise=np.array([0.01, 0.02]), seed=11,
        sim_index=7, raw_period=1)
    assert relative_error(out.raw[0], ref.raw) <= 1e-9


def test_split_masks_a_diverged_simulation_alone(gpu, hcp):
    target, device = gpu
    params = {"global_coupling": [0.3, 0.8, 0.5], "speed": [3.0, 6.0, 3.0],
              "eta": [-5.0, 10.0, -4.9], "J": [15.0, 25.0, 15.0]}
    out = _sweep(hcp, target, device, mapping="split", geometry=(2, 16, 3), params=params)
    np.testing.assert_array_equal(out.diverged, [False, True, False])
    assert np.isnan(out.raw[1]).all()
    assert np.isfinite(out.raw[[0, 2]]).all()
