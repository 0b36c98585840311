"""The Hopf model file (Deco et al. 2017's units) is SupHopf rescaled. Its right-hand sides are
SupHopf's per second, divided by 1000; so u = sqrt(1e-3) x follows SupHopf (whose equations
match TVB's, docs/models.md) with a, omega = 2 pi f and the coupling divided by 1000:
du/dt = 1e-3 (a - (u^2 + v^2) / 1e-3) u - ... Two model files written independently, one
checked against TVB: a slip of a factor or a sign in either shows here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from brainsweep import simulate
from brainsweep.dsl import load_model


@pytest.fixture(scope="module")
def network(hcp_connectome):
    keep = np.arange(0, 80, 8)
    weights = hcp_connectome.weights[np.ix_(keep, keep)]
    return {"weights": weights / weights.max(),
            "lengths": hcp_connectome.lengths[np.ix_(keep, keep)]}


def test_hopf_is_sup_hopf_in_seconds_and_hertz(network):
    # f = 10 Hz keeps SupHopf's omega (2 pi f / 1000 rad/ms) inside that file's range
    a, f, g, dt = -0.5, 10.0, 4.0, 1.0
    rng = np.random.default_rng(7)
    initial = rng.uniform(-0.5, 0.5, (2, 10))
    scale = math.sqrt(1e-3)
    common = dict(target="numba", dt=dt, n_steps=3000, coupling="difference", stochastic=False,
                  monitors=("raw",), dtype="float64")
    hopf = simulate.run(network, load_model("hopf"), **common, initial_state=initial,
                        params={"global_coupling": g, "a": a, "f": f, "speed": 3.0})
    sup = simulate.run(network, load_model("sup_hopf"), **common, initial_state=scale * initial,
                       params={"global_coupling": g / 1000, "a": a / 1000,
                               "omega": 2 * math.pi * f / 1000, "speed": 3.0})
    x, ref = scale * hopf.raw[0], sup.raw[0]
    assert np.ptp(ref[:, 0, :], axis=0).min() > 0.1 * scale  # 30 oscillations, decaying
    # float64; the two files order the same products differently (1e-3 * (a x) against
    # (1e-3 a) x), and the decaying oscillation does not amplify the rounding (measured:
    # 1.1e-15 of the largest value after 3000 steps)
    assert np.max(np.abs(x - ref)) <= 1e-13 * np.max(np.abs(ref))
