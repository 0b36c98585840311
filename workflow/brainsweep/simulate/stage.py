"""The simulate stage: one shard of a study's grid → ``results/sims/{study}/shard-{i}.npz``.

The shard file holds the shard's swept parameter rows, their global indices, the BOLD signal
sampled at the TR (float32, transient included: the bold stage drops it), the diverged flags
and timings; its sidecar holds the provenance (inputs' hashes, settings, seed, target, device)
and the shard's plan (history depth, bytes).

Before anything is compiled or allocated the shard is planned
(:func:`brainsweep.network.plan.plan_shard`) and a shard that cannot fit the host memory it
may use is refused with the numbers (:func:`check_host_memory`); a GPU target's runner checks
the same plan against the device's free memory before it allocates.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainsweep.backends.base import SPEED
from brainsweep.codegen.generate import check_history_storage
from brainsweep.errors import InputError, PlanError
from brainsweep.io import load_npz, provenance, save_npz
from brainsweep.network.delays import delay_horizon
from brainsweep.network.plan import ShardPlan, plan_shard
from brainsweep.simulate.grid import build_grid, n_shards, shard_rows
from brainsweep.simulate.run import parameter_table, run, steps_per

__all__ = ["SECTIONS", "HostMemory", "available_memory_bytes", "check_host_memory",
           "host_memory", "run_stage", "shard_count", "simulation_steps", "study_coupling",
           "study_kernel_spec", "study_model", "study_plan"]

# The config sections this stage reads (the rule passes exactly these).
SECTIONS = ("model", "coupling", "integration", "simulation", "monitors", "sweep", "shards")


def shard_count(settings: Mapping[str, Any]) -> int:
    """How many shards the study's grid splits into."""
    grid = build_grid(settings["sweep"])
    shards = settings.get("shards") or {}
    return n_shards(grid.size, count=shards.get("count"), size=shards.get("size"))


def simulation_steps(settings: Mapping[str, Any], time_unit_s: float) -> int:
    """Integration steps for transient + duration."""
    sim = settings["simulation"]
    total_s = float(sim["transient_s"]) + float(sim["duration_s"])
    dt_s = float(settings["integration"]["dt"]) * time_unit_s
    steps = round(total_s / dt_s)
    if steps < 1:
        raise InputError("the simulation is shorter than one step", field="simulation.duration_s")
    return int(steps)


def study_model(settings: Mapping[str, Any]):
    """The study's model: the named model with its ``parameters``, ``noise``, ``initial``
    and ``coupling_terms`` settings applied."""
    from brainsweep.dsl import load_model

    spec = settings["model"]
    model = load_model(spec["name"])
    if spec.get("parameters"):
        model = model.with_defaults(**spec["parameters"])
    if spec.get("noise"):
        model = model.with_noise(**spec["noise"])
    if spec.get("initial"):
        model = model.with_initial(**spec["initial"])
    if spec.get("coupling_terms"):
        model = model.with_coupling_terms(list(spec["coupling_terms"]))
    return model


def study_coupling(settings: Mapping[str, Any]):
    """The study's coupling function with its ``parameters`` applied."""
    from brainsweep.dsl import load_coupling

    coupling_cfg = settings.get("coupling") or {"name": "linear"}
    coupling = load_coupling(coupling_cfg.get("name", "linear"))
    if coupling_cfg.get("parameters"):
        coupling = coupling.with_defaults(**coupling_cfg["parameters"])
    return coupling


def study_kernel_spec(settings: Mapping[str, Any], *, target: str | None = None):
    """The :class:`~brainsweep.codegen.KernelSpec` a study's shards run; with ``target``, also
    checked that the target can store its delay history. Errors name the config key."""
    from brainsweep.codegen import kernel_spec

    integration = settings.get("integration") or {}
    simulation = settings.get("simulation") or {}
    try:
        spec = kernel_spec(study_model(settings), coupling=study_coupling(settings),
                           integrator=integration.get("method", "heun"),
                           stochastic=bool(integration.get("stochastic", True)),
                           dtype=integration.get("dtype", "float64"),
                           history_dtype=simulation.get("history_dtype"))
        if target is not None:
            check_history_storage(spec, target)
    except InputError as error:  # name the config key, not the Python argument
        if error.field != "history_dtype":
            raise
        raise InputError(str(error).removeprefix(f"[{error.field}]: "),
                         field="simulation.history_dtype") from error
    return spec


