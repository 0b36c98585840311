"""The Numba target: ``@njit(parallel=True)``, ``prange`` over the simulations of a shard."""

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
from brainsweep.network.delays import delay_tables
from brainsweep.progress import Progress, watch

__all__ = ["NumbaTarget"]

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


@register
class NumbaTarget(Target):
    name = "numba"
    template_folder = "numba"
    renderer = PythonRenderer
    file_suffix = ".py"
    main_template = "simulate.py.j2"
    coupling_sum = "{gx}[i]"  # sums are held per node, filled source by source

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
        steps_done = np.zeros(n_sims, dtype=np.int64)  # raised by the kernel as it goes

        started = time.perf_counter()
        module = load_module(source)
        # the one delay rule, on the host: a matrix per distinct speed of the shard
        delays, delay_set = delay_tables(inputs.lengths, inputs.speeds, inputs.dt)
        regional = () if not spec.regional else (
            np.ascontiguousarray(inputs.regional, dtype=np.float64),)
        args = (
            np.ascontiguousarray(inputs.params, dtype=np.float64), *regional,
            np.ascontiguousarray(inputs.weights, dtype=np.float64),
            delays, delay_set,
            float(inputs.dt), int(inputs.n_steps),
            np.ascontiguousarray(inputs.initial, dtype=np.float64),
            np.ascontiguousarray(inputs.noise, dtype=np.float64),
            int(inputs.seed), np.ascontiguousarray(inputs.sim_index, dtype=np.int64),
            int(inputs.raw_period), int(inputs.tavg_period), int(inputs.bold_period),
            int(max(inputs.bold_substeps, 1)),
            np.ascontiguousarray(inputs.balloon, dtype=np.float64), float(inputs.dt_bold_s),
            out_raw, out_tavg, out_bold, diverged, steps_done,
        )
        loaded = time.perf_counter()
        if progress:  # the kernel releases the GIL (nogil), so a thread can watch it
            # the caller's label (the shard stage names shard and size), else the target
            report = Progress(n_sims * inputs.n_steps,
                              label=progress if isinstance(progress, str) else "numba")
            stop = watch(report, lambda: int(steps_done.sum()))
            try:
                module.simulate_shard(*args)
            finally:
                stop()
        else:
            module.simulate_shard(*args)
        finished = time.perf_counter()
        return ShardOutputs(raw=out_raw, tavg=out_tavg, bold=out_bold, diverged=diverged,
                            timings={"load_s": loaded - started,
                                     "run_s": finished - loaded})
