"""Run simulations of one model on one connectome with any target: the Python API."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from brainsweep.backends import ShardInputs, get_target
from brainsweep.backends.base import SPEED
from brainsweep.codegen import KernelSpec, generate, kernel_spec, spec_hash
from brainsweep.codegen.zero_terms import active_coupling_terms
from brainsweep.errors import InputError
from brainsweep.monitors.balloon import BalloonParameters, balloon_preset

__all__ = ["SimulationResult", "check_kernel_source", "embedded_spec_hash", "parameter_table",
           "regional_table", "run", "split_regional", "steps_per"]


@dataclass(frozen=True)
class SimulationResult:
    """Outputs indexed [simulation, time, (var,) node]; non-finite simulations flagged."""

    raw: np.ndarray
    tavg: np.ndarray
    bold: np.ndarray
    diverged: np.ndarray
    parameter_names: tuple[str, ...]
    parameters: np.ndarray  # (S, P): every kernel column, swept or default
    sim_index: np.ndarray
    dt: float
    raw_period: int
    tavg_period: int
    bold_period_s: float
    target: str
    timings: dict[str, float] = field(default_factory=dict)
    # (S, R, N): the values per region of the parameters named regional_names, if any
    regional: np.ndarray | None = None
    regional_names: tuple[str, ...] = ()
    # what a reader needs to label the arrays: the names the caller swept, in the caller's
    # spelling, each with its kernel column (global_coupling -> coupling.a)
    swept: dict[str, str] = field(default_factory=dict)
    state_names: tuple[str, ...] = ()
    region_labels: tuple[str, ...] | None = None
    time_unit_s: float = 1e-3  # the model's time unit: dt is in it
    model_name: str = ""

    def param(self, name: str) -> np.ndarray:
        """One parameter's value per simulation, by the name given to :func:`run` or by its
        kernel column."""
        column = self.swept.get(name, name)
        if column not in self.parameter_names:
            raise InputError(f"unknown parameter {name!r}; known: "
                             f"{[*self.swept, *self.parameter_names]}", field=name)
        return self.parameters[:, self.parameter_names.index(column)]

    def to_xarray(self, monitor: str | None = None, *, transient_s: float = 0.0):
        """One monitor as a labelled :class:`xarray.DataArray` (see
        :func:`brainsweep.simulate.labelled.to_xarray`)."""
        from brainsweep.simulate.labelled import to_xarray

        return to_xarray(self, monitor, transient_s=transient_s)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{name} {tuple(getattr(self, name).shape)}"
                           for name in ("raw", "tavg", "bold") if getattr(self, name).size)
        swept = ", ".join(f"{name} {_span(self.param(name))}" for name in self.swept)
        return (f"SimulationResult({self.model_name or 'model'} on {self.target}: "
                f"{len(self.sim_index)} simulations, {int(np.sum(self.diverged))} diverged; "
                f"{shapes or 'no monitors'}; {swept or 'nothing swept'})")


def _span(values: np.ndarray) -> str:
    unique = np.unique(values)
    if unique.size <= 3:
        return "[" + ", ".join(f"{v:.3g}" for v in unique) + "]"
    return f"{unique[0]:.3g}..{unique[-1]:.3g} ({unique.size} values)"


def steps_per(period: float, dt: float, *, what: str) -> int:
    """How many steps of ``dt`` make ``period``; it must be a whole number of them."""
    steps = period / dt
    whole = round(steps)
    if whole < 1 or abs(steps - whole) > 1e-6 * max(1.0, steps):
        raise InputError(f"{what} ({period}) must be a positive whole multiple of dt ({dt})",
                         field=what)
    return int(whole)


def parameter_table(spec: KernelSpec, params: Mapping[str, float | Sequence[float]]
                    ) -> np.ndarray:
    """The kernel's (S, P) parameter table: swept values where given, defaults elsewhere.

    Names are model parameters, ``coupling.<name>``, ``global_coupling`` (the coupling's
    global parameter) and ``speed`` (m/s). Every swept list must have the same length.
    """
    columns = spec.parameter_names
    defaults = {**spec.model.defaults,
                **{f"coupling.{k}": v for k, v in spec.coupling.defaults.items()},
                SPEED: 3.0}
    resolved: dict[str, np.ndarray] = {}
    for name, values in params.items():
        column = _column(spec, name)
        if column not in columns:
            raise InputError(
                f"unknown parameter {name!r}; known: {[*columns, 'global_coupling']}",
                field=f"params.{name}")
        array = np.atleast_1d(np.asarray(values, dtype=np.float64))
        if array.ndim != 1 or not np.all(np.isfinite(array)):
            raise InputError(f"values must be finite numbers, got {values!r}",
                             field=f"params.{name}")
        resolved[column] = array
    sizes = {len(v) for v in resolved.values() if len(v) != 1}
    if len(sizes) > 1:
        raise InputError(f"swept parameters have different lengths: "
                         f"{ {k: len(v) for k, v in resolved.items()} }", field="params")
    n_sims = sizes.pop() if sizes else 1
    table = np.empty((n_sims, len(columns)))
    for p, column in enumerate(columns):
        table[:, p] = resolved.get(column, defaults[column])
    if np.any(table[:, columns.index(SPEED)] <= 0):
        raise InputError("conduction speed must be positive (m/s)", field="params.speed")
    return table


def split_regional(params: Mapping[str, object]) -> tuple[dict, dict[str, np.ndarray]]:
    """Separate the parameters given per region (2-D values) from the scalar sweeps.

    A 1-D list is one value per simulation, as always; a 2-D array is one value per region:
    ``(1, N)`` for every simulation of the run, ``(S, N)`` one row per simulation.
    """
    scalar, regional = {}, {}
    for name, values in params.items():
        array = np.asarray(values, dtype=np.float64) if not isinstance(values, str) else None
        if array is not None and array.ndim == 2:
            regional[name] = array
        else:
            scalar[name] = values
    return scalar, regional


def regional_table(spec: KernelSpec, regional: Mapping[str, np.ndarray], *, n_sims: int,
                   n_nodes: int) -> np.ndarray | None:
    """The (S, R, N) table of the spec's regional parameters (row r: ``spec.regional[r]``).

    Each value is ``(1, N)`` (the same regions for every simulation) or ``(S, N)``.
    """
    if not spec.regional:
        return None
    table = np.empty((n_sims, len(spec.regional), n_nodes))
    for row, name in enumerate(spec.regional):
        values = regional[name]
        if values.shape[1] != n_nodes or values.shape[0] not in (1, n_sims):
            raise InputError(f"a per-region value must be (1, N) or (S, N) = (1 or {n_sims}, "
                             f"{n_nodes}), got {values.shape}", field=f"params.{name}")
        if not np.all(np.isfinite(values)):
            raise InputError("per-region values must be finite numbers",
                             field=f"params.{name}")
        table[:, row] = values
    return table


def run(
    conn,
    model,
    *,
    target: str = "numba",
    dt: float = 0.1,
    n_steps: int,
    params: Mapping[str, float | Sequence[float]] | None = None,
    integrator: str = "heun",
    coupling=None,
    stochastic: bool | None = None,
    noise: Mapping[str, float] | None = None,
    seed: int = 0,
    sim_index: Sequence[int] | None = None,
    monitors: Sequence[str] = ("tavg", "bold"),
    raw_period: int = 1,
    tavg_period: int = 10,
    bold_period_s: float = 0.72,
    bold_dt_s: float = 1e-3,
    bold_preset: str | BalloonParameters = "friston2003",
    initial_state: np.ndarray | None = None,
    dtype: str = "float64",
    history_dtype: str | None = None,
    device: str | None = None,
    progress: bool | str = False,
    plan=None,
    kernel_source: str | None = None,
    factorise: bool = True,
    drop_zero_terms: bool = True,
) -> SimulationResult:
    """Simulate the network for every parameter row with the chosen target.

    Parameters
    ----------
    conn
        Anything with ``weights`` and ``lengths`` (N, N) arrays (lengths in mm), e.g. a
        :class:`brainsweep.connectome.Connectome`.
    model
        A model name, path or :class:`~brainsweep.dsl.Model`.
    dt
        Integration step in the model's time unit (ms for the shipped models).
    params
        Parameter name → value or list of values (one per simulation). A model parameter
        may be given per region as a 2-D array: ``(1, N)``, the same for every simulation,
        or ``(S, N)``, one row per simulation (``vector[None, :]`` for one ``(N,)``
        vector). The kernel then reads it per node; parameters given as scalars stay
        scalars in the kernel.
    coupling
        A shipped coupling name or a :class:`~brainsweep.dsl.Coupling`. None: the coupling
        the model's own file declares (a RateML LEMS file's), else ``"linear"``.
    noise
        State variable → additive noise intensity D; default: the model file's values.
        ``stochastic=None`` means stochastic when any D > 0.
    sim_index
        Global simulation indices (key the noise); default ``0..S-1``.
    monitors
        Any of ``"raw"``, ``"tavg"``, ``"bold"``.
    initial_state
        ``(V, N)`` or ``(S, V, N)``; held as constant history before t = 0.
    history_dtype
        Storage type of the delay history: None (the kernel's ``dtype``) or ``"float16"``
        (CUDA and OpenCL targets; rounded to nearest on store, arithmetic in ``dtype``).
    plan
        The shard's :class:`~brainsweep.network.plan.ShardPlan` if the caller made it (the
        shard stage does, to check memory before running): the GPU targets lay the shard
        out by it rather than planning it a second time.
    kernel_source
        Ready kernel source text (a kernel the workflow's kernel rule wrote) to run instead
        of generating it; refused unless the spec hash written in it is the spec these
        arguments give (:func:`check_kernel_source`), so a stale kernel never runs.
    factorise
        Sum a separable coupling's parts (the history holds their source functions, e.g.
        ``sin`` and ``cos`` of Kuramoto's phase) instead of ``pre`` per connection; False
        gives the unfactorised kernel (same results to rounding; for comparisons).
    drop_zero_terms
        When the kernel is generated here (no ``kernel_source``), leave out every coupling
        term whose coefficient is 0 in every simulation of the run (MontbrioPazoRoxin's V
        term at ``cv = 0``; :mod:`brainsweep.codegen.zero_terms`): the same results without
        its network sum. The choice is part of the kernel's spec and so of its cache key.
    progress
        Write progress lines (share done, time elapsed and left) to stderr while the kernel
        runs, at most every 10 s (``brainsweep.progress``; a bar on a terminal); a string
        is the lines' label instead of the target's name. The shard stage turns it on.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> conn = SimpleNamespace(weights=np.ones((2, 2)) - np.eye(2), lengths=np.full((2, 2), 10.))
    >>> out = run(conn, "montbrio", n_steps=100, monitors=("raw",), stochastic=False)
    >>> out.raw.shape
    (1, 100, 2, 2)
    """
    started = time.perf_counter()
    # refused before anything is built: dt = 0 would give finite output "not diverged", a
    # negative dt a run marked diverged, n_steps = 0 empty results
    if isinstance(dt, bool) or not isinstance(dt, int | float | np.floating) \
            or not np.isfinite(dt) or dt <= 0:
        raise InputError(f"the integration step must be a finite number > 0, got {dt!r}",
                         field="dt")
    if isinstance(n_steps, bool) or int(n_steps) != n_steps or n_steps < 1:
        raise InputError(f"n_steps must be a whole number >= 1, got {n_steps!r}",
                         field="n_steps")
    weights = _matrix(conn, "weights")
    lengths = _matrix(conn, "lengths")
    if weights.shape != lengths.shape:
        raise InputError(f"weights {weights.shape} and lengths {lengths.shape} differ in shape",
                         field="lengths")
    if np.any(lengths < 0):
        raise InputError("tract lengths must be non-negative", field="lengths")
    n_nodes = weights.shape[0]

    scalar_params, regional_params = split_regional(params or {})
    base = kernel_spec(model, coupling=coupling, integrator=integrator, stochastic=False,
                       dtype=dtype, history_dtype=history_dtype, regional=regional_params,
                       factorise=factorise)
    model_obj = base.model.with_noise(**noise) if noise else base.model
    noise_d = np.array([s.noise for s in model_obj.states], dtype=np.float64)
    if np.any(noise_d < 0):
        raise InputError("noise intensities must be non-negative", field="noise")
    if stochastic is None:
        stochastic = bool(np.any(noise_d > 0))
    spec = kernel_spec(model_obj, coupling=base.coupling, integrator=integrator,
                       stochastic=stochastic, dtype=dtype, history_dtype=history_dtype,
                       regional=base.regional, factorise=factorise)
    # a regional parameter's column holds its mean over the regions (what a table of
    # results shows); the kernel reads its per-node values from the regional table
    table = parameter_table(spec, {**scalar_params, **{
        name: values.mean(axis=1) for name, values in regional_params.items()}})
    n_sims = table.shape[0]
    if drop_zero_terms and kernel_source is None:
        active = active_coupling_terms(spec.model, spec.parameter_names, table, spec.regional)
        if active is not None:  # the same columns: only the terms' inputs read 0
            spec = kernel_spec(spec.model.with_coupling_terms(active), coupling=spec.coupling,
                               integrator=integrator, stochastic=stochastic, dtype=dtype,
                               history_dtype=history_dtype, regional=spec.regional,
                               factorise=factorise)
    regional = regional_table(spec, regional_params, n_sims=n_sims, n_nodes=n_nodes)
    indices = np.arange(n_sims, dtype=np.int64) if sim_index is None else np.asarray(
        sim_index, dtype=np.int64)
    if indices.shape != (n_sims,):
        raise InputError(f"sim_index needs {n_sims} entries, got {indices.shape}",
                         field="sim_index")

    n_states = len(spec.model.states)
    if initial_state is None:
        initial = np.broadcast_to(
            np.array([s.initial for s in spec.model.states])[:, None], (n_states, n_nodes))
    else:
        initial = np.asarray(initial_state, dtype=np.float64)
    if initial.ndim == 2:
        initial = np.broadcast_to(initial, (n_sims, *initial.shape))
    if initial.shape != (n_sims, n_states, n_nodes):
        raise InputError(f"initial_state must be (V, N) = {(n_states, n_nodes)} or (S, V, N), "
                         f"got {initial.shape}", field="initial_state")

    unknown = set(monitors) - {"raw", "tavg", "bold"}
    if unknown:
        raise InputError(f"unknown monitors {sorted(unknown)}; known: raw, tavg, bold",
                         field="monitors")
    balloon = balloon_preset(bold_preset) if isinstance(bold_preset, str) else bold_preset
    if bold_dt_s > 0.01:
        # Euler on the balloon is first order (tests/monitors/test_balloon.py measures it against
        # solve_ivp); haemodynamic time constants are ~1 s, so 10 ms is a generous ceiling
        raise InputError(f"the balloon step ({bold_dt_s} s) must be at most 0.01 s",
                         field="monitors.bold.dt_s")
    dt_s = dt * spec.model.time_unit_s
    if "bold" in monitors:
        bold_period = steps_per(bold_period_s, dt_s, what="monitors.bold.tr")
        bold_substeps = steps_per(bold_dt_s, dt_s, what="monitors.bold.dt_s")
    else:
        bold_period, bold_substeps = 0, 1
    if bold_period and bold_period % bold_substeps:
        raise InputError(f"the BOLD period ({bold_period_s} s) must be a whole multiple of the "
                         f"balloon step ({bold_dt_s} s)", field="monitors.bold.dt_s")

    inputs = ShardInputs(
        params=table, sim_index=indices, weights=weights, lengths=lengths,
        initial=np.ascontiguousarray(initial), noise=noise_d, dt=float(dt),
        n_steps=int(n_steps), seed=int(seed),
        raw_period=int(raw_period) if "raw" in monitors else 0,
        tavg_period=int(tavg_period) if "tavg" in monitors else 0,
        bold_period=bold_period, bold_substeps=bold_substeps,
        balloon=balloon.as_array(), dt_bold_s=bold_substeps * dt_s,
        parameter_names=spec.parameter_names, plan=plan, regional=regional,
    )
    impl = get_target(target)
    if kernel_source is None:
        source = generate(spec, target=target)
    else:
        check_kernel_source(kernel_source, spec, impl.name)
        source = kernel_source
    generated = time.perf_counter()
    outputs = impl.run(source, spec, inputs, device=device, progress=progress)
    timings = {"generate_s": generated - started, **outputs.timings,
               "total_s": time.perf_counter() - started}
    return SimulationResult(
        raw=outputs.raw, tavg=outputs.tavg, bold=outputs.bold, diverged=outputs.diverged,
        parameter_names=spec.parameter_names, parameters=table, sim_index=indices, dt=float(dt),
        raw_period=inputs.raw_period, tavg_period=inputs.tavg_period,
        bold_period_s=float(bold_period_s), target=impl.name, timings=timings,
        regional=regional, regional_names=spec.regional,
        swept={name: _column(spec, name) for name in (params or {})},
        state_names=tuple(state.name for state in spec.model.states),
        region_labels=_labels(conn, n_nodes), time_unit_s=float(spec.model.time_unit_s),
        model_name=spec.model.name,
    )


def _column(spec: KernelSpec, name: str) -> str:
    """The kernel column a parameter given to :func:`run` fills."""
    return f"coupling.{spec.coupling.global_parameter}" if name == "global_coupling" else name


def _labels(conn, n_nodes: int) -> tuple[str, ...] | None:
    labels = getattr(conn, "labels", None)
    if labels is None or len(labels) != n_nodes:
        return None
    return tuple(str(label) for label in labels)


_SPEC_HASH = re.compile(r"Spec hash ([0-9a-f]{16})")


def embedded_spec_hash(source: str) -> str | None:
    """The spec hash a generated kernel names in its header (``Spec hash <hash>.``)."""
    found = _SPEC_HASH.search(source[:4000])
    return None if found is None else found.group(1)


def check_kernel_source(source: str, spec: KernelSpec, target: str) -> None:
    """Refuse kernel source that was not generated from ``spec`` for ``target`` (InputError,
    field ``kernel``): its embedded spec hash must be :func:`~brainsweep.codegen.spec_hash`
    of them (model, coupling, integrator, types, templates and package version)."""
    expected = spec_hash(spec, target)
    found = embedded_spec_hash(source)
    if found != expected:
        what = "names no spec hash" if found is None else f"was generated for spec {found}"
        raise InputError(f"the kernel {what}, but these settings give spec {expected} "
                         f"({spec.model.name}, {spec.integrator}, {spec.dtype}, target "
                         f"{target}): it is stale or another study's; regenerate it "
                         f"(brainsweep kernels, or let snakemake rerun generate_kernel)",
                         field="kernel")


def _matrix(conn, name: str) -> np.ndarray:
    value = getattr(conn, name, None)
    if value is None and isinstance(conn, Mapping):
        value = conn.get(name)
    if value is None:
        raise InputError(f"the connectome has no {name}", field=name)
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise InputError(f"{name} must be a square (N, N) matrix, got {array.shape}", field=name)
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name} holds NaN or inf", field=name)
    return array
