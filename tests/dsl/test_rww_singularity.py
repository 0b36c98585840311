"""ReducedWongWang's transfer function H = u / (1 - exp(-d u)) at its removable singularity.

At u = 0 the quotient is 0 / 0. A float32 kernel meets it when the noise carries
a * x - b exactly onto zero, and a NaN there flags the whole simulation diverged; the model
file takes the limit 1 / d + u / 2 instead. Checked against the limit and against the
quotient itself, evaluated in float64 on either side of the switch.
"""

from __future__ import annotations

import numpy as np
import pytest

from brainsweep.dsl import load_model
from brainsweep.dsl.evaluate import evaluate


def _h(u):
    model = load_model("rww")
    aux = dict(model.auxiliaries)
    return evaluate(aux["H"], {**model.defaults, "u": np.asarray(u, dtype=np.float64)})


def test_h_is_finite_at_zero_and_continuous_across_the_switch():
    d = load_model("rww").defaults["d"]
    with np.errstate(invalid="ignore", divide="ignore"):
        assert _h(0.0) == pytest.approx(1.0 / d, rel=1e-15)
        # just inside and outside |d u| = 1e-6: series and quotient agree to float64's
        # rounding of the quotient (its cancellation is ~ eps / (d u) = 2e-10 relative)
        for du in (0.99e-6, 1.01e-6, -0.99e-6, -1.01e-6):
            u = du / d
            exact = 1.0 / d + u / 2 + d * u**2 / 12
            assert _h(u) == pytest.approx(exact, rel=1e-9)
    # away from zero H is the quotient itself, bit for bit
    u = np.array([-0.3, -1e-3, 1e-3, 0.2])
    np.testing.assert_array_equal(_h(u), u / (1.0 - np.exp(-d * u)))


@pytest.mark.parametrize("model_name", ["rww_exc_inh", "deco_balanced_exc_inh"])
@pytest.mark.parametrize(("name", "u_name", "d_name"), [("H_e", "u_e", "d_e"),
                                                        ("H_i", "u_i", "d_i")])
def test_exc_inh_transfer_functions_at_zero_and_across_the_switch(model_name, name, u_name,
                                                                  d_name):
    """ReducedWongWangExcInh's H_e and H_i take the series 1/d + u/2 + d u^2/12 for
    |d u| <= 1e-3 (tests/backends/test_rww_exc_inh_float32.py: the float32 kernel met
    u_e = 0.0 at G = 4); the series' truncation there is <= (d u)^4 / 720 = 1.4e-15.
    DecoBalancedExcInh (the same transfer functions of M_i-scaled inputs) is guarded alike."""
    model = load_model(model_name)
    expr = dict(model.auxiliaries)[name]
    d = model.defaults[d_name]

    def h(u, dtype=np.float64):
        env = {key: dtype(value) for key, value in model.defaults.items()}
        return evaluate(expr, {**env, u_name: np.asarray(u, dtype=dtype)})

    with np.errstate(invalid="ignore", divide="ignore"):
        assert h(0.0) == pytest.approx(1.0 / d, rel=1e-15)
        # float32 too: the quotient alone would be 0 / 0 there
        assert np.isfinite(h(0.0, np.float32)) and h(0.0, np.float32).dtype == np.float32
        # on both sides of the switch series and quotient agree to the quotient's float64
        # cancellation (~ eps / (d u) = 2e-13 relative)
        for du in (0.99e-3, 1.01e-3, -0.99e-3, -1.01e-3):
            u = du / d
            assert h(u) == pytest.approx(u / -np.expm1(-d * u), rel=1e-12)
            # and the unguarded quotient as the file wrote it before the guard
            assert h(u) == pytest.approx(u / (1.0 - np.exp(-d * u)), rel=1e-12)
    # away from zero H is the quotient itself, bit for bit
    u = np.array([-12.0, -0.5, 0.5, 30.0])
    np.testing.assert_array_equal(h(u), u / (1.0 - np.exp(-d * u)))
