"""The Numba target: ``@njit(parallel=True)``, ``prange`` over lane groups of a shard.

A lane group is a handful of simulations with the same conduction speed. They share one delay
matrix, so the kernel advances them together with the simulations as the innermost (lane)
index of its arrays: every delayed read of the network sum becomes one contiguous load of all
lanes, which the compiler vectorises, instead of one scattered read per simulation. The lanes
never mix, and each does the arithmetic of a simulation run alone in the same order, so the
grouping changes no result (tests/unit/test_numba_lanes.py checks bit-identity).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from types import ModuleType

import numpy as np

from brainsweep.backends.base import ShardInputs, ShardOutputs, Target, register
from brainsweep.codegen.generate import cache_dir, source_hash, write_kernel
from brainsweep.codegen.render import PythonRenderer

__all__ = ["MAX_LANES", "NumbaTarget", "lane_groups"]

# One AVX2 register of float32 (eight) or two of float64: more lanes only lengthen a group's
# history rows without saving loads, and leave fewer groups to spread over the cores.
MAX_LANES = 8

_MODULES: dict[str, ModuleType] = {}


def load_module(source: str) -> ModuleType:
    """Import generated source from the on-disk cache (one module per source hash)."""
    key = source_hash(source)
    if key not in _MODULES:
        path = write_kernel(source, cache_dir() / "numba", stem="kernel", suffix=".py")
        name = f"brainsweep_kernel_{key}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _MODULES[key] = module
    return _MODULES[key]


def lane_groups(speeds: np.ndarray, threads: int,
                max_lanes: int = MAX_LANES) -> tuple[np.ndarray, np.ndarray]:
    """Split a shard's rows into groups of equal speed, each of at most ``max_lanes`` rows.

    Returns ``(start, members)``: group g is ``members[start[g]:start[g + 1]]``, rows in
    ascending order within a group. The lane count is halved while that leaves fewer groups
    than ``threads``, so that every core gets work: wide groups on a shard of one speed
    would otherwise run on one core.

    Examples
    --------
    >>> start, members = lane_groups(np.array([3.0, 6.0, 3.0, 3.0, 6.0]), threads=1)
    >>> [members[a:b].tolist() for a, b in zip(start[:-1], start[1:])]
    [[0, 2, 3], [1, 4]]
    >>> start, members = lane_groups(np.full(8, 3.0), threads=2)
    >>> [members[a:b].tolist() for a, b in zip(start[:-1], start[1:])]
    [[0, 1, 2, 3], [4, 5, 6, 7]]
    """
    speeds = np.asarray(speeds, dtype=np.float64)
    order = np.argsort(speeds, kind="stable")  # equal speeds keep their row order
    edges = np.flatnonzero(np.diff(speeds[order])) + 1
    runs = np.split(order, edges) if order.size else []

    def split(lanes: int) -> list[np.ndarray]:
        return [run[k:k + lanes] for run in runs for k in range(0, run.size, lanes)]

    lanes = max(1, int(max_lanes))
    groups = split(lanes)
    while lanes > 1 and len(groups) < threads:
        lanes //= 2
        groups = split(lanes)
    start = np.zeros(len(groups) + 1, dtype=np.int64)
    start[1:] = np.cumsum([g.size for g in groups])
    members = np.concatenate(groups).astype(np.int64) if groups else np.zeros(0, np.int64)
    return start, members


@register
class NumbaTarget(Target):
    name = "numba"
    template_folder = "numba"
    renderer = PythonRenderer
    file_suffix = ".py"
    main_template = "simulate.py.j2"
    coupling_sum = "{gx}[i, l]"  # sums are held per node and lane

    @classmethod
    def devices(cls) -> list[str]:
        import numba

        return [f"CPU: {os.cpu_count()} cores, numba {numba.__version__}, "
                f"{numba.config.NUMBA_NUM_THREADS} threads"]

    def run(self, source: str, spec, inputs: ShardInputs, *, device: str | None = None,
            progress: bool = False) -> ShardOutputs:
        real = np.dtype(spec.dtype)
        n_sims = inputs.params.shape[0]
        n_nodes = inputs.weights.shape[0]
        n_states = len(spec.model.states)

        def frames(period: int) -> int:
            return inputs.n_steps // period if period > 0 else 0

        out_raw = np.full((n_sims, frames(inputs.raw_period), n_states, n_nodes), np.nan, real)
        out_tavg = np.full((n_sims, frames(inputs.tavg_period), n_states, n_nodes), np.nan, real)
        out_bold = np.full((n_sims, frames(inputs.bold_period), n_nodes), np.nan, real)
        diverged = np.zeros(n_sims, dtype=np.bool_)

        started = time.perf_counter()
        module = load_module(source)
        import numba

        group_start, group_members = lane_groups(inputs.params[:, -1],
                                                 numba.get_num_threads())
        args = (
            group_start, group_members,
            np.ascontiguousarray(inputs.params, dtype=np.float64),
            np.ascontiguousarray(inputs.weights, dtype=np.float64),
            np.ascontiguousarray(inputs.lengths, dtype=np.float64),
            float(inputs.dt), int(inputs.n_steps),
            np.ascontiguousarray(inputs.initial, dtype=np.float64),
            np.ascontiguousarray(inputs.noise, dtype=np.float64),
            int(inputs.seed), np.ascontiguousarray(inputs.sim_index, dtype=np.int64),
            int(inputs.raw_period), int(inputs.tavg_period), int(inputs.bold_period),
            int(max(inputs.bold_substeps, 1)),
            np.ascontiguousarray(inputs.balloon, dtype=np.float64), float(inputs.dt_bold_s),
            out_raw, out_tavg, out_bold, diverged,
        )
        loaded = time.perf_counter()
        module.simulate_shard(*args)
        finished = time.perf_counter()
        return ShardOutputs(raw=out_raw, tavg=out_tavg, bold=out_bold, diverged=diverged,
                            timings={"load_s": loaded - started,
                                     "run_s": finished - loaded})
