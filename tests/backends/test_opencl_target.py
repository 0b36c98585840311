"""The OpenCL target on PoCL (CPU) against the Numba target, the float64 oracle and rng.

Data: HCP subject 101309 (AAL2, 94 → 80 cortical regions), weights normalised by their
maximum, tract lengths in mm; two simulations at 3 and 6 m/s (two delay matrices, delays up to
954 steps, so the 2000-step runs wrap the history ring twice) from random initial states.

Tolerances
----------
float64: relative error ``‖out − ref‖ / ‖ref‖ ≤ 1e-9`` against Numba and the oracle. Both
sides evaluate the same expressions in the same order; what differs is the math library (the
balloon's ``pow``, Box–Muller's ``log``/``cos``, a few ulp) and contraction into fused
multiply-adds, ~1e-16 per step, which a damped network does not amplify (measured: 1e-16 for
the states, 4e-12 for BOLD).

float32: relative error against float64 Numba ``≤ 16 · eps32`` (1.9e-6) over 2000 steps. The
network sits near a stable state (the low-activity state of Montbrió–Pazó–Roxin at these
parameters, away from the irregular high-activity regime, where any two math libraries' ulp
differences grow exponentially), so every step's rounding, a few eps32, is damped rather than
accumulated; we measured ≤ 1 eps32. A real fault (a wrong delay, a dropped term, the wrong
noise) gives errors above 1e-3.

Normals: within 3 ulp of the value computed exactly (in wider precision) from the same
rounded uniforms, 99 % within 2 ulp (measured 99.88 %), mean ≤ 0.6 ulp (measured 0.45).
Box–Muller composes log, sqrt, cos and a product, each within about an ulp, so the worst case
reaches ~2.7 ulp (NumPy's own float32 reference is up to 3 ulp off the exact value).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.io

from brainsweep import codegen, reference, rng, simulate
from brainsweep.backends.opencl_target import OpenCLTarget, philox_sample
from brainsweep.regions import select_regions

ok, why = OpenCLTarget.available()
pytestmark = pytest.mark.skipif(not ok, reason=f"OpenCL target unavailable: {why}")

HCP = Path(__file__).resolve().parents[2] / "resources" / "hcp-aal2" / "subjects" / "101309"
EPS32 = float(np.finfo(np.float32).eps)
N_STEPS = 2000
SPEEDS = [3.0, 6.0]


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(ref)), "NaN never passes"
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


@pytest.fixture(scope="module")
def hcp():
    keep = select_regions(94, preset="aal2-cortical")
    weights = scipy.io.loadmat(HCP / "structural" / "DTI_CM.mat")["sc"][np.ix_(keep, keep)]
    lengths = scipy.io.loadmat(HCP / "structural" / "DTI_LEN.mat")["len"][np.ix_(keep, keep)]
    return SimpleNamespace(weights=weights / weights.max(), lengths=lengths)


@pytest.fixture(scope="module")
def initial(hcp):
    """Random initial states (S, V, N) around the model's, so that transients use the delays."""
    generator = np.random.default_rng(20240611)
    n = hcp.weights.shape[0]
    r = generator.uniform(0.05, 0.3, (len(SPEEDS), n))
    v = generator.uniform(-2.2, -1.2, (len(SPEEDS), n))
    return np.stack([r, v], axis=1)


def sweep(conn, initial, *, target, dtype="float64", noisy, seed=11, **overrides):
    """Two simulations; one compiled Numba kernel serves both cases (noise 0 adds exactly 0)."""
    options = dict(
        n_steps=N_STEPS, integrator="heun", dtype=dtype, monitors=("raw", "tavg", "bold"),
        params={"global_coupling": [0.3, 0.6], "speed": SPEEDS, "eta": [-5.0, -4.8]},
        seed=seed, bold_period_s=0.02, bold_dt_s=1e-4, tavg_period=10, initial_state=initial,
        stochastic=True, noise={"r": 0.01, "V": 0.02} if noisy else {"r": 0.0, "V": 0.0})
    options.update(overrides)
    return simulate.run(conn, "montbrio", target=target, **options)


@pytest.fixture(scope="module")
def numba64(hcp, initial):
    return {noisy: sweep(hcp, initial, target="numba", noisy=noisy) for noisy in (False, True)}


@pytest.mark.parametrize("noisy", [False, True], ids=["deterministic", "stochastic"])
def test_float64_matches_numba(hcp, initial, numba64, noisy):
    ref = numba64[noisy]
    # the deterministic kernel variant: no noise code at all
    out = sweep(hcp, initial, target="opencl", noisy=noisy, stochastic=noisy)
    assert not ref.diverged.any() and not out.diverged.any()
    assert np.ptp(ref.raw, axis=1).max(axis=(1, 2)).min() > 0.1  # trajectories, not fixed points
    for monitor in ("raw", "tavg", "bold"):
        assert relative_error(getattr(out, monitor), getattr(ref, monitor)) <= 1e-9, monitor


def test_same_seed_same_trajectory_and_shard_independence(hcp, initial):
    first = sweep(hcp, initial, target="opencl", noisy=True, n_steps=300)
    again = sweep(hcp, initial, target="opencl", noisy=True, n_steps=300)
    np.testing.assert_array_equal(first.raw, again.raw)
    other_seed = sweep(hcp, initial, target="opencl", noisy=True, n_steps=300, seed=12)
    assert relative_error(other_seed.raw, first.raw) > 1e-3
    # The second simulation alone, keyed by its global index, draws the same noise.
    alone = sweep(hcp, initial[1:], target="opencl", noisy=True, n_steps=300, sim_index=[1],
                  params={"global_coupling": [0.6], "speed": [6.0], "eta": [-4.8]})
    np.testing.assert_array_equal(alone.raw[0], first.raw[1])


