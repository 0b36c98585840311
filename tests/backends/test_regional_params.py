"""Per-region parameters on the CPU: Numba and OpenCL (PoCL) against the float64 oracle.

The oracle evaluates every expression over all nodes at once, so a parameter given per region
is simply an (N,) array there; the kernels read it per node from their own regional table.
A regional vector of equal values must give the scalar parameter's results to the bit: both
kernels round the same float64 value to the kernel's type and do the same arithmetic.
"""

from __future__ import annotations

import numpy as np
import pytest

from brainsweep import codegen, reference, simulate
from brainsweep.backends.opencl_target import OpenCLTarget
from brainsweep.errors import InputError
from brainsweep.monitors.balloon import balloon_preset
from brainsweep.network.plan import plan_shard
from brainsweep.simulate.memory import host_memory
from regional_cases import regional_eta, regional_sweep, relative_error

EPS32 = float(np.finfo(np.float32).eps)


def oracle(conn, out, model: str, *, regional: dict[str, np.ndarray], row: int, n_steps: int,
           stochastic: bool, raw_period: int, **monitors):
    """The oracle for row ``row`` of ``out``, with the regional values of that row and the
    model file's noise intensities."""
    spec = codegen.kernel_spec(model, stochastic=stochastic, regional=tuple(regional))
    params = dict(zip(out.parameter_names, out.parameters[row], strict=True))
    params.update({name: values[row] for name, values in regional.items()})
    n_nodes = conn.weights.shape[0]
    return reference.simulate_one(
        spec, weights=conn.weights, lengths=conn.lengths, params=params, dt=0.1,
        n_steps=n_steps, initial=np.array([[s.initial] * n_nodes for s in spec.model.states]),
        noise=np.array([s.noise for s in spec.model.states]), seed=11, sim_index=row,
        raw_period=raw_period, **monitors)


@pytest.mark.parametrize("stochastic", [False, True], ids=["deterministic", "noise"])
def test_numba_matches_oracle_with_eta_per_region(hcp_connectome, stochastic):
    conn = hcp_connectome
    n_steps = 2000
    eta = regional_eta(2, conn.weights.shape[0])
    out = simulate.run(conn, "montbrio", n_steps=n_steps, dtype="float64", seed=11,
                       params={"global_coupling": [0.4, 0.5], "speed": [3.0, 6.0], "eta": eta},
                       stochastic=stochastic, monitors=("raw", "bold"), raw_period=10,
                       bold_period_s=0.1, bold_dt_s=0.001)
    assert out.regional_names == ("eta",) and out.regional.shape == (2, 1, 80)
    np.testing.assert_allclose(out.parameters[:, out.parameter_names.index("eta")],
                               eta.mean(axis=1))
    for row in range(2):
        ref = oracle(conn, out, "montbrio", regional={"eta": eta}, row=row, n_steps=n_steps,
                     stochastic=stochastic,
                     raw_period=10, bold_period=1000, bold_substeps=10,
                     balloon=balloon_preset("friston2003"), dt_bold_s=0.001)
        assert not ref.diverged and not out.diverged[row]
        assert relative_error(out.raw[row], ref.raw) <= 1e-10
        assert relative_error(out.bold[row], ref.bold) <= 1e-10
        # the map matters: the rates differ across regions by ~10 % (0.08 to 0.09)
        assert np.ptp(ref.raw[-1, 0]) > 5e-3


