"""The shard planner against byte counts worked out by hand, and the layouts built from it.

The small network: 3 nodes, 3 non-zero weights (0←1, 1←0, 1←2); the zero-weight tract
2←0 is 1000 mm long and must not deepen the history. At dt = 0.1 ms the 10 mm and 20 mm
tracts take 100 and 200 steps at 1 m/s, 50 and 100 at 2 m/s, 25 and 50 at 4 m/s, so the
three speed groups need 201, 101 and 51 history slots.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from brainsweep import codegen, connectome
from brainsweep.backends.base import ShardInputs
from brainsweep.backends.cuda_target import (
    choose_node_parts,
    layout_shard,
    resident_warps,
)
from brainsweep.errors import InputError, PlanError
from brainsweep.network.delays import delay_horizon, delay_tables
from brainsweep.network.plan import plan_shard, speed_order
from brainsweep.simulate import check_host_memory, host_memory
from brainsweep.study import study_plan

WEIGHTS = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0], [0.0, 0.0, 0.0]])
LENGTHS = np.array([[0.0, 10.0, 10.0], [10.0, 0.0, 20.0], [1000.0, 10.0, 0.0]])
SPEEDS = np.array([2.0, 1.0, 2.0, 1.0, 4.0])
ROOT = Path(__file__).resolve().parents[2]
TVB68 = ROOT / "resources" / "tvb-connectivity" / "connectivity_68.zip"


def small_plan(**options):
    arguments = dict(dt=0.1, n_states=1, n_cvars=1, n_params=3, frames=(0, 4, 2))
    arguments.update(options)
    return plan_shard(WEIGHTS, LENGTHS, SPEEDS, **arguments)


def test_order_is_a_stable_sort_by_speed_that_keeps_global_indices():
    plan = small_plan(sim_index=np.array([10, 11, 12, 13, 14]))
    assert plan.order.tolist() == [1, 3, 0, 2, 4]
    assert plan.sim_index.tolist() == [11, 13, 10, 12, 14]
    assert plan.speeds.tolist() == [1.0, 1.0, 2.0, 2.0, 4.0]
    assert plan.group_first.tolist() == [0, 2, 4] and plan.group_size.tolist() == [2, 2, 1]
    assert speed_order(np.array([3.0, 3.0, 1.0])).tolist() == [2, 0, 1]


def test_history_is_sized_per_speed_from_non_zero_weights_only():
    plan = small_plan()
    assert plan.group_horizon.tolist() == [201, 101, 51]
    assert plan.horizon == 201  # the shard's slowest speed
    assert delay_horizon(WEIGHTS, LENGTHS, 1.0, 0.1) == 201
    assert delay_horizon(np.ones((3, 3)), LENGTHS, 1.0, 0.1) == 10001  # the 1000 mm tract
    assert plan.history_offsets().tolist() == [0, 201 * 3 * 2, 201 * 3 * 2 + 101 * 3 * 2]


def test_bytes_per_simulation_by_hand():
    """float32, V = C = 1, P = 3, N = 3, 4 tavg and 2 BOLD frames.

    Without history a simulation holds: state 3·4 = 12, parameters 3·8 = 24, three int32
    words 12, tavg and drive sums 12 + 12, balloon state 4·3·8 = 96, outputs (4·3 + 2·3)·4 =
    72: 240 bytes; its history adds 1·H·3·4 = 12·H bytes.
    """
    plan = small_plan()
    assert plan.simulation_bytes(0) == 240
    assert [plan.simulation_bytes(h) for h in (201, 101, 51)] == [2652, 1452, 852]
    # tables: 3 weights (12) + 3 sources (12) + 4 row starts (16) + 3 x 3 delays (36)
    # + 3 groups x 20 (60) + 1 noise (8) + 9 balloon constants (72)
    assert plan.table_bytes() == 216
    assert plan.nbytes() == {"history": 12 * (2 * 201 + 2 * 101 + 51), "other": 5 * 240,
                             "tables": 216}
    assert plan.total_bytes == 2 * 2652 + 2 * 1452 + 852 + 216 == 9276
    assert plan.bytes_per_sim == pytest.approx(9060 / 5)
    half = small_plan(history_dtype="float16")
    assert half.simulation_bytes(201) == 240 + 6 * 201
    wide = small_plan(dtype="float64")  # real values double, params/hemo unchanged
    assert wide.simulation_bytes(0) == 240 + (12 + 12 + 12 + 72) and wide.history_bytes == 8


def test_largest_shard_and_refusal_with_the_numbers():
    plan = small_plan()
    assert plan.largest_shard(100_000) == (100_000 - 216) // 2652 == 37
    plan.check_fits(9276)
    with pytest.raises(PlanError) as error:
        plan.check_fits(9275, "a tiny device")
    message = str(error.value)
    for expected in ("0.00 GiB (9276 B)", "(9275 B) are available", "a tiny device",
                     "5 simulations", "201 slots", "at most 3 simulations fit"):
        assert expected in message, (expected, message)
    with pytest.raises(PlanError, match="at most 0 simulations"):
        small_plan(device_bytes=1000)


def test_warps_share_delays_after_ordering():
    plan = small_plan()
    assert plan.warps_sharing_delays(warp=2) == 1.0
    assert plan.warps_sharing_delays(warp=4) == 0.5  # [1, 1, 2, 2] and [4]
    interleaved = plan_shard(np.ones((2, 2)), np.full((2, 2), 5.0), np.tile([1.0, 2.0], 64),
                             dt=0.1, n_states=1, n_cvars=1, n_params=2)
    assert interleaved.warps_sharing_delays() == 1.0  # 64 + 64: two whole warps each


def test_bad_speeds_are_refused():
    with pytest.raises(PlanError, match="positive"):
        plan_shard(WEIGHTS, LENGTHS, np.array([1.0, 0.0]), dt=0.1, n_states=1, n_cvars=1,
                   n_params=2)


def test_device_layout_follows_the_plan():
    """layout_shard: connection lists, delays per group and plan order match the dense rule."""
    spec = codegen.kernel_spec("kuramoto", coupling="kuramoto", dtype="float32")
    n_sims = SPEEDS.size
    params = np.column_stack([np.linspace(1.0, 2.0, n_sims), np.arange(n_sims), SPEEDS])
    generator = np.random.default_rng(3)
    inputs = ShardInputs(
        params=params, sim_index=np.arange(100, 105), weights=WEIGHTS, lengths=LENGTHS,
        initial=generator.normal(size=(n_sims, 1, 3)), noise=np.zeros(1), dt=0.1,
        n_steps=8, seed=1, raw_period=1, tavg_period=0, bold_period=0, bold_substeps=1,
        balloon=np.zeros(9), dt_bold_s=1e-3,
        parameter_names=spec.parameter_names)
    shard = layout_shard(spec, inputs)
    assert shard.row_start.tolist() == [0, 1, 3, 3] and shard.sources.tolist() == [1, 0, 2]
    np.testing.assert_array_equal(shard.weights, [1.0, 2.0, 3.0])
    dense, _ = delay_tables(LENGTHS, np.array([1.0, 2.0, 4.0]), 0.1)
    np.testing.assert_array_equal(shard.delays, dense[:, [0, 1, 1], [1, 0, 2]])
    assert shard.delay_set.tolist() == [0, 0, 1, 1, 2]
    np.testing.assert_array_equal(shard.params[-1], SPEEDS[shard.plan.order])
    assert shard.sim_key.tolist() == [101, 103, 100, 102, 104]
    np.testing.assert_array_equal(shard.state[0, :, 0], inputs.initial[1, 0].astype(np.float32))
    assert shard.history_size * 4 == shard.plan.nbytes()["history"]


def test_tvb68_sweep_needs_under_a_quarter_of_rateml_history():
    """The benchmark grid: 16 speeds 1-10 m/s; RateML keeps 4096 float32 slots per node."""
    conn = connectome.load(TVB68)
    speeds = np.repeat(np.linspace(1.0, 10.0, 16), 4)
    plan = plan_shard(conn.weights, conn.lengths, speeds, dt=0.1, n_states=1, n_cvars=1,
                      n_params=3)
    rateml = 4096 * 68 * 4
    assert plan.horizon == 2530  # 252.9 mm at 1 m/s
    assert plan.bytes_per_sim < rateml / 4


def test_threads_per_simulation_fill_the_device_in_one_wave():
    """64 registers: 2048 per warp, 32 warps per SM; nvcc's 92: 3072 per warp, 21 warps."""
    assert resident_warps(64) == 32 and resident_warps(92) == 21 and resident_warps(16) == 64
    # P = 32768 is 1024 warps; 132 SMs hold 4224 at 32 warps each: 4 threads per simulation
    assert choose_node_parts(32768, 132, 32) == 4
    assert choose_node_parts(32768, 132, 21) == 2  # 4096 warps would need a second wave
    assert choose_node_parts(131072, 132, 32) == 1
    assert choose_node_parts(1024, 132, 32) == 16  # capped: blocks of 512 threads
    assert choose_node_parts(1, 1, 1) == 1


