"""ReducedWongWangExcInh in float32 stays finite and close to float64 where the 0 / 0 of its
transfer function used to stop it.

The homogeneous-rww study's model (FIC, noise 1e-5 on S_e and S_i, dt = 0.1 ms, the
Schaefer-100 train connectome normalised to its maximum, linear coupling a = 0.02) at G = 4,
seed 42, simulation index 0: before the model file guarded H(u) = u / (1 - exp(-d u)), the
Numba float32 kernel met u_e = 0.0 exactly after 10.63 s (u_e's float32 spacing near 0 is
~8e-6 Hz) and the NaN flagged the simulation diverged, while float64 ran on. Both now run the
11 s; with the same noise, float32 follows float64 to a few float32 roundings of S (measured
8e-7 at most over 15 s; the tolerance is 64 float32 epsilons).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainsweep import connectome, simulate
from brainsweep.dsl import load_coupling, load_model
from brainsweep.fic import fic_inhibition

DATA = Path(__file__).resolve().parents[2] / "resources" / "hcp-schaefer100"
A, G, SEED = 0.02, 4.0, 42
N_STEPS = 110_000  # 11 s at dt = 0.1 ms: past the 10.63 s where float32 met u_e = 0
EPS32 = float(np.finfo(np.float32).eps)


@pytest.fixture(scope="module")
def runs():
    folder = DATA / "hcp" / "sc" / "group-train706"
    conn = connectome.preprocess(connectome.load({
        "weights": str(folder / "ctx_parc-schaefer-100_desc-strength.npz"),
        "lengths": str(folder / "ctx_parc-schaefer-100_desc-length.npz"),
        "labels": str(DATA / "labels.txt")}, "matrix"), normalise="max")
    model, coupling = load_model("rww_exc_inh"), load_coupling("linear")
    row = {**model.defaults, **{f"coupling.{k}": v for k, v in coupling.defaults.items()},
           "coupling.a": A, "G": G}
    j_i = fic_inhibition(model, coupling, conn.weights, row)
    params = {"G": [G], "global_coupling": [A], "J_i": j_i[None, :]}
    return {dtype: simulate.run(conn, model, n_steps=N_STEPS, dt=0.1, params=params,
                                noise={"S_e": 1e-5, "S_i": 1e-5}, stochastic=True, seed=SEED,
                                sim_index=[0], monitors=("raw",), raw_period=1000,
                                dtype=dtype)
            for dtype in ("float32", "float64")}


def test_float32_stays_finite_past_the_old_singularity(runs):
    for dtype, out in runs.items():
        assert not out.diverged.any(), f"{dtype} diverged"
        assert np.isfinite(out.raw).all()


def test_float32_follows_float64(runs):
    single = runs["float32"].raw.astype(np.float64)
    double = runs["float64"].raw
    assert single.shape == double.shape == (1, N_STEPS // 1000, 2, 100)
    np.testing.assert_allclose(single, double, rtol=0, atol=64 * EPS32)
