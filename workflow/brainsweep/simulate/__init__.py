"""Simulation: the Python API, parameter grids and the sweep-shard stage."""

from brainsweep.simulate.grid import Grid, build_grid, n_shards, shard_rows
from brainsweep.simulate.run import SimulationResult, parameter_table, run
from brainsweep.simulate.stage import run_stage, shard_count

__all__ = ["Grid", "SimulationResult", "build_grid", "n_shards", "parameter_table", "run",
           "run_stage", "shard_count", "shard_rows"]
