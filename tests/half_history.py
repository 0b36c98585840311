"""Checks of the float16 delay history (``history_dtype="float16"``), shared by the CPU tests
(tests/backends/test_history_dtype.py: OpenCL on PoCL) and the GPU tests
(tests/gpu/test_half_history_gpu.py: CUDA and OpenCL on an NVIDIA GPU).

Two checks, each against something that can be wrong in another way than the kernel:

* **Rounding, exactly.** A two-node network of the delayed integrator ``dx/dt = k c`` with
  linear coupling, one connection (node 0 → node 1, 2.5 mm: delays of 25, 12 and 5 steps at
  1, 2 and 5 m/s, so the 100-step run wraps each ring several times). Node 0 receives nothing
  and stays at ``x0``; node 1 integrates ``a · stored(x0)``, so after n Euler steps
  ``x1 = x1(0) + n dt a stored(x0)`` with ``stored = numpy.float16`` (IEEE round to nearest,
  ties to even). The first four ``x0`` are chosen so that rounding to nearest, truncation and
  float32 storage give different answers (two are ties); the others are fresh random values
  (more simulations: several blocks, speeds mixed in every warp). The kernel's own arithmetic
  adds at most ``n`` roundings of ``x1`` (≤ n eps |x1|); a wrong storage rule moves ``x1`` of
  the first four by at least n dt · 2⁻¹² ≈ 2.4e-3, 20 × more in float32.
* **A real network stays within half precision's unit roundoff.** MontbrioPazoRoxin on HCP
  subject 101309 (80 regions, two speeds, stochastic Heun, 2000 steps), float32 arithmetic
  with float16 history against float32 history. Every stored value is off by at most
  u = 2⁻¹¹ (r ∈ [0.05, 0.3] and V ∈ [-2.2, -1.2] stay in float16's normal range), so every
  coupling input by at most u relatively; in this damped low-activity regime (the regime of
  tests/backends/test_opencl_target.py) the outputs' relative error stays below u. Measured on
  PoCL: 6e-7 (raw), 5e-7 (tavg), 4e-7 (BOLD), about 5 eps32: the 80 independent roundings of
  a sum partly cancel and the coupling is a small part of dV/dt. A real fault (a wrong delay,
  a dropped term) gives errors above 1e-3, more than twice u; and the error must not be 0,
  or the history was not stored in half.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from brainsweep import simulate

UNIT_ROUNDOFF_16 = 2.0**-11  # float16: 11 significant bits, round to nearest
N_STEPS = 100
DT = 0.1
# node 0's constant values: RN != truncation (both signs), a tie to even down, a tie up
X0 = np.array([1 + 3 * 2.0**-12, -(2 + 2.0**-10 + 2.0**-12), 1 + 2.0**-11, 1 + 3 * 2.0**-11])
X1 = 0.5  # node 1's initial value

INTEGRATOR_YAML = """\
name: DelayedIntegrator
description: dx/dt = k c; with no input a node keeps its value (tests/half_history.py).
time_unit: ms
parameters:
  k: {default: 1.0, description: Gain of the coupling input.}
state_variables:
  x: {initial: 0.0, noise: 0.0}
coupling_terms:
  c_x: x
derivatives:
  x: k * c_x
"""


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(ref)), "NaN never passes"
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


def check_rounding_to_nearest(target: str, folder: Path, *, dtype: str, n_sims: int = 4,
                              device: str | None = None, seed: int | None = None) -> None:
    """The delayed read of node 0 is float16(x0), rounded to nearest even, on every step."""
    model = Path(folder) / "delayed_integrator.yaml"
    model.write_text(INTEGRATOR_YAML)
    conn = SimpleNamespace(weights=np.array([[0.0, 0.0], [1.0, 0.0]]),
                           lengths=np.array([[0.0, 0.0], [2.5, 0.0]]))  # 25 steps at 1 m/s
    fresh = np.random.default_rng(seed).uniform(-4.0, 4.0, max(n_sims - X0.size, 0))
    x0 = np.concatenate([X0, fresh])[:n_sims]
    initial = np.stack([x0, np.full_like(x0, X1)], axis=1)[:, None, :]  # (S, V=1, N=2)
    options = dict(target=target, dt=DT, n_steps=N_STEPS, dtype=dtype, integrator="euler",
                   stochastic=False, monitors=("raw",), initial_state=initial,
                   params={"global_coupling": np.ones(n_sims),
                           "speed": np.resize([1.0, 2.0, 5.0], n_sims)})
    if device is not None:
        options["device"] = device
    half = simulate.run(conn, model, history_dtype="float16", **options).raw[:, -1, 0]
    full = simulate.run(conn, model, **options).raw[:, -1, 0]
    eps = float(np.finfo(dtype).eps)
    x0 = x0.astype(dtype)  # the kernel's initial state
    expected_half = X1 + N_STEPS * DT * x0.astype(np.float16).astype(np.float64)
    expected_full = X1 + N_STEPS * DT * x0.astype(np.float64)
    # the kernel's own additions: n roundings of a value of at most |x1(0)| + 10 |x0|
    bound = N_STEPS * eps * (X1 + np.abs(expected_half))
    np.testing.assert_array_equal(half[:, 0], x0)  # node 0 keeps x0
    assert np.all(np.abs(half[:, 1] - expected_half) <= bound), half[:, 1] - expected_half
    assert np.all(np.abs(full[:, 1] - expected_full) <= bound), full[:, 1] - expected_full
    # the storage rules are told apart by far more than the bound
    special = slice(0, min(n_sims, X0.size))
    assert np.all(np.abs(expected_half - expected_full)[special] > 10 * bound[special])


def montbrio_sweep(conn, *, target: str, device: str | None = None,
                   history_dtype: str | None = None, n_steps: int = 2000):
    """Two simulations at 3 and 6 m/s from random states near the low-activity state."""
    generator = np.random.default_rng(20240611)
    n = conn.weights.shape[0]
    initial = np.stack([generator.uniform(0.05, 0.3, (2, n)),
                        generator.uniform(-2.2, -1.2, (2, n))], axis=1)
    options = dict(
        n_steps=n_steps, integrator="heun", dtype="float32", monitors=("raw", "tavg", "bold"),
        params={"global_coupling": [0.3, 0.6], "speed": [3.0, 6.0], "eta": [-5.0, -4.8]},
        seed=11, bold_period_s=0.02, bold_dt_s=1e-4, tavg_period=10, initial_state=initial,
        stochastic=True, noise={"r": 0.01, "V": 0.02}, history_dtype=history_dtype)
    if device is not None:
        options["device"] = device
    return simulate.run(conn, "montbrio", target=target, **options)


def check_montbrio_within_unit_roundoff(conn, target: str, *, device: str | None = None
                                        ) -> dict[str, float]:
    """float16 history against float32 history: 0 < relative error ≤ u for every monitor."""
    full = montbrio_sweep(conn, target=target, device=device)
    half = montbrio_sweep(conn, target=target, device=device, history_dtype="float16")
    assert not full.diverged.any() and not half.diverged.any()
    errors = {}
    for monitor in ("raw", "tavg", "bold"):
        error = relative_error(getattr(half, monitor), getattr(full, monitor))
        errors[monitor] = error
        assert 0.0 < error <= UNIT_ROUNDOFF_16, (monitor, error)
    return errors