def study_plan(settings: Mapping[str, Any], weights: np.ndarray, lengths: np.ndarray,
               rows: np.ndarray) -> ShardPlan:
    """The :class:`~brainsweep.network.plan.ShardPlan` of the grid rows ``rows`` of a study.

    The kernel's state, coupled variables and parameter columns come from the study's kernel
    spec, the speeds from the sweep (or the default speed), the output frames from the
    duration and the BOLD period. Bad parameter names or speeds raise
    :class:`~brainsweep.errors.InputError` naming the ``sweep`` key.
    """
    spec = study_kernel_spec(settings)
    grid = build_grid(settings["sweep"])
    try:
        table = parameter_table(spec, grid.as_params(np.asarray(rows)))
    except InputError as error:  # name the config key, not the Python argument
        field = (error.field or "").removeprefix("params")
        message = str(error).removeprefix(f"[{error.field}]: ")
        raise InputError(message, field=f"sweep{field}") from error
    model = spec.model
    n_steps = simulation_steps(settings, model.time_unit_s)
    dt_s = float(settings["integration"]["dt"]) * model.time_unit_s
    bold_period = steps_per(float(settings["monitors"]["bold"]["tr"]), dt_s,
                            what="monitors.bold.tr")
    speeds = table[:, spec.parameter_names.index(SPEED)]
    return plan_shard(weights, lengths, speeds, dt=float(settings["integration"]["dt"]),
                      n_states=len(model.states), n_cvars=len(model.coupled_states),
                      n_params=table.shape[1], sim_index=np.asarray(rows), dtype=spec.dtype,
                      history_dtype=spec.history_storage, frames=(0, 0, n_steps // bold_period))


@dataclass(frozen=True)
class HostMemory:
    """Host bytes one shard needs, by part (see :func:`host_memory`)."""

    outputs: int  # every simulation's BOLD: the kernel's array and the float32 copy saved
    working: int  # state, delay history and tables of the simulations that run at once
    tables: int  # connection lists, delays and constants shared by the shard
    concurrent: int  # simulations that run at once

    @property
    def total(self) -> int:
        return self.outputs + self.working + self.tables


def host_memory(plan: ShardPlan, *, concurrent: int,
                history_slots: int | None = None) -> HostMemory:
    """Host bytes of a shard: all outputs plus the working set of ``concurrent`` simulations.

    A CPU target runs ``concurrent`` simulations at a time (its threads), each holding its
    state, a ring buffer of twice ``history_slots`` (default: the plan's horizon; the Numba
    kernel sizes it from the longest tract, weighted or not) so that a delayed read never
    wraps, and its own (N, N) delay and weight tables; every simulation's BOLD output stays
    in memory until the shard is saved, once as computed and once as the float32 array
    written. For a GPU target the working set lives on the device, so this over-counts
    the host by the working set of ``concurrent`` simulations: a bound, not a guess.
    """
    concurrent = max(1, min(int(concurrent), plan.n_sims))
    slots = plan.horizon if history_slots is None else max(int(history_slots), plan.horizon)
    _, _, bold_frames = plan.frames
    outputs = plan.n_sims * bold_frames * plan.n_nodes * (plan.real_bytes + 4)
    per_sim = (plan.simulation_bytes(2 * slots)
               - bold_frames * plan.n_nodes * plan.real_bytes  # outputs counted above
               + plan.n_nodes * plan.n_nodes * (4 + plan.real_bytes))
    return HostMemory(outputs=int(outputs), working=int(concurrent * per_sim),
                      tables=int(plan.table_bytes()), concurrent=concurrent)


def available_memory_bytes() -> int | None:
    """Memory the kernel says is available to start new work (``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_host_memory(plan: ShardPlan, available: int, *, concurrent: int,
                      history_slots: int | None = None, where: str = "this host") -> HostMemory:
    """Refuse, with the numbers, a shard whose :func:`host_memory` exceeds ``available``.

    Raises
    ------
    PlanError
        The bytes needed by part, the bytes available, and how many simulations would fit.
    """
    need = host_memory(plan, concurrent=concurrent, history_slots=history_slots)
    slots = plan.horizon if history_slots is None else max(int(history_slots), plan.horizon)
    if need.total <= available:
        return need
    per_output = need.outputs / max(plan.n_sims, 1)
    room = available - need.tables - need.working
    fit = max(0, int(room // per_output)) if per_output > 0 and room > 0 else 0
    raise PlanError(
        f"shard of {plan.n_sims} simulations needs {_mib(need.total)} of host memory but "
        f"{where} allows {_mib(available)}: outputs {_mib(need.outputs)} ({plan.n_sims} x "
        f"{plan.frames[2]} BOLD frames x {plan.n_nodes} nodes), working set "
        f"{_mib(need.working)} ({need.concurrent} simulation(s) at once, history of "
        f"{slots} slots), tables {_mib(need.tables)}; at most {fit} simulations fit: "
        f"use more shards (shards.count / shards.size) or give the job more memory "
        f"(snakemake --set-resources simulate_shard:mem_mb=...)")


def _mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB ({n:.0f} B)"


def run_stage(settings: Mapping[str, Any], connectome: str | os.PathLike, shard: int,
              out: str | os.PathLike, *, memory_bytes: int | None = None) -> Path:
    """Simulate shard ``shard`` of the study and write it atomically with its sidecar.

    The shard is planned first and refused, before anything is compiled or written, when
    its host memory (:func:`host_memory`) exceeds ``memory_bytes`` (the job's memory; the
    rule passes its ``mem_mb``) or what the machine has available.
    """
    missing = [key for key in SECTIONS if key not in settings]
    if missing:
        raise InputError(f"missing config section(s) {missing}", field=missing[0])
    target = settings["simulation"].get("target", "numba")
    # a history type the target cannot store is refused here, before planning or compiling
    study_kernel_spec(settings, target=target)
    model = study_model(settings)
    coupling = study_coupling(settings)
    integration = settings["integration"]
    sim = settings["simulation"]
    bold_cfg = settings["monitors"]["bold"]

    grid = build_grid(settings["sweep"])
    shards = shard_count(settings)
    rows = shard_rows(grid.size, shards, int(shard))
    conn = load_npz(connectome)
    for key in ("weights", "lengths"):
        if key not in conn:
            raise InputError(f"missing array {key!r}", source=os.fspath(connectome), field=key)

    plan = study_plan(settings, conn["weights"], conn["lengths"], rows)
    # a CPU kernel's ring buffer spans the longest tract, weighted or not, at the slowest speed
    every_tract = delay_horizon(np.ones_like(conn["weights"]), conn["lengths"],
                                float(plan.speeds.min()), float(integration["dt"]))
    limits = {"the job's memory": memory_bytes, "this host": available_memory_bytes()}
    limits = {name: int(value) for name, value in limits.items() if value is not None}
    threads = int(os.environ.get("NUMBA_NUM_THREADS") or sim.get("threads") or 1)
    if limits:
        where, available = min(limits.items(), key=lambda item: item[1])
        check_host_memory(plan, available, concurrent=threads, history_slots=every_tract,
                          where=where)
    need = host_memory(plan, concurrent=threads, history_slots=every_tract)

    n_steps = simulation_steps(settings, model.time_unit_s)
    result = run(
        conn, model,
        target=target,
        dt=float(integration["dt"]),
        n_steps=n_steps,
        params=grid.as_params(rows),
        integrator=integration.get("method", "heun"),
        coupling=coupling,
        stochastic=bool(integration.get("stochastic", True)),
        seed=int(sim.get("seed", 0)),
        sim_index=rows,
        monitors=("bold",),
        bold_period_s=float(bold_cfg["tr"]),
        bold_dt_s=float(bold_cfg.get("dt_s", 1e-3)),
        bold_preset=bold_cfg.get("preset", "friston2003"),
        dtype=integration.get("dtype", "float64"),
        history_dtype=sim.get("history_dtype"),
        device=sim.get("device"),
        progress=True,  # progress lines in the shard's log
        plan=plan,  # planned once, above
    )
    arrays = {
        "param_names": np.array(grid.names),
        "param_values": grid.values[rows],
        "sim_index": rows,
        "bold": result.bold.astype(np.float32),
        "bold_period_s": np.float64(result.bold_period_s),
        "diverged": result.diverged,
    }
    record = provenance(
        inputs={"connectome": connectome},
        config={key: settings[key] for key in SECTIONS},
        stage="simulate", shard=int(shard), shards=shards, rows=[int(rows[0]), int(rows[-1])],
        seed=int(sim.get("seed", 0)), target=result.target,
        device=sim.get("device") or platform.processor() or platform.machine(),
        n_steps=n_steps, kernel_columns=list(result.parameter_names),
        n_diverged=int(result.diverged.sum()), timings=result.timings,
        threads=os.environ.get("NUMBA_NUM_THREADS"),
        plan={"history_slots": plan.horizon, "speed_groups": plan.n_groups,
              "device_bytes": plan.total_bytes, "host_bytes": need.total,
              "memory_limit_bytes": limits},
    )
    return save_npz(out, arrays, record)
