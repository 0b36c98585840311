"""Balloon-Windkessel presets: the Euler integrator against SciPy's solve_ivp (float64)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from brainsweep.monitors.balloon import PRESETS, bold_signal, euler_step


def drive(t: np.ndarray | float) -> np.ndarray | float:
    """A 0.5 s boxcar of neural drive starting at t = 0.2 s."""
    return np.where((t >= 0.2) & (t < 0.7), 1.0, 0.0)


def impulse_response_ivp(p, t_end: float, times: np.ndarray) -> np.ndarray:
    inv_alpha = 1.0 / p.alpha

    def rhs(t, y):
        s, f, v, q = y
        return [float(drive(t)) - p.kappa * s - p.gamma * (f - 1.0), s,
                (f - v**inv_alpha) / p.tau,
                (f * (1.0 - (1.0 - p.rho) ** (1.0 / f)) / p.rho - q * v**inv_alpha / v) / p.tau]

    sol = solve_ivp(rhs, (0.0, t_end), [0.0, 1.0, 1.0, 1.0], t_eval=times, rtol=1e-10,
                    atol=1e-12, max_step=0.01, method="LSODA")
    return bold_signal(sol.y, p)


def impulse_response_euler(p, dt: float, t_end: float) -> tuple[np.ndarray, np.ndarray]:
    steps = round(t_end / dt)
    state = np.array([[0.0], [1.0], [1.0], [1.0]])
    out = np.empty(steps)
    for n in range(steps):
        # the kernels average the drive over the step; here the step's midpoint stands for it
        state = euler_step(state, np.array([drive((n + 0.5) * dt)]), dt, p)
        out[n] = bold_signal(state, p)[0]
    return np.arange(1, steps + 1) * dt, out


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_impulse_response_matches_solve_ivp_and_converges(preset):
    p = PRESETS[preset]
    t_end = 20.0
    errors = []
    for dt in (2e-3, 1e-3):
        times, euler = impulse_response_euler(p, dt, t_end)
        ivp = impulse_response_ivp(p, t_end, times)
        errors.append(np.linalg.norm(euler - ivp) / np.linalg.norm(ivp))
    # a real response: positive peak some seconds after the drive, then an undershoot
    peak_time = times[np.argmax(ivp)]
    assert 2.0 < peak_time < 8.0 and ivp.max() > 0 and ivp.min() < 0
    # first-order method: halving dt halves the error (within 20 %), and it is small
    assert errors[1] < 1e-2
    assert 1.6 < errors[0] / errors[1] < 2.4


def test_presets_hold_the_published_constants():
    friston = PRESETS["friston2003"]
    assert (friston.kappa, friston.gamma, friston.tau, friston.alpha, friston.rho,
            friston.V0) == (0.65, 0.41, 0.98, 0.32, 0.34, 0.02)
    stephan = PRESETS["stephan2007"]
    # TVB's balloon analyser: tau_s 1.54, tau_f 1.44, tau_o 0.98, TE 0.04, E0 0.4, eps 0.5,
    # nu0 40.3, r0 25 -> k1 = 4.3 nu0 E0 TE, k2 = eps r0 E0 TE, k3 = 1 - eps
    assert stephan.kappa == pytest.approx(1 / 1.54) and stephan.gamma == pytest.approx(1 / 1.44)
    assert stephan.k1 == pytest.approx(4.3 * 40.3 * 0.4 * 0.04)
    assert stephan.k2 == pytest.approx(0.5 * 25 * 0.4 * 0.04)
    assert stephan.k3 == pytest.approx(0.5)
    classical = PRESETS["stephan2007_classical"]
    assert (classical.k1, classical.k2, classical.k3) == pytest.approx((2.8, 2.0, 0.6))
