"""Simulation: the Python API, parameter grids, shard plans and the sweep-shard stage."""

from brainsweep.network.plan import ShardPlan, delay_horizon, plan_shard, speed_order
from brainsweep.simulate.grid import Grid, build_grid, n_shards, shard_rows
from brainsweep.simulate.run import SimulationResult, parameter_table, run
from brainsweep.simulate.stage import (
    check_host_memory,
    host_memory,
    run_stage,
    shard_count,
    study_plan,
)

__all__ = ["Grid", "ShardPlan", "SimulationResult", "build_grid", "check_host_memory",
           "delay_horizon", "host_memory", "n_shards", "parameter_table", "plan_shard", "run",
           "run_stage", "shard_count", "shard_rows", "speed_order", "study_plan"]
