"""The shard stage (``brainsweep simulate``): one shard of a study's grid →
``results/sims/{study}/shard-{i}.npz``.

The shard file holds the shard's swept parameter rows, their global indices, the BOLD signal
sampled at the TR (float32, transient included: the bold stage drops it), the diverged flags,
the noise seed and the simulated transient; its sidecar holds the provenance (inputs'
hashes, settings, seed, target, device) and the shard's plan (history depth, bytes).

Before anything is compiled or allocated the shard is planned
(:func:`brainsweep.network.plan.plan_shard`) and a shard that cannot fit the host memory it
may use is refused with the numbers (:func:`check_host_memory`); a GPU target's runner checks
the same plan against the device's free memory before it allocates.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from brainsweep.errors import InputError
from brainsweep.io import load_npz, provenance, save_npz
from brainsweep.network.delays import delay_horizon
from brainsweep.regions import region_labels
from brainsweep.simulate.grid import shard_rows
from brainsweep.simulate.memory import available_memory_bytes, check_host_memory, host_memory
from brainsweep.simulate.run import check_kernel_source
from brainsweep.simulate.run import run as simulate
from brainsweep.study.settings import SECTIONS, SimulateSettings

__all__ = ["SECTIONS", "SimulateSettings", "run_stage"]


def _read_kernel(path: str | os.PathLike, spec, target: str) -> str:
    """The kernel file's source, refused (naming the file) unless made from ``spec``."""
    try:
        source = Path(path).read_text()
    except OSError as error:
        raise InputError(f"cannot read the kernel: {error.strerror}", source=os.fspath(path),
                         field="kernel") from None
    try:
        check_kernel_source(source, spec, target)
    except InputError as error:
        raise InputError(str(error).removeprefix("[kernel]: "), source=os.fspath(path),
                         field="kernel") from None
    return source


