"""The Numba kernel's lane groups: simulations of one speed advanced together.

Grouping is a layout choice only, so each simulation must come out bit-identical to the same
simulation run alone, whatever the group, and each must still match the float64 oracle.
"""

from __future__ import annotations

import numpy as np
import pytest

from brainsweep import reference, simulate
from brainsweep.backends.numba_target import lane_groups
from brainsweep.bold.balloon import balloon_preset
from brainsweep.codegen import kernel_spec
from brainsweep.dsl import load_model

DT = 0.1
N_STEPS = 2_000


def groups(speeds, threads, max_lanes=8):
    start, members = lane_groups(np.asarray(speeds, dtype=float), threads, max_lanes)
    return [members[a:b].tolist() for a, b in zip(start[:-1], start[1:], strict=True)]


def test_groups_hold_one_speed_each_and_cover_every_row():
    speeds = [5.0, 3.0, 5.0, 3.0, 3.0, 9.0, 5.0]
    assert groups(speeds, threads=1) == [[1, 3, 4], [0, 2, 6], [5]]
    # more threads than speed groups: the lane count halves until every thread has a group
    assert groups([3.0] * 8, threads=2) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert groups([3.0] * 8, threads=8) == [[k] for k in range(8)]
    assert groups([3.0] * 20, threads=1) == [list(range(8)), list(range(8, 16)),
                                              list(range(16, 20))]
    assert groups([], threads=2) == []


def run(conn, g, speed, sim_index, **kwargs):
    return simulate.run(conn, "montbrio", target="numba", dt=DT, n_steps=N_STEPS,
                        params={"global_coupling": g, "speed": speed}, seed=7,
                        sim_index=sim_index, monitors=("raw", "tavg", "bold"), raw_period=10,
                        tavg_period=10, bold_period_s=0.05, bold_dt_s=0.001, **kwargs)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_simulation_in_a_group_is_bit_identical_to_it_alone(hcp_connectome, dtype):
    g = [0.1, 0.4, 0.2, 0.3, 0.5]
    speed = [3.0, 3.0, 6.0, 3.0, 6.0]  # groups {0, 1, 3} and {2, 4}
    shard = run(hcp_connectome, g, speed, [10, 11, 12, 13, 14], dtype=dtype)
    assert not shard.diverged.any()
    for row in range(5):
        alone = run(hcp_connectome, [g[row]], [speed[row]], [10 + row], dtype=dtype)
        for monitor in ("raw", "tavg", "bold"):
            np.testing.assert_array_equal(getattr(alone, monitor)[0],
                                          getattr(shard, monitor)[row], err_msg=monitor)


def test_every_lane_matches_the_oracle(hcp_connectome):
    """Four couplings at one speed (one group of four lanes), each against the oracle."""
    model = load_model("montbrio")
    g = [0.1, 0.25, 0.4, 0.55]
    out = run(hcp_connectome, g, [3.0] * 4, [0, 1, 2, 3], dtype="float64")
    spec = kernel_spec(model, stochastic=True)
    n_nodes = hcp_connectome.weights.shape[0]
    for row in range(4):
        ref = reference.simulate_one(
            spec, weights=hcp_connectome.weights, lengths=hcp_connectome.lengths,
            params=dict(zip(out.parameter_names, out.parameters[row], strict=True)),
            dt=DT, n_steps=N_STEPS,
            initial=np.array([[s.initial] * n_nodes for s in model.states]),
            noise=np.array([s.noise for s in model.states]), seed=7, sim_index=row,
            raw_period=10, bold_period=500, bold_substeps=10,
            balloon=balloon_preset("friston2003"), dt_bold_s=0.001)
        error = np.linalg.norm(out.raw[row] - ref.raw) / np.linalg.norm(ref.raw)
        assert error <= 1e-10, (row, error)


def test_a_diverging_lane_is_masked_and_leaves_its_neighbours_alone(hcp_connectome):
    g = [0.2, 1e6, 0.3]  # the middle lane blows up within a few steps
    shard = run(hcp_connectome, g, [3.0] * 3, [0, 1, 2], dtype="float64")
    assert shard.diverged.tolist() == [False, True, False]
    assert np.isnan(shard.raw[1]).all() and np.isnan(shard.bold[1]).all()
    for row in (0, 2):
        alone = run(hcp_connectome, [g[row]], [3.0], [row], dtype="float64")
        np.testing.assert_array_equal(alone.raw[0], shard.raw[row])
        np.testing.assert_array_equal(alone.bold[0], shard.bold[row])
