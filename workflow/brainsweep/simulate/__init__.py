"""Simulation, the engine: the Python API (:func:`run`), parameter grids, shard plans and
their host memory. The sweep-shard stage that runs one shard of a study is
:mod:`brainsweep.simulate_stage`, above the study layer.
"""

from brainsweep.network.plan import ShardPlan, delay_horizon, plan_shard, speed_order
from brainsweep.simulate.grid import Grid, build_grid, n_shards, repeat_points, shard_rows
from brainsweep.simulate.memory import (
    HostMemory,
    available_memory_bytes,
    check_host_memory,
    host_memory,
)
from brainsweep.simulate.run import SimulationResult, parameter_table, run

__all__ = ["Grid", "HostMemory", "ShardPlan", "SimulationResult", "available_memory_bytes",
           "build_grid", "check_host_memory", "delay_horizon", "host_memory", "n_shards",
           "parameter_table", "plan_shard", "repeat_points", "run", "shard_rows", "speed_order"]
