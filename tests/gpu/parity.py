"""Shared checks of the GPU tests: one target against the Numba target and brainsweep.rng.

Tolerances are those of tests/backends/test_opencl_target.py, which states why: float64 relative
error ≤ 1e-9 over 2000 steps; float32 ≤ 16 eps32 against float64; Philox words identical and
normals within 3 ulp of the exact value of the same rounded uniforms (99 % within 2 ulp).
"""

from __future__ import annotations

import numpy as np

from brainsweep import codegen, rng, simulate

EPS32 = float(np.finfo(np.float32).eps)
N_STEPS = 2000


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(ref)), "NaN never passes"
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


def initial_states(n_sims: int, n_nodes: int, seed: int = 20240611) -> np.ndarray:
    generator = np.random.default_rng(seed)
    return np.stack([generator.uniform(0.05, 0.3, (n_sims, n_nodes)),
                     generator.uniform(-2.2, -1.2, (n_sims, n_nodes))], axis=1)


def sweep(conn, *, target, device=None, dtype="float64", noisy=True, n_sims=2,
          n_steps=N_STEPS, seed=11, **overrides):
    """``n_sims`` simulations over two speeds (two delay matrices, interleaved in warps)."""
    n_nodes = conn.weights.shape[0]
    options = dict(
        n_steps=n_steps, integrator="heun", dtype=dtype, monitors=("raw", "tavg", "bold"),
        params={"global_coupling": np.linspace(0.3, 0.6, n_sims),
                "speed": np.where(np.arange(n_sims) % 2 == 0, 3.0, 6.0),
                "eta": np.linspace(-5.0, -4.8, n_sims)},
        seed=seed, bold_period_s=0.02, bold_dt_s=1e-4, tavg_period=10,
        initial_state=initial_states(n_sims, n_nodes), stochastic=True,
        noise={"r": 0.01, "V": 0.02} if noisy else {"r": 0.0, "V": 0.0})
    options.update(overrides)
    if device is not None:
        options["device"] = device
    return simulate.run(conn, "montbrio", target=target, **options)


def check_float64_parity(conn, target: str, device: str) -> dict[str, float]:
    errors = {}
    for noisy in (False, True):
        ref = sweep(conn, target="numba", noisy=noisy)
        out = sweep(conn, target=target, device=device, noisy=noisy, stochastic=noisy)
        assert not ref.diverged.any() and not out.diverged.any()
        for monitor in ("raw", "tavg", "bold"):
            error = relative_error(getattr(out, monitor), getattr(ref, monitor))
            errors[f"{noisy}-{monitor}"] = error
            assert error <= 1e-9, (noisy, monitor, error)
    return errors


def check_same_seed(conn, target: str, device: str) -> None:
    first = sweep(conn, target=target, device=device, n_steps=500)
    again = sweep(conn, target=target, device=device, n_steps=500)
    np.testing.assert_array_equal(first.raw, again.raw)
    other = sweep(conn, target=target, device=device, n_steps=500, seed=12)
    assert relative_error(other.raw, first.raw) > 1e-3
    alone = sweep(conn, target=target, device=device, n_steps=500, n_sims=1, sim_index=[1],
                  params={"global_coupling": [0.6], "speed": [6.0], "eta": [-4.8]},
                  initial_state=initial_states(2, conn.weights.shape[0])[1])
    np.testing.assert_array_equal(alone.raw[0], first.raw[1])


def check_large_shard(conn, target: str, device: str) -> None:
    """Several blocks of threads, mixed speeds in every warp: each simulation vs Numba."""
    n_sims = 300
    out = sweep(conn, target=target, device=device, n_sims=n_sims, n_steps=400)
    ref = sweep(conn, target="numba", n_sims=n_sims, n_steps=400)
    np.testing.assert_array_equal(out.diverged, ref.diverged)
    keep = ~ref.diverged
    assert keep.sum() > n_sims // 2
    assert relative_error(out.raw[keep], ref.raw[keep]) <= 1e-9
    assert relative_error(out.bold[keep], ref.bold[keep]) <= 1e-9


def check_float32(conn, target: str, device: str) -> None:
    for noisy in (False, True):
        ref = sweep(conn, target="numba", noisy=noisy)
        out = sweep(conn, target=target, device=device, dtype="float32", noisy=noisy)
        for monitor in ("raw", "tavg", "bold"):
            error = relative_error(getattr(out, monitor).astype(np.float64),
                                   getattr(ref, monitor))
            assert error <= 16 * EPS32, (noisy, monitor, error / EPS32)


def check_philox(sample, target: str, device: str, dtype: str) -> None:
    generator = np.random.default_rng(99)
    n = 1 << 16
    sim, step, node = (generator.integers(0, 2**32, n, dtype=np.uint64) for _ in range(3))
    block = generator.integers(0, 4, n, dtype=np.uint64)
    seed = 0xDEADBEEF
    source = codegen.generate("montbrio", target=target, dtype=dtype)
    words, normals = sample(source, seed=seed, sim=sim, step=step, node=node, block=block,
                            dtype=dtype, device=device)
    expected = np.stack(rng.philox4x32((step, node, block, 0), (seed, sim)), axis=1)
    np.testing.assert_array_equal(words, expected.astype(np.uint32))
    real = np.dtype(dtype)
    wide = np.longdouble if dtype == "float64" else np.float64
    exact = np.empty((n, 4), dtype=wide)
    for pair in (0, 1):
        u1 = ((expected[:, 2 * pair].astype(np.float64) + 1.0) * 2.0**-32).astype(real)
        u2 = (expected[:, 2 * pair + 1].astype(np.float64) * 2.0**-32).astype(real)
        angle = (real.type(2 * np.pi) * u2).astype(real).astype(wide)
        radius = np.sqrt(wide(-2) * np.log(u1.astype(wide)))
        exact[:, 2 * pair] = radius * np.cos(angle)
        exact[:, 2 * pair + 1] = radius * np.sin(angle)
    ulps = np.abs(normals.astype(wide) - exact) / np.spacing(np.abs(exact).astype(real))
    assert float(ulps.max()) <= 3.0
    assert np.mean(ulps <= 2.0) >= 0.99