def tiny_settings() -> dict:
    """The simulate sections of config/studies/tiny.yaml (the coupling is the schema default)."""
    config = yaml.safe_load((ROOT / "config" / "studies" / "tiny.yaml").read_text())
    config.setdefault("coupling", {"name": "linear", "parameters": {}})
    return config


def test_host_memory_by_hand_and_refusal_with_the_numbers():
    """5 simulations, 2 BOLD frames of 3 nodes, float32, 2 running at once.

    Outputs: 5 x 2 x 3 x (4 computed + 4 saved) = 240 bytes. Each running simulation holds
    the plan's per-simulation bytes with a doubled ring buffer (240 + 12 x 402), less its
    24 output bytes (counted above), plus (N, N) delay and weight tables 9 x (4 + 4) = 72.
    """
    plan = small_plan()
    need = host_memory(plan, concurrent=2)
    assert (need.outputs, need.working, need.tables) == (240, 2 * (240 + 12 * 402 - 24 + 72), 216)
    assert need.total == 240 + 10224 + 216 == 10680
    assert host_memory(plan, concurrent=64).concurrent == 5  # never more than the shard
    # a CPU ring buffer over every tract (the unweighted 1000 mm one: 10001 slots at 1 m/s)
    every_tract = delay_horizon(np.ones((3, 3)), LENGTHS, 1.0, 0.1)
    wide = host_memory(plan, concurrent=2, history_slots=every_tract)
    assert wide.working - need.working == 2 * 12 * 2 * (10001 - 201)
    assert host_memory(plan, concurrent=2, history_slots=5) == need  # never below the plan
    assert check_host_memory(plan, 10680, concurrent=2) == need
    with pytest.raises(PlanError) as error:
        check_host_memory(plan, 10679, concurrent=2, where="the job's memory")
    message = str(error.value)
    for expected in ("shard of 5 simulations needs 0.0 MiB (10680 B)",
                     "the job's memory allows 0.0 MiB (10679 B)", "5 x 2 BOLD frames x 3 nodes",
                     "2 simulation(s) at once", "201 slots", "at most 4 simulations fit",
                     "shards.count"):
        assert expected in message, (expected, message)
    # the advice is right: the first 4 simulations fit where the 5 did not
    smaller = plan_shard(WEIGHTS, LENGTHS, SPEEDS[:4], dt=0.1, n_states=1, n_cvars=1,
                         n_params=3, frames=(0, 4, 2))
    assert check_host_memory(smaller, 10679, concurrent=2).total <= 10679


