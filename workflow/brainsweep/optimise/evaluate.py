"""One batch of candidates: simulate them together, post-process their BOLD as the bold
stage does, and score each against its own subject's empirical FC (and FCD).

The batch is one :func:`brainsweep.simulate.run` call per connectome: with the group
connectome (``structural: group``) every subject, restart, candidate and seed of a
generation is one run, so a GPU gets them all at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from brainsweep.bold.connectivity import fc, fcd, fcd_values
from brainsweep.bold.filters import postprocess
from brainsweep.fit.metrics import score
from brainsweep.optimise.settings import objective_sign
from brainsweep.simulate.run import run as simulate
from brainsweep.study.settings import SimulateSettings

__all__ = ["Batch", "Subject", "connectivity", "objective", "run_batch",
           "simulate_connectivity"]

_FILTER_KEYS = ("transient_s", "detrend", "bandpass", "zscore", "gsr")


@dataclass(frozen=True)
class Subject:
    """A fitting target: its id, empirical FC, pooled FCD values (or None) and the
    connectome its candidates are simulated on."""

    ident: str
    fc: np.ndarray
    fcd: np.ndarray | None
    weights: np.ndarray
    lengths: np.ndarray


@dataclass
class Batch:
    """Simulations of one generation: each row's subject, parameter values and noise index."""

    subjects: list[int]  # position in the job's subject list, one per simulation
    params: np.ndarray  # (S, d) free parameter values
    sim_index: np.ndarray  # (S,) the noise key of each simulation


def connectivity(bold: np.ndarray, diverged: np.ndarray, *, tr: float,
                 options: Mapping) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """FC (S, N, N) float64 and FCD values per simulation, NaN where a simulation diverged
    or its BOLD is not finite (the bold stage's processing, in memory).

    Simulations are processed on a pool of threads, one per available core: NumPy and
    SciPy release the GIL in the filters and products that take the time (about 0.05 s a
    simulation for 80 regions and 1 200 TRs with an FCD), and a GPU batch of thousands of
    simulations would otherwise wait minutes for one core. Each simulation's arithmetic is
    the same whichever thread runs it, so the results do not depend on the pool.
    """
    n_sims, _, n_nodes = bold.shape
    filters = {key: options[key] for key in _FILTER_KEYS}
    matrices = np.full((n_sims, n_nodes, n_nodes), np.nan)
    with_fcd = options["fcd"] is not None
    fcds: list[np.ndarray] | None = [np.array([np.nan])] * n_sims if with_fcd else None

    def one(i: int) -> None:
        if diverged[i] or not np.isfinite(bold[i]).all():
            return
        clean = postprocess(bold[i].astype(np.float64), tr=tr, **filters)
        matrices[i] = fc(clean)
        if fcds is not None:
            fcds[i] = fcd_values(fcd(clean, tr=tr, **options["fcd"]))

    workers = min(n_sims, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                  else (os.cpu_count() or 1))
    if workers <= 1:
        for i in range(n_sims):
            one(i)
    else:
        # one BLAS thread in each: the pool is the parallelism, and BLAS's own threads on
        # top of it oversubscribe the cores (measured 2.4x slower on 2 cores than this)
        with threadpool_limits(1, user_api="blas"), \
                ThreadPoolExecutor(max_workers=workers) as pool:
            # list() re-raises the first error of any simulation here
            list(pool.map(one, range(n_sims)))
    return matrices, fcds


def objective(metrics: pd.DataFrame, weights: Mapping[str, float]) -> np.ndarray:
    """``sum(weight * sign * metric)`` per row (maximised; NaN where any term is NaN)."""
    total = np.zeros(len(metrics))
    for name, weight in weights.items():
        total = total + weight * objective_sign(name) * metrics[name].to_numpy(np.float64)
    return total


def _simulate(settings: SimulateSettings, names: Sequence[str], params: np.ndarray,
              sim_index: np.ndarray, subject: Subject, kernel_source: str | None):
    """One :func:`brainsweep.simulate.run` call: ``params`` (S, d) with noise keys
    ``sim_index`` on ``subject``'s connectome, BOLD monitored."""
    model = settings.model.load()
    integrator = settings.integrator
    bold_cfg = settings.bold_monitor
    return simulate(
        {"weights": subject.weights, "lengths": subject.lengths}, model,
        target=settings.simulation.target, dt=integrator.dt,
        n_steps=settings.n_steps(model.time_unit_s),
        params={name: params[:, k] for k, name in enumerate(names)},
        integrator=integrator.method, coupling=settings.coupling.load(),
        stochastic=integrator.stochastic, seed=settings.simulation.seed,
        sim_index=sim_index, monitors=("bold",),
        bold_period_s=bold_cfg.tr, bold_dt_s=bold_cfg.dt_s, bold_preset=bold_cfg.preset,
        dtype=integrator.dtype, history_dtype=settings.simulation.history_dtype,
        device=settings.simulation.device, kernel_source=kernel_source)


def simulate_connectivity(settings: SimulateSettings, names: Sequence[str],
                          params: np.ndarray, sim_index: np.ndarray, subject: Subject, *,
                          bold_options: Mapping, kernel_source: str | None = None):
    """The FC (S, N, N), FCD values (or None) and divergence flags (S,) of ``params``
    simulated with noise keys ``sim_index``, exactly as :func:`run_batch` scores them (a
    planted "empirical" FC for parameter recovery is made this way)."""
    result = _simulate(settings, names, np.asarray(params, dtype=np.float64),
                       np.asarray(sim_index, dtype=np.int64), subject, kernel_source)
    matrices, fcds = connectivity(result.bold, result.diverged,
                                  tr=settings.bold_monitor.tr, options=bold_options)
    return matrices, fcds, result.diverged


def run_batch(settings: SimulateSettings, names: Sequence[str], batch: Batch,
              subjects: Sequence[Subject], *, bold_options: Mapping,
              weights: Mapping[str, float], kernel_source: str | None = None,
              structural: str = "group") -> tuple[pd.DataFrame, dict[str, float]]:
    """Simulate and score a batch; one row of metrics and ``objective`` per simulation.

    Returns the table (in the batch's row order) and timings (``simulate_s``, ``score_s``).
    """
    import time

    owner = np.asarray(batch.subjects)
    if structural == "group":
        groups = [np.arange(owner.size)]
    else:
        groups = [np.flatnonzero(owner == s) for s in np.unique(owner)]
    rows = [None] * owner.size
    timings = {"simulate_s": 0.0, "score_s": 0.0}
    for members in groups:
        if members.size == 0:
            continue
        subject = subjects[int(owner[members[0]])]
        started = time.perf_counter()
        result = _simulate(settings, names, batch.params[members],
                           batch.sim_index[members], subject, kernel_source)
        diverged = result.diverged
        timings["simulate_s"] += time.perf_counter() - started
        started = time.perf_counter()
        matrices, fcds = connectivity(result.bold, diverged, tr=settings.bold_monitor.tr,
                                      options=bold_options)
        for position in np.unique(owner[members]):
            mine = np.flatnonzero(owner[members] == position)
            target = subjects[int(position)]
            with_fcd = fcds is not None and target.fcd is not None
            table = score(matrices[mine], target.fc,
                          empirical_fcd=target.fcd if with_fcd else None,
                          sim_fcd=[fcds[i] for i in mine] if with_fcd else None)
            table["objective"] = objective(table, weights)
            table["diverged"] = diverged[mine]
            for local, row in zip(mine, table.to_dict("records"), strict=True):
                rows[int(members[local])] = row
        timings["score_s"] += time.perf_counter() - started
    return pd.DataFrame(rows), timings