@pytest.mark.parametrize(("integrator", "stochastic"),
                         [("euler", True), ("heun", True), ("rk4", False)])
def test_float64_matches_oracle(hcp, initial, integrator, stochastic):
    """A short run at 20 m/s (delays up to 143 steps: the ring wraps) against reference.py."""
    n_steps, speed, seed = 300, 20.0, 5
    out = simulate.run(
        hcp, "montbrio", target="opencl", n_steps=n_steps, integrator=integrator,
        stochastic=stochastic, noise={"r": 0.01, "V": 0.02}, seed=seed, sim_index=[7],
        params={"global_coupling": 0.6, "speed": speed, "eta": -4.8}, initial_state=initial[0],
        monitors=("raw", "tavg"), tavg_period=10)
    spec = codegen.kernel_spec("montbrio", integrator=integrator, stochastic=stochastic)
    params = dict(zip(spec.parameter_names, out.parameters[0], strict=True))
    ref = reference.simulate_one(
        spec, weights=hcp.weights, lengths=hcp.lengths, params=params, dt=0.1,
        n_steps=n_steps, initial=initial[0], noise=np.array([0.01, 0.02]), seed=seed,
        sim_index=7, raw_period=1, tavg_period=10)
    assert reference.delay_steps(hcp.lengths, speed, 0.1).max() < n_steps / 2
    assert relative_error(out.raw[0], ref.raw) <= 1e-9
    assert relative_error(out.tavg[0], ref.tavg) <= 1e-9


@pytest.mark.parametrize("noisy", [False, True], ids=["deterministic", "stochastic"])
def test_float32_within_bound_of_float64(hcp, initial, numba64, noisy):
    out = sweep(hcp, initial, target="opencl", dtype="float32", noisy=noisy)
    assert out.raw.dtype == np.float32
    for monitor in ("raw", "tavg", "bold"):
        error = relative_error(getattr(out, monitor).astype(np.float64),
                               getattr(numba64[noisy], monitor))
        assert error <= 16 * EPS32, (monitor, error / EPS32)


def test_divergence_flagged_and_masked(hcp, initial, numba64):
    """An exploding simulation is flagged and NaN; its neighbour is untouched."""
    kwargs = dict(n_steps=N_STEPS, noisy=True,
                  params={"global_coupling": [0.3, 0.8], "speed": SPEEDS, "eta": [-5.0, 10.0],
                          "J": [15.0, 25.0]})
    out = sweep(hcp, initial, target="opencl", **kwargs)
    ref = sweep(hcp, initial, target="numba", **kwargs)
    np.testing.assert_array_equal(out.diverged, [False, True])
    np.testing.assert_array_equal(ref.diverged, out.diverged)
    assert np.isnan(out.raw[1]).all() and np.isnan(out.bold[1]).all()
    assert relative_error(out.raw[0], numba64[True].raw[0]) <= 1e-9


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_philox_words_and_normals(dtype):
    generator = np.random.default_rng(99)
    n = 4096
    sim, step, node = (generator.integers(0, 2**32, n, dtype=np.uint64) for _ in range(3))
    block = generator.integers(0, 4, n, dtype=np.uint64)
    seed = 0xDEADBEEF
    source = codegen.generate("montbrio", target="opencl", dtype=dtype)
    words, normals = philox_sample(source, seed=seed, sim=sim, step=step, node=node,
                                   block=block, dtype=dtype)
    expected = np.stack(rng.philox4x32((step, node, block, 0), (seed, sim)), axis=1)
    np.testing.assert_array_equal(words, expected.astype(np.uint32))

    real = np.dtype(dtype)
    wide = np.longdouble if dtype == "float64" else np.float64
    exact = np.empty((n, 4), dtype=wide)
    for pair in (0, 1):
        first, second = expected[:, 2 * pair].astype(np.float64), expected[:, 2 * pair + 1]
        u1 = ((first + 1.0) * 2.0**-32).astype(real)
        u2 = (second.astype(np.float64) * 2.0**-32).astype(real)
        angle = (real.type(2 * np.pi) * u2).astype(real).astype(wide)
        radius = np.sqrt(wide(-2) * np.log(u1.astype(wide)))
        exact[:, 2 * pair] = radius * np.cos(angle)
        exact[:, 2 * pair + 1] = radius * np.sin(angle)
    ulps = np.abs(normals.astype(wide) - exact) / np.spacing(np.abs(exact).astype(real))
    assert float(ulps.max()) <= 3.0
    assert np.mean(ulps <= 2.0) >= 0.99
    assert float(ulps.mean()) <= 0.6
    # and brainsweep.rng, with its own libm's few ulp, agrees: variable 4b + k is column k
    for b in range(4):
        rows = block == b
        for k in range(4):
            numpy_normals = rng.normal(seed, sim[rows], step[rows], node[rows], 4 * b + k,
                                       dtype=real)
            np.testing.assert_allclose(normals[rows, k], numpy_normals,
                                       rtol=8 * np.finfo(real).eps, atol=8 * np.finfo(real).eps)
