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
