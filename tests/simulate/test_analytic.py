"""The generated Numba kernels against closed-form solutions (no oracle involved).

(a) Linear decay x' = -x / tau: each integrator's global error at a fixed time shrinks with its
    order when dt is halved (euler 2x, heun 4x, rk4 16x).
(b) Two Kuramoto oscillators, phase difference phi = theta_2 - theta_1. With the kuramoto_mean_field
    coupling (a / N sum_j w_ij sin(theta_j - theta_i), N = 2, w = [[0, 1], [1, 0]]) it obeys
    phi' = d_omega - a sin(phi): identical oscillators lock with
    tan(phi / 2) = tan(phi_0 / 2) exp(-a t); different ones lock at arcsin(d_omega / a) above
    the threshold a = |d_omega| and drift below it (at the mean rate sqrt(d_omega^2 - a^2)).
    With TVB's simulator's kuramoto coupling (a, not a / N) it obeys phi' = d_omega - 2a sin(phi).
(c) A linear model with a coupling that reads two variables of source and target
    (closed form in the test's docstring).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from brainsweep import simulate
from brainsweep.dsl import load_model

DECAY = """\
name: LinearDecay
parameters:
  tau: {default: 1.0}
state_variables:
  x: {initial: 1.0}
coupling_terms:
  c: x
derivatives:
  x: -x / tau + c
"""

# Kuramoto with a per-node natural frequency held in a constant state variable, so that two
# oscillators of one network can differ (model parameters are per simulation, not per node).
KURAMOTO_HETEROGENEOUS = """\
name: KuramotoHeterogeneous
parameters: {}
state_variables:
  theta: {initial: 0.0}
  omega: {initial: 1.0}
coupling_terms:
  c_0: theta
derivatives:
  theta: omega + c_0
  omega: 0.0 * omega
"""

ORDERS = {"euler": 1, "heun": 2, "rk4": 4}


def pair(length_mm: float = 0.0) -> SimpleNamespace:
    return SimpleNamespace(weights=np.array([[0.0, 1.0], [1.0, 0.0]]),
                           lengths=np.full((2, 2), length_mm))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def decay_model(tmp_path_factory):
    return load_model(write(tmp_path_factory.mktemp("decay"), "decay", DECAY))


def decay_error(model, integrator: str, dt: float, t_end: float, tau: float) -> float:
    n_steps = round(t_end / dt)
    # zero weights: the coupling term is exactly 0 and every node decays on its own
    conn = SimpleNamespace(weights=np.zeros((2, 2)), lengths=np.full((2, 2), 10.0))
    out = simulate.run(conn, model, dt=dt, n_steps=n_steps, integrator=integrator,
                       params={"tau": tau}, stochastic=False, monitors=("raw",),
                       initial_state=np.array([[1.0, 0.5]]))
    x_end = out.raw[0, -1, 0]  # state after n_steps steps, at t = n_steps dt
    exact = np.array([1.0, 0.5]) * np.exp(-t_end / tau)
    return float(np.max(np.abs(x_end - exact)))


@pytest.mark.parametrize("integrator", sorted(ORDERS))
def test_linear_decay_converges_with_the_integrators_order(decay_model, integrator):
    order, tau, t_end = ORDERS[integrator], 2.0, 4.0
    errors = [decay_error(decay_model, integrator, dt, t_end, tau) for dt in (0.1, 0.05, 0.025)]
    assert errors[0] < 0.05 and errors[-1] > 0.0
    for coarse, fine in zip(errors, errors[1:], strict=False):
        ratio = coarse / fine
        # the leading error term dominates: the ratio is 2**order to within 10 %
        assert ratio == pytest.approx(2.0**order, rel=0.1), (integrator, errors)


def kuramoto_phases(model, *, theta0, a, dt=0.05, n_steps=4000, omega=None, integrator="rk4",
                    coupling="kuramoto_mean_field"):
    initial = np.array([theta0]) if omega is None else np.array([theta0, omega])
    out = simulate.run(pair(), model, dt=dt, n_steps=n_steps, integrator=integrator,
                       coupling=coupling, params={"global_coupling": a}, stochastic=False,
                       monitors=("raw",), initial_state=initial)
    theta = out.raw[0, :, 0, :]
    times = dt * np.arange(1, n_steps + 1)
    return times, theta[:, 1] - theta[:, 0]


def test_identical_kuramoto_oscillators_lock_as_predicted():
    """The phase difference follows the closed form, converging at first order in dt.

    The coupling is held fixed over each step (as TVB does), so even rk4 is first order in the
    coupling term: halving dt halves the error.
    """
    model = load_model("kuramoto")  # TVB's omega = 1 rad/ms for both
    phi0, a, t_end = 2.0, 0.3, 200.0
    errors = []
    for dt in (0.05, 0.025):
        times, phi = kuramoto_phases(model, theta0=[0.0, phi0], a=a, dt=dt,
                                     n_steps=round(t_end / dt))
        expected = 2.0 * np.arctan(np.tan(phi0 / 2.0) * np.exp(-a * times))
        errors.append(np.max(np.abs(phi - expected)))
        assert abs(phi[-1]) < 1e-4  # locked: the phases coincide after 200 ms
    assert errors[1] < 2e-3
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.1)


def test_tvb_simulators_kuramoto_is_not_divided_by_n():
    """TVB's simulator computes a sum_j w_ij sin(theta_j - theta_i) (its sparse path divides by
    the number of coupled variables, 1): two identical oscillators lock twice as fast as with
    the a / N form, phi' = -2 a sin(phi)."""
    model = load_model("kuramoto")
    phi0, a, dt, t_end = 2.0, 0.15, 0.025, 200.0
    times, phi = kuramoto_phases(model, theta0=[0.0, phi0], a=a, dt=dt,
                                 n_steps=round(t_end / dt), coupling="kuramoto")
    expected = 2.0 * np.arctan(np.tan(phi0 / 2.0) * np.exp(-2.0 * a * times))
    assert np.max(np.abs(phi - expected)) < 2e-3
    a_over_n = 2.0 * np.arctan(np.tan(phi0 / 2.0) * np.exp(-a * times))
    assert np.max(np.abs(phi - a_over_n)) > 0.1


