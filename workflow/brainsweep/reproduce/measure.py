"""Timing one sweep of a figure: the grid, the run, its rate, its planned and measured memory.

Every figure times the same thing: ``simulate.run`` over a grid of conduction speeds times
global couplings, after a warm-up run of the same kernel (generation, compilation and module
load stay out of the timings). A row gives the target's own ``run_s`` (uploads, every launch
and the final synchronisation; the output copy excluded, as ``brainsweep bench`` reports),
the wall time of the whole call, the rate in sim-steps per second, the device bytes the
planner counts (what the GPU runners allocate) and, on NVIDIA GPUs, the device memory in use
at its peak during the run as NVML reports it (sampled every 20 ms, the CUDA context
included).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict
from typing import Any

import numpy as np

from brainsweep.errors import InputError, PlanError
from brainsweep.reproduce.settings import ModelCase, ReproduceSettings

__all__ = [
    "choose_steps",
    "fill_size",
    "kernel_plan",
    "resolve_case",
    "run_options",
    "sweep_grid",
    "time_sweep",
    "warm_up",
]

BOLD_PERIOD_S = 0.72  # TR; the monitor the engine runs in the kernel
BOLD_DT_S = 1e-3


def sweep_grid(n_sims: int, speeds: tuple[float, float, int],
               coupling: tuple[float, float], *, speed_major: bool = True
               ) -> dict[str, np.ndarray]:
    """``speeds[2]`` evenly spaced speeds × ``n_sims / speeds[2]`` couplings.

    ``speed_major``: speeds vary slowest (one speed per contiguous block, as a sweep's
    shards split it); otherwise couplings vary slowest, so that contiguous shards each hold
    every speed (equal work per GPU in a weak-scaling run).

    Examples
    --------
    >>> g = sweep_grid(8, (1.0, 2.0, 2), (0.0, 3.0))
    >>> g["speed"].tolist(), g["global_coupling"].tolist()
    ([1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0], [0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0])
    """
    low, high, count = speeds
    if n_sims < 1 or n_sims % count:
        raise PlanError(f"{n_sims} simulations are not a positive multiple of {count} speeds")
    speed_axis = np.linspace(low, high, count)
    coupling_axis = np.linspace(coupling[0], coupling[1], n_sims // count)
    if speed_major:
        speed, strength = np.meshgrid(speed_axis, coupling_axis, indexing="ij")
    else:
        strength, speed = np.meshgrid(coupling_axis, speed_axis, indexing="ij")
    return {"speed": speed.ravel(), "global_coupling": strength.ravel()}


def resolve_case(case: ModelCase):
    """``(model, coupling)`` objects of a case: a shipped name or file, and its coupling."""
    from brainsweep.dsl import load_coupling, load_model

    if case.model.endswith(".xml"):
        from brainsweep.dsl.lems import read_lems

        imported = read_lems(case.model)
        model = imported.model
        coupling = imported.coupling if case.coupling == "file" else \
            load_coupling(case.coupling)
    else:
        if case.coupling == "file":
            raise InputError(f"coupling 'file' needs a RateML .xml model, got {case.model!r}",
                             field="reproduce.models.coupling")
        model = load_model(case.model)
        coupling = load_coupling(case.coupling)
    if case.parameters:
        model = model.with_defaults(**case.parameters)
    return model, coupling


def run_options(settings: ReproduceSettings, case: ModelCase, *, device: str | None = None
                ) -> dict[str, Any]:
    """Keyword arguments of ``simulate.run`` for a case (model and coupling resolved)."""
    model, coupling = resolve_case(case)
    options = dict(target=settings.target, dt=settings.dt, integrator=settings.integrator,
                   coupling=coupling, dtype=settings.dtype, seed=settings.seed,
                   monitors=("bold",), bold_period_s=BOLD_PERIOD_S, bold_dt_s=BOLD_DT_S)
    if case.noise is not None:
        options["noise"] = case.noise
    chosen = device if device is not None else settings.device
    if chosen is not None:
        options["device"] = chosen
    return {"model": model, **options}


def initial_state(case: ModelCase, n_sims: int, n_nodes: int, n_states: int, seed: int
                  ) -> np.ndarray | None:
    """Seeded uniform initial states where the case asks for them, else None (defaults)."""
    if case.initial_uniform is None:
        return None
    generator = np.random.default_rng([seed, n_sims])
    return generator.uniform(*case.initial_uniform, (n_sims, n_states, n_nodes))


def kernel_plan(conn, options: dict[str, Any], grid: dict[str, np.ndarray], n_steps: int):
    """The :class:`~brainsweep.network.plan.ShardPlan` the GPU runners lay this run out by."""
    from brainsweep.codegen import history_channels, kernel_spec
    from brainsweep.network.plan import plan_shard

    spec = kernel_spec(options["model"], coupling=options["coupling"],
                       integrator=options["integrator"], stochastic=False,
                       dtype=options["dtype"])
    bold_period = round(BOLD_PERIOD_S / (options["dt"] * spec.model.time_unit_s))
    return plan_shard(conn.weights, conn.lengths, grid["speed"], dt=options["dt"],
                      n_states=len(spec.model.states), n_cvars=len(history_channels(spec)),
                      n_params=len(spec.parameter_names), dtype=options["dtype"],
                      frames=(0, 0, n_steps // bold_period))


def warm_up(conn, options: dict[str, Any], speeds: tuple[float, float, int]) -> float:
    """Generate, compile and load the kernel once (one simulation per speed, 20 steps)."""
    from brainsweep import simulate

    started = time.perf_counter()
    grid = sweep_grid(speeds[2], speeds, (0.0, 0.0))
    simulate.run(conn, options["model"], n_steps=20, params=grid,
                 **{k: v for k, v in options.items() if k != "model"})
    return time.perf_counter() - started


def choose_steps(n_sims: int, previous_rate: float | None, *, n_steps: int, budget_s: float,
                 min_steps: int) -> int:
    """Steps for the next size: ``n_steps``, or fewer (whole multiples of ``min_steps``) when
    the previous size's rate says ``n_steps`` would take longer than ``budget_s``.

    Examples
    --------
    >>> choose_steps(1000, None, n_steps=40000, budget_s=10, min_steps=1000)
    40000
    >>> choose_steps(1_000_000, 2e8, n_steps=40000, budget_s=10, min_steps=1000)
    2000
    """
    if previous_rate is None or n_sims * n_steps / previous_rate <= budget_s:
        return int(n_steps)
    fitting = int(budget_s * previous_rate / n_sims) // min_steps * min_steps
    return int(min(n_steps, max(min_steps, fitting)))


def fill_size(conn, options: dict[str, Any], speeds: tuple[float, float, int],
              coupling: tuple[float, float], n_steps: int, free_bytes: int,
              *, margin_bytes: int = 512 * 2**20) -> tuple[int, str]:
    """The largest grid (a multiple of the speeds) whose plan fits ``free_bytes - margin``,
    and the planner's refusal message for a grid 5 % larger (or, if that still fits the
    free bytes, the first larger one that does not).
    """
    count = speeds[2]
    one = kernel_plan(conn, options, sweep_grid(count, speeds, coupling), n_steps)
    block = one.nbytes()
    per_block = block["history"] + block["other"]  # bytes of one coupling x every speed
    blocks = max(1, (int(free_bytes) - margin_bytes - block["tables"]) // per_block)
    size = int(blocks * count)
    plan = kernel_plan(conn, options, sweep_grid(size, speeds, coupling), n_steps)
    if plan.total_bytes > free_bytes - margin_bytes:  # pragma: no cover - linear in blocks
        raise PlanError(f"the fill size {size} does not fit: {plan.total_bytes} B")
    # 5 % more, and at least the first size past the free memory itself: always refused
    past_free = (int(free_bytes) - block["tables"]) // per_block + 1
    over = max(int(math.ceil(blocks * 1.05)), past_free) * count
    try:
        kernel_plan(conn, options, sweep_grid(over, speeds, coupling), n_steps).check_fits(
            int(free_bytes), "the device")
        refusal = ""
    except PlanError as error:
        refusal = str(error)
    return size, refusal


def _bus(pci_bus_id) -> str:
    """``bus:device.function`` of a PCI id, lower case (CUDA and NVML pad the domain apart)."""
    text = pci_bus_id.decode() if isinstance(pci_bus_id, bytes) else str(pci_bus_id)
    return text.lower().split(":", 1)[-1]


class PeakMemory:
    """Peak device memory in use (NVML) while the ``with`` block runs; None without NVML."""

    def __init__(self, device: str | None, target: str, period_s: float = 0.02):
        self.peak: int | None = None
        self._handle = None
        self._stop = threading.Event()
        self._period = period_s
        if target != "cuda":
            return
        try:
            import pycuda.driver as driver
            import pynvml

            from brainsweep.backends.cuda_target import device_ordinal

            driver.init()
            bus = _bus(driver.Device(device_ordinal(device)).pci_bus_id())
            pynvml.nvmlInit()
            self._nvml = pynvml
            for index in range(pynvml.nvmlDeviceGetCount()):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                if _bus(pynvml.nvmlDeviceGetPciInfo(handle).busId) == bus:
                    self._handle = handle
        except Exception:  # no NVML here: the planned bytes stand alone  # noqa: BLE001
            self._handle = None

    def _poll(self) -> None:
        while not self._stop.is_set():
            used = int(self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used)
            self.peak = used if self.peak is None else max(self.peak, used)
            self._stop.wait(self._period)

    def __enter__(self):
        if self._handle is not None:
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._stop.set()
            self._thread.join()


def time_sweep(conn, case: ModelCase, settings: ReproduceSettings, options: dict[str, Any],
               n_sims: int, n_steps: int, *, speed_major: bool = True) -> dict[str, Any]:
    """Run one grid of ``n_sims`` simulations for ``n_steps`` steps and time it."""
    from brainsweep import simulate

    grid = sweep_grid(n_sims, settings.speeds, case.global_coupling, speed_major=speed_major)
    plan = kernel_plan(conn, options, grid, n_steps)
    n_states = plan.n_states
    initial = initial_state(case, n_sims, conn.weights.shape[0], n_states, settings.seed)
    started = time.perf_counter()
    with PeakMemory(options.get("device"), settings.target) as memory:
        out = simulate.run(conn, options["model"], n_steps=n_steps, params=grid,
                           initial_state=initial,
                           **{k: v for k, v in options.items() if k != "model"})
    wall = time.perf_counter() - started
    run_s = float(out.timings["run_s"])
    return {
        "model": case.label, "target": settings.target, "n_sims": n_sims,
        "n_steps": n_steps, "run_s": run_s, "wall_s": wall,
        "sim_steps_per_s": n_sims * n_steps / run_s,
        "planned_bytes": plan.total_bytes, "bytes_per_sim": plan.bytes_per_sim,
        "peak_used_bytes": memory.peak, "diverged": int(np.count_nonzero(out.diverged)),
        "status": "ok",
    }


def case_record(case: ModelCase) -> dict[str, Any]:
    """A case as plain data for the machine record."""
    return asdict(case)