def test_numba_matches_oracle_for_two_regional_parameters(hcp_connectome):
    """ReducedWongWangExcInh with w_p and J_i per region (one map for every simulation)."""
    conn = hcp_connectome
    n_nodes = conn.weights.shape[0]
    generator = np.random.default_rng(3)
    regional = {"w_p": generator.uniform(1.2, 1.6, (1, n_nodes)),
                "J_i": generator.uniform(0.8, 1.2, (1, n_nodes))}
    out = simulate.run(conn, "rww_exc_inh", n_steps=2000, dtype="float64", seed=11,
                       params={"G": [1.0, 2.0], "speed": [3.0, 3.0], **regional},
                       stochastic=False, monitors=("raw",), raw_period=10)
    assert out.regional_names == ("w_p", "J_i")  # the model's parameter order
    for row in range(2):
        ref = oracle(conn, out, "rww_exc_inh", regional={k: np.repeat(v, 2, axis=0)
                                                         for k, v in regional.items()},
                     row=row, n_steps=2000, stochastic=False, raw_period=10)
        assert relative_error(out.raw[row], ref.raw) <= 1e-10
        assert np.ptp(ref.raw[-1, 0]) > 1e-3  # the regions differ


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_equal_regional_values_are_bit_identical_to_the_scalar(hcp_connectome, dtype):
    conn = hcp_connectome
    n_nodes = conn.weights.shape[0]
    common = dict(n_steps=1500, dtype=dtype, seed=5, stochastic=True,
                  monitors=("raw", "tavg", "bold"), raw_period=5, bold_period_s=0.05,
                  bold_dt_s=0.001)
    scalar = simulate.run(conn, "montbrio", params={"eta": [-4.9, -5.0],
                                                    "global_coupling": [0.4, 0.5]}, **common)
    regional = simulate.run(conn, "montbrio", params={
        "eta": np.array([[-4.9] * n_nodes, [-5.0] * n_nodes]),
        "global_coupling": [0.4, 0.5]}, **common)
    for monitor in ("raw", "tavg", "bold"):
        np.testing.assert_array_equal(getattr(regional, monitor), getattr(scalar, monitor))
    # the table's column holds the regional mean (for reading), here the value up to rounding
    np.testing.assert_allclose(regional.parameters, scalar.parameters, rtol=1e-15)


def test_homogeneous_kernels_do_not_read_a_regional_table():
    for target in ("numba", "cuda", "opencl"):
        plain = codegen.generate("montbrio", target=target)
        assert "regional" not in plain
        spec = codegen.kernel_spec("montbrio", regional=("eta",))
        source = codegen.generate(spec, target=target)
        assert "regional" in source and "p_eta = real(params" not in source
        assert codegen.spec_hash(spec, target) != codegen.spec_hash(
            codegen.kernel_spec("montbrio"), target)


def test_bad_regional_values_are_refused(hcp_connectome):
    conn = hcp_connectome
    run = dict(n_steps=10, monitors=("raw",), stochastic=False)
    with pytest.raises(InputError) as error:
        simulate.run(conn, "montbrio", params={"eta": np.zeros((1, 79))}, **run)
    assert error.value.field == "params.eta" and "(1, 79)" in str(error.value)
    with pytest.raises(InputError) as error:
        simulate.run(conn, "montbrio", params={"eta": np.zeros((3, 80)),
                                               "global_coupling": [0.1, 0.2]}, **run)
    assert error.value.field == "params" and "'eta': 3" in str(error.value)
    with pytest.raises(InputError) as error:
        simulate.run(conn, "montbrio", params={"speed": np.full((1, 80), 3.0)}, **run)
    assert error.value.field == "regional" and "'speed'" in str(error.value)
    with pytest.raises(InputError) as error:
        simulate.run(conn, "montbrio", params={"eta": np.full((1, 80), np.nan)}, **run)
    assert error.value.field == "params.eta"


def test_the_planner_counts_the_regional_tables(hcp_connectome):
    conn = hcp_connectome
    common = dict(dt=0.1, n_states=2, n_cvars=1, n_params=9, frames=(0, 0, 10),
                  dtype="float32")
    speeds = np.array([3.0, 3.0, 6.0])
    plain = plan_shard(conn.weights, conn.lengths, speeds, **common)
    two = plan_shard(conn.weights, conn.lengths, speeds, n_regional=2, **common)
    assert two.total_bytes - plain.total_bytes == 3 * 2 * 80 * 8
    assert (host_memory(two, concurrent=2).working
            - host_memory(plain, concurrent=2).working) == 2 * 2 * 80 * 8


OPENCL, WHY = OpenCLTarget.available()


@pytest.mark.skipif(not OPENCL, reason=f"OpenCL target unavailable: {WHY}")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_opencl_matches_numba_with_eta_per_region(hcp_connectome, dtype):
    """PoCL runs the shared GPU templates: the regional table in [R][N][S] order, by plan."""
    reference_run = regional_sweep(hcp_connectome, target="numba", dtype="float64")
    out = regional_sweep(hcp_connectome, target="opencl", dtype=dtype)
    assert not out.diverged.any()
    bound = 1e-9 if dtype == "float64" else 16 * EPS32  # as tests/backends/test_opencl_target
    for monitor in ("raw", "tavg", "bold"):
        error = relative_error(getattr(out, monitor).astype(np.float64),
                               getattr(reference_run, monitor))
        assert error <= bound, (monitor, error)