# A linear two-variable model for couplings whose pre reads two variables of the source and of
# the target: u' = -u + c, v' = -v, with c = a sum_j w_ij ((u_j - u_i) - (v_j - v_i)).
TWO_VARIABLE_DECAY = """\
name: TwoVariableDecay
parameters: {}
state_variables:
  u: {initial: 0.0}
  v: {initial: 0.0}
coupling_terms:
  c: [u, v]
derivatives:
  u: -u + c
  v: -v
"""


def test_two_variable_linear_coupling_follows_the_closed_form(tmp_path):
    """Two nodes, w = [[0, 1], [1, 0]], no delay. With s = u_1 + u_2, d = u_1 - u_2 and
    D = v_1 - v_2 = D_0 exp(-t): s' = -s, d' = -(1 + 2a) d + 2a D, so
    s = s_0 exp(-t) and d = (d_0 - D_0) exp(-(1 + 2a) t) + D_0 exp(-t). The coupling is held
    over a step, so the error is first order in dt; reading a wrong variable changes the limit."""
    from brainsweep.dsl.coupling import Coupling
    from brainsweep.dsl.parse import parse_expression
    from brainsweep.dsl.parts import COUPLING_INPUTS, Parameter

    coupling = Coupling(
        name="two_variable_difference",
        pre=parse_expression("(x_j0 - x_i0) - (x_j1 - x_i1)", known=set(COUPLING_INPUTS)),
        post=parse_expression("a * gx", known={"a", "gx"}),
        parameters=(Parameter("a", 0.0),), global_parameter="a")
    model = load_model(write(tmp_path, "two_variable_decay", TWO_VARIABLE_DECAY))
    a, t_end = 0.4, 3.0
    start = np.array([[1.0, -0.5], [0.8, -0.6]])  # rows u, v; columns the two nodes
    s0, d0, big_d0 = start[0].sum(), start[0, 0] - start[0, 1], start[1, 0] - start[1, 1]
    errors = []
    for dt in (0.01, 0.005):
        n_steps = round(t_end / dt)
        out = simulate.run(pair(), model, dt=dt, n_steps=n_steps, integrator="rk4",
                           coupling=coupling, params={"global_coupling": a},
                           stochastic=False, monitors=("raw",), initial_state=start)
        u = out.raw[0, :, 0, :]
        times = dt * np.arange(1, n_steps + 1)
        s_exact = s0 * np.exp(-times)
        d_exact = (d0 - big_d0) * np.exp(-(1 + 2 * a) * times) + big_d0 * np.exp(-times)
        errors.append(max(np.max(np.abs(u.sum(axis=1) - s_exact)),
                          np.max(np.abs(u[:, 0] - u[:, 1] - d_exact))))
    assert errors[1] < 2e-3
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.1)


@pytest.fixture(scope="module")
def heterogeneous(tmp_path_factory):
    return load_model(write(tmp_path_factory.mktemp("kuramoto"), "kuramoto_het",
                            KURAMOTO_HETEROGENEOUS))


def test_kuramoto_locks_above_threshold(heterogeneous):
    d_omega, a = 0.1, 0.2  # threshold a = d_omega
    times, phi = kuramoto_phases(heterogeneous, theta0=[0.0, 2.5], a=a,
                                 omega=[1.0, 1.0 + d_omega])
    assert phi[-1] == pytest.approx(np.arcsin(d_omega / a), abs=1e-6)
    assert abs(phi[-1] - phi[-500]) < 1e-6  # no more drift


def test_kuramoto_drifts_without_coupling(heterogeneous):
    d_omega = 0.1
    times, phi = kuramoto_phases(heterogeneous, theta0=[0.0, 0.5], a=0.0,
                                 omega=[1.0, 1.0 + d_omega], integrator="euler")
    # constant derivatives: Euler is exact up to rounding (phases reach ~200 rad)
    np.testing.assert_allclose(phi, 0.5 + d_omega * times, rtol=0.0, atol=1e-9)


def test_kuramoto_drifts_below_threshold(heterogeneous):
    d_omega, a = 0.1, 0.06
    times, phi = kuramoto_phases(heterogeneous, theta0=[0.0, 0.0], a=a, dt=0.1, n_steps=20_000,
                                 omega=[1.0, 1.0 + d_omega])
    # phi slips by 2 pi once per period 2 pi / sqrt(d_omega^2 - a^2)
    rate = np.sqrt(d_omega**2 - a**2)
    slips = np.flatnonzero(np.diff(np.floor(phi / (2.0 * np.pi))) > 0)
    periods = np.diff(times[slips])
    assert periods.size >= 2
    np.testing.assert_allclose(periods, 2.0 * np.pi / rate, rtol=1e-3)
