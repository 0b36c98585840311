"""The measurements behind each reproduced figure; each yields CSV rows as it goes.

* ``rateml-fig1`` — RateML (van der Vlag et al. 2022) Fig. 1: for each model, grids of
  conduction speed × global coupling of growing size, up to the largest that fits the GPU's
  free memory (from the planner's bytes per simulation); run time, sim-steps per second and
  memory. A size whose ``n_steps`` would take longer than ``row_budget_s`` at the previous
  size's rate runs fewer steps (``n_steps`` of its row says how many); the planner's refusal
  of a grid 5 % larger than the fill is kept as a ``refused`` row.
* ``rateml-fig2`` — RateML Fig. 2: the CPU (Numba) target, one model, one speed, each
  ``runs`` entry's sizes at its step count.
* ``tvbhpc-fig2`` — the tvb-hpc poster's Fig. 2: (a) run time against the number of
  simulations on one GPU, (b) the launch's occupancy (:mod:`.occupancy`), (c) weak scaling
  over ``gpus`` GPUs with ``sims_per_gpu`` simulations each (:mod:`.multigpu`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

from brainsweep.errors import BrainsweepError
from brainsweep.reproduce.measure import (
    choose_steps,
    fill_size,
    resolve_case,
    run_options,
    sweep_grid,
    time_sweep,
    warm_up,
)
from brainsweep.reproduce.settings import ReproduceSettings

__all__ = ["MEASUREMENTS", "rateml_fig1", "rateml_fig2", "tvbhpc_fig2"]

Row = dict[str, Any]


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _error_row(panel: str, label: str, n_sims: int, n_steps: int, error: Exception) -> Row:
    return {"panel": panel, "model": label, "n_sims": n_sims, "n_steps": n_steps,
            "status": "error", "note": f"{type(error).__name__}: {error}"[:400]}


def _gpu_errors() -> tuple[type[BaseException], ...]:
    """Errors a run on a device can end with that should not stop the other rows."""
    errors: list[type[BaseException]] = [BrainsweepError, MemoryError]
    try:
        import pycuda.driver as driver

        errors.append(driver.Error)
    except ImportError:
        pass
    return tuple(errors)


def rateml_fig1(settings: ReproduceSettings, conn, panels: tuple[str, ...]) -> Iterator[Row]:
    """Rows of RateML Fig. 1 (panel ``a``): one per model and grid size."""
    errors = _gpu_errors()
    for case in settings.models:
        options = run_options(settings, case)
        warm = warm_up(conn, options, settings.speeds)
        sizes = list(settings.sizes)
        free = total = fill = None
        refusal = ""
        if settings.fill_memory and settings.target == "cuda":
            from brainsweep.reproduce.machine import cuda_memory

            free, total = cuda_memory(options.get("device"))
            fill, refusal = fill_size(conn, options, settings.speeds, case.global_coupling,
                                      settings.n_steps, free)
            if fill > sizes[-1]:
                sizes.append(fill)
        elif settings.fill_memory:
            yield {"panel": "a", "model": case.label, "status": "skipped",
                   "note": f"filling the device needs the cuda target, not {settings.target}"}
        rate = None
        for n_sims in sizes:
            n_steps = choose_steps(n_sims, rate, n_steps=settings.n_steps,
                                   budget_s=settings.row_budget_s, min_steps=settings.min_steps)
            try:
                row = time_sweep(conn, case, settings, options, n_sims, n_steps)
            except errors as error:
                yield _error_row("a", case.label, n_sims, n_steps, error)
                break
            rate = row["sim_steps_per_s"]
            row.update(panel="a", warm_up_s=warm, device_free_bytes=free,
                       device_total_bytes=total, fills_device=n_sims == fill)
            _say(f"{case.label:>28} P={n_sims:>8} steps={n_steps:>6} run {row['run_s']:8.2f} s "
                 f"{rate / 1e6:9.2f} M sim-steps/s planned {row['planned_bytes'] / 2**30:7.2f} "
                 f"GiB diverged {row['diverged']}")
            yield row
        if refusal:
            yield {"panel": "a", "model": case.label, "status": "refused",
                   "device_free_bytes": free, "device_total_bytes": total,
                   "note": refusal[:600]}


def rateml_fig2(settings: ReproduceSettings, conn, panels: tuple[str, ...]) -> Iterator[Row]:
    """Rows of RateML Fig. 2 (panel ``a``): one per model, step count and size."""
    for case in settings.models:
        options = run_options(settings, case)
        warm = warm_up(conn, options, settings.speeds)
        for n_steps, sizes in settings.runs or ((settings.n_steps, settings.sizes),):
            for n_sims in sizes:
                row = time_sweep(conn, case, settings, options, n_sims, n_steps)
                row.update(panel="a", warm_up_s=warm)
                _say(f"{case.label} P={n_sims} steps={n_steps} run {row['run_s']:.2f} s "
                     f"{row['sim_steps_per_s']:.4g} sim-steps/s")
                yield row


def tvbhpc_fig2(settings: ReproduceSettings, conn, panels: tuple[str, ...]) -> Iterator[Row]:
    """Rows of the tvb-hpc poster's Fig. 2: panels ``a`` (time), ``b`` (occupancy) and ``c``
    (weak scaling), for the first model of the settings."""
    case = settings.models[0]
    options = run_options(settings, case)
    if "a" in panels:
        warm = warm_up(conn, options, settings.speeds)
        for n_sims in settings.sizes:
            row = time_sweep(conn, case, settings, options, n_sims, settings.n_steps)
            row.update(panel="a", warm_up_s=warm)
            _say(f"(a) P={n_sims:>7} run {row['run_s']:7.3f} s "
                 f"{row['sim_steps_per_s'] / 1e6:8.2f} M sim-steps/s")
            yield row
    if "b" in panels:
        if settings.target != "cuda":
            yield {"panel": "b", "model": case.label, "status": "skipped",
                   "note": f"occupancy is computed for the cuda target, not {settings.target}"}
        else:
            yield from _occupancy_rows(settings, case, options)
    if "c" in panels:
        yield from _scaling_rows(settings, case)


def _occupancy_rows(settings, case, options) -> Iterator[Row]:
    from brainsweep.codegen import generate, kernel_spec
    from brainsweep.reproduce.occupancy import kernel_launch, launch_occupancy

    model, coupling = resolve_case(case)
    if case.noise:
        model = model.with_noise(**case.noise)
    stochastic = any(s.noise > 0 for s in model.states)
    spec = kernel_spec(model, coupling=coupling, integrator=settings.integrator,
                       stochastic=stochastic, dtype=settings.dtype)
    source = generate(spec, target="cuda")
    for n_sims in settings.sizes:
        launch = kernel_launch(source, n_sims, device=options.get("device"))
        occupancy = launch_occupancy(
            n_sims, parts=launch["parts"], registers=launch["registers"],
            multiprocessors=launch["multiprocessors"],
            registers_per_multiprocessor=launch["registers_per_multiprocessor"],
            max_threads_per_multiprocessor=launch["max_threads_per_multiprocessor"],
            max_blocks_per_multiprocessor=launch["max_blocks_per_multiprocessor"])
        row = {"panel": "b", "model": case.label, "target": "cuda", "status": "ok",
               **occupancy.as_row(), "multiprocessors": launch["multiprocessors"],
               "local_bytes": launch["local_bytes"]}
        _say(f"(b) P={n_sims:>7} parts {occupancy.parts:>2} regs {occupancy.registers} "
             f"blocks/SM {occupancy.blocks_per_multiprocessor} ({occupancy.limited_by}) "
             f"occupancy {occupancy.occupancy:.3f} of theoretical {occupancy.theoretical:.3f}")
        yield row


def _scaling_rows(settings, case) -> Iterator[Row]:
    from brainsweep.reproduce.multigpu import run_sharded

    job = {"connectome": settings.connectome, "case": asdict(case), "target": settings.target,
           "device": settings.device if settings.target != "cuda" else None,
           "n_steps": settings.scaling_steps,
           "settings": {"dt": settings.dt, "integrator": settings.integrator,
                        "dtype": settings.dtype, "seed": settings.seed,
                        "speeds": list(settings.speeds)}}
    baseline = None
    for n_gpus in settings.gpus:
        n_sims = n_gpus * settings.sims_per_gpu
        grid = sweep_grid(n_sims, settings.speeds, case.global_coupling, speed_major=False)
        try:
            result = run_sharded(job, grid, n_gpus, target=settings.target)
        except BrainsweepError as error:
            yield _error_row("c", case.label, n_sims, settings.scaling_steps, error)
            continue
        rate = n_sims * settings.scaling_steps / result["wall_s"]
        if n_gpus == 1:
            baseline = rate
        kernel = max(s["timings"]["run_s"] for s in result["shards"])
        row = {"panel": "c", "model": case.label, "target": settings.target,
               "n_gpus": n_gpus, "n_sims": n_sims, "sims_per_gpu": settings.sims_per_gpu,
               "n_steps": settings.scaling_steps, "wall_s": result["wall_s"],
               "run_s": kernel, "sim_steps_per_s": rate,
               "speedup": rate / baseline if baseline else None,
               "efficiency": rate / baseline / n_gpus if baseline else None,
               "diverged": sum(s["diverged"] for s in result["shards"]),
               "gpus_used": ";".join(s["gpu"] for s in result["shards"]), "status": "ok"}
        _say(f"(c) {n_gpus} GPU(s) x {settings.sims_per_gpu}: wall {result['wall_s']:.2f} s, "
             f"{rate / 1e6:.1f} M sim-steps/s, speedup {row['speedup']}")
        yield row


MEASUREMENTS: dict[str, Callable[..., Iterator[Row]]] = {
    "rateml-fig1": rateml_fig1,
    "rateml-fig2": rateml_fig2,
    "tvbhpc-fig2": tvbhpc_fig2,
}
