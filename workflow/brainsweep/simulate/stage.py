"""The simulate stage: one shard of a study's grid → ``results/sims/{study}/shard-{i}.npz``.

The shard file holds the shard's swept parameter rows, their global indices, the BOLD signal
sampled at the TR (float32, transient included: the bold stage drops it), the diverged flags
and timings; its sidecar holds the provenance (inputs' hashes, settings, seed, target, device).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from brainsweep.errors import InputError
from brainsweep.io import load_npz, provenance, save_npz
from brainsweep.simulate.grid import build_grid, n_shards, shard_rows
from brainsweep.simulate.run import run

__all__ = ["SECTIONS", "run_stage", "shard_count", "simulation_steps", "study_coupling",
           "study_kernel_spec", "study_model"]

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


def study_kernel_spec(settings: Mapping[str, Any]):
    """The :class:`~brainsweep.codegen.KernelSpec` a study's shards run."""
    from brainsweep.codegen import kernel_spec

    integration = settings.get("integration") or {}
    return kernel_spec(study_model(settings), coupling=study_coupling(settings),
                       integrator=integration.get("method", "heun"),
                       stochastic=bool(integration.get("stochastic", True)),
                       dtype=integration.get("dtype", "float64"))


def run_stage(settings: Mapping[str, Any], connectome: str | os.PathLike, shard: int,
              out: str | os.PathLike) -> Path:
    """Simulate shard ``shard`` of the study and write it atomically with its sidecar."""
    missing = [key for key in SECTIONS if key not in settings]
    if missing:
        raise InputError(f"missing config section(s) {missing}", field=missing[0])
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

    n_steps = simulation_steps(settings, model.time_unit_s)
    result = run(
        conn, model,
        target=sim.get("target", "numba"),
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
        device=sim.get("device"),
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
    )
    return save_npz(out, arrays, record)