def test_study_plan_of_the_tiny_study(hcp_connectome):
    """Shard 1 of the tiny study: 2 simulations at 4 and 12 m/s, 41 BOLD frames of 30 s."""
    settings = tiny_settings()
    rows = np.array([2, 3])  # (24, 4) and (24, 12)
    plan = study_plan(settings, hcp_connectome.weights, hcp_connectome.lengths, rows)
    assert plan.frames == (0, 0, 41) and plan.n_nodes == 80 and plan.real_bytes == 4
    assert plan.sim_index.tolist() == [2, 3] and plan.group_speeds.tolist() == [4.0, 12.0]
    assert plan.horizon == delay_horizon(hcp_connectome.weights, hcp_connectome.lengths, 4.0,
                                         0.144)
    settings["sweep"] = {"speed": [-1.0, 2.0]}
    with pytest.raises(InputError) as error:
        study_plan(settings, hcp_connectome.weights, hcp_connectome.lengths, rows[:1] - 2)
    assert error.value.field == "sweep.speed" and "positive" in str(error.value)


def test_simulate_stage_refuses_a_shard_larger_than_its_memory(tmp_path, hcp_connectome):
    """The CLI plans before it compiles: exit 2, the numbers, and no output at all."""
    np.savez(tmp_path / "conn.npz", weights=hcp_connectome.weights,
             lengths=hcp_connectome.lengths)
    settings = {key: tiny_settings()[key] for key in ("model", "coupling", "integration",
                                                      "simulation", "monitors", "sweep",
                                                      "shards")}
    out = tmp_path / "sims" / "shard-0.npz"
    result = subprocess.run(
        [sys.executable, "-m", "brainsweep.cli", "simulate", "--settings", json.dumps(settings),
         "--connectome", str(tmp_path / "conn.npz"), "--shard-id", "0", "--out", str(out),
         "--memory-mb", "0.05"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: shard of 2 simulations needs ")
    assert "the job's memory allows 0.0 MiB (52428 B)" in line
    assert "2 x 41 BOLD frames x 80 nodes" in line and "at most 0 simulations fit" in line
    assert not out.parent.exists()