def run_stage(settings: Mapping[str, Any] | SimulateSettings, connectome: str | os.PathLike,
              shard: int, out: str | os.PathLike, *, memory_bytes: int | None = None,
              kernel: str | os.PathLike | None = None) -> Path:
    """Simulate shard ``shard`` of the study and write it atomically with its sidecar.

    ``kernel``: the kernel source file to run (the workflow's kernel rule wrote it); it is
    refused, before anything else, unless its embedded spec hash is the spec these settings
    give. Without it the kernel is generated here.

    The shard is planned first and refused, before anything is compiled or written, when
    its host memory (:func:`host_memory`) exceeds ``memory_bytes`` (the job's memory; the
    rule passes its ``mem_mb``) or what the machine has available.
    """
    parsed = settings if isinstance(settings, SimulateSettings) else \
        SimulateSettings.from_sections(settings)
    # the coupling terms the whole sweep needs (those of the kernel rule's kernel)
    parsed = parsed.with_automatic_terms()
    sim = parsed.simulation
    target = sim.target
    integrator = parsed.integrator
    # a history type the target cannot store is refused here, before planning or compiling
    spec = parsed.kernel.spec(target=target)
    source = None
    if kernel is not None:
        source = _read_kernel(kernel, spec, target)
    model = parsed.model.load()
    coupling = parsed.coupling.load()
    bold_cfg = parsed.bold_monitor

    grid = parsed.grid.build()
    shards = parsed.shard_count()
    rows = shard_rows(grid.size, shards, int(shard))
    conn = load_npz(connectome)
    for key in ("weights", "lengths"):
        if key not in conn:
            raise InputError(f"missing array {key!r}", source=os.fspath(connectome), field=key)

    plan = parsed.shard_plan(conn["weights"], conn["lengths"], rows)
    # a CPU kernel's ring buffer spans the longest tract, weighted or not, at the slowest speed
    every_tract = delay_horizon(np.ones_like(conn["weights"]), conn["lengths"],
                                float(plan.speeds.min()), integrator.dt)
    limits = {"the job's memory": memory_bytes, "this host": available_memory_bytes()}
    limits = {name: int(value) for name, value in limits.items() if value is not None}
    threads = int(os.environ.get("NUMBA_NUM_THREADS") or sim.threads)
    if limits:
        where, available = min(limits.items(), key=lambda item: item[1])
        check_host_memory(plan, available, concurrent=threads, history_slots=every_tract,
                          where=where)
    need = host_memory(plan, concurrent=threads, history_slots=every_tract)

    n_steps = parsed.n_steps(model.time_unit_s)
    regions = [str(label) for label in conn["labels"]] if "labels" in conn else \
        [f"region-{i:03d}" for i in range(conn["weights"].shape[0])]
    # regional parameters become (S, N) tables here, from their base values and coefficients
    params = parsed.kernel_params(grid.as_params(rows), regions, conn["weights"])
    tuned = _tune_inhibition(parsed, conn, params, target)
    if tuned is not None:
        params["J_i"] = tuned.j_i
    result = simulate(
        conn, model,
        target=target,
        dt=integrator.dt,
        n_steps=n_steps,
        params=params,
        integrator=integrator.method,
        coupling=coupling,
        stochastic=integrator.stochastic,
        seed=sim.seed,
        sim_index=rows,
        monitors=("bold",),
        bold_period_s=bold_cfg.tr,
        bold_dt_s=bold_cfg.dt_s,
        bold_preset=bold_cfg.preset,
        dtype=integrator.dtype,
        history_dtype=sim.history_dtype,
        device=sim.device,
        # progress lines in the shard's log, saying which shard and how big
        progress=f"shard {int(shard)} of {shards} ({len(rows)} simulations x "
                 f"{n_steps:_} steps, {target})".replace("_", " "),
        plan=plan,  # planned once, above
        kernel_source=source,  # the kernel rule's file, checked above; None: generated
    )
    regional = {} if result.regional is None else {
        # each simulation's per-region values, for the record (and a later fit of maps)
        "regional_names": np.array(result.regional_names),
        "regional_values": result.regional.astype(np.float32)}
    arrays = {
        **regional,
        "param_names": np.array(grid.names),
        "param_values": grid.values[rows],
        "sim_index": rows,
        "bold": result.bold.astype(np.float32),
        "bold_period_s": np.float64(result.bold_period_s),
        # the time axis (s; sample k is taken at the end of its TR) and the regions' names,
        # so a shard reads on its own
        "bold_time_s": (np.arange(result.bold.shape[1]) + 1) * np.float64(result.bold_period_s),
        "region_labels": np.array(conn["labels"], dtype=str) if "labels" in conn
        else np.array(region_labels(result.bold.shape[2]), dtype=str),
        "diverged": result.diverged,
        # the noise of simulation i is keyed by (seed, sim_index): the two name its noise
        "seed": np.int64(sim.seed),
        # the simulated time before the analysed window (the bold stage drops its own
        # bold.transient_s, which studies set to this)
        "transient_s": np.float64(sim.transient_s),
    }
    record = provenance(
        inputs={"connectome": connectome},
        config={key: parsed.as_dict()[key] for key in SECTIONS},
        stage="simulate", shard=int(shard), shards=shards, rows=[int(rows[0]), int(rows[-1])],
        seed=sim.seed, target=result.target, kernel=None if kernel is None else str(kernel),
        device=sim.device or platform.processor() or platform.machine(),
        n_steps=n_steps, kernel_columns=list(result.parameter_names),
        fic_tuning=None if tuned is None else {"rounds": tuned.rounds,
                                               "worst_rate_error_hz": list(tuned.worst)},
        n_diverged=int(result.diverged.sum()), timings=result.timings,
        threads=os.environ.get("NUMBA_NUM_THREADS"),
        plan={"history_slots": plan.horizon, "speed_groups": plan.n_groups,
              "device_bytes": plan.total_bytes, "host_bytes": need.total,
              "memory_limit_bytes": limits},
    )
    path = save_npz(out, arrays, record)
    print(f"shard {int(shard)} of {shards}: wrote {os.fspath(out)} ({len(rows)} simulations, "
          f"{int(result.diverged.sum())} diverged)", file=sys.stderr, flush=True)
    return path


def _tune_inhibition(parsed: SimulateSettings, conn: Mapping[str, np.ndarray],
                     params: dict[str, Any], target: str):
    """J_i adjusted by simulation (``model.regional.J_i.tune``), or None when not asked."""
    how = parsed.model.regional.get("J_i")
    if how is None or how.get("form") != "fic" or how.get("tune") is None:
        return None
    from brainsweep.fic import tune_inhibition

    tune = how["tune"]
    spec = parsed.kernel.spec(target=target)
    return tune_inhibition(
        conn, spec, {name: values for name, values in params.items() if name != "J_i"},
        params["J_i"], target_rate=float(how.get("target_rate", 3.0)),
        warmup_s=float(tune.get("warmup_s", 4.0)), dt=parsed.integrator.dt,
        seed=parsed.simulation.seed, rounds=int(tune.get("rounds", 10)),
        eta=float(tune.get("eta", 0.1)), tolerance_hz=float(tune.get("tolerance_hz", 0.05)),
        target=target, device=parsed.simulation.device)


Settings = SimulateSettings  # the stage's settings type (brainsweep.study)


def run(settings: SimulateSettings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]
        ) -> Path:
    """The stage contract: connectome, kernel, shard id and memory -> ``outputs["out"]``."""
    memory = inputs.get("memory_mb")
    return run_stage(settings, inputs["connectome"], inputs["shard"], outputs["out"],
                     memory_bytes=None if memory is None else int(memory * 2**20),
                     kernel=inputs.get("kernel"))
