"""A validated study config → typed, frozen settings objects, read once.

:func:`load_study` turns the whole config into a :class:`Study`; the shard stage reads its
seven sections as :class:`SimulateSettings` (:meth:`SimulateSettings.from_sections`) and the
kernel stage its four as :class:`KernelSettings`. Every default comes from
``config/schema.yaml`` (:mod:`brainsweep.study.schema`), nowhere else.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from brainsweep.errors import InputError
from brainsweep.study.schema import fill_defaults, schema

__all__ = ["SECTIONS", "BoldMonitorSettings", "CouplingSettings", "GridSettings",
           "IntegratorSettings", "KernelSettings", "ModelSettings", "PlanSettings",
           "SimulateSettings", "SimulationSettings", "Study", "load_study", "plain"]

# The config sections the shard stage reads (the rule passes exactly these).
SECTIONS = ("model", "coupling", "integration", "simulation", "monitors", "sweep", "shards")
# ... and the keys of them a kernel is made of (the kernel rule passes these)
KERNEL_KEYS = {"model": None, "coupling": None,
               "integration": ("method", "stochastic", "dtype"),
               "simulation": ("history_dtype",)}


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    return value


def plain(value: Any) -> Any:
    """A settings value as plain JSON data (mappings → dicts, tuples → lists)."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def _positive(value: Any, field: str) -> float:
    """A finite number > 0 (a step, a period), else an InputError naming the key."""
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not np.isfinite(value) or value <= 0:
        raise InputError(f"must be a finite number > 0, got {value!r}", field=field)
    return float(value)


def _filled(sections: Mapping[str, Any], names) -> dict[str, Any]:
    """The named sections of ``sections`` with the schema's defaults filled in."""
    properties = schema()["properties"]
    partial = {name: copy.deepcopy(sections[name]) for name in names if name in sections}
    for name in names:
        if name not in partial and "default" in properties[name]:
            partial[name] = copy.deepcopy(properties[name]["default"])
    return fill_defaults(partial)


@dataclass(frozen=True)
class ModelSettings:
    """``model:``: the model and the study's new defaults, noise, initial values, terms."""

    name: str
    parameters: Mapping[str, float]
    noise: Mapping[str, float]
    initial: Mapping[str, float]
    coupling_terms: tuple[str, ...] | None
    # name -> {form, maps, groups, labels, zscore}: the parameters given per region
    regional: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> ModelSettings:
        terms = section.get("coupling_terms")
        return cls(name=str(section["name"]), parameters=_frozen(section.get("parameters", {})),
                   noise=_frozen(section.get("noise", {})),
                   initial=_frozen(section.get("initial", {})),
                   coupling_terms=None if terms is None else tuple(terms),
                   regional=_frozen(section.get("regional", {})))

    def regional_files(self) -> list[str]:
        """Every file the regional parameters read (maps, groups, labels), for the rules."""
        files = []
        for how in self.regional.values():
            files += list((how.get("maps") or {}).values())
            files += [how[key] for key in ("groups", "labels", "atlas", "atlas_labels")
                      if how.get(key)]
        return sorted(set(files))

    def regional_parameters(self, regions) -> dict[str, Any]:
        """name -> :class:`~brainsweep.maps.RegionalParameter` for the connectome's region
        labels ``regions``: maps read, checked against the labels and z-scored."""
        from brainsweep.maps import Atlas, RegionalParameter, read_groups, read_map, zscore

        model = self.load()
        out = {}
        for name, how in self.regional.items():
            where = f"model.regional.{name}"
            if how["form"] == "fic":
                continue  # solved per simulation from the others (SimulateSettings)
            if name not in model.parameter_names:
                raise InputError(f"{name!r} is not a parameter of {model.name}: "
                                 f"{list(model.parameter_names)}", field=where)
            atlas = None
            if how.get("atlas") or how.get("atlas_labels"):
                if not (how.get("atlas") and how.get("atlas_labels")):
                    missing = "atlas_labels" if how.get("atlas") else "atlas"
                    raise InputError("a volumetric map's atlas needs both its image (atlas) "
                                     "and its label table (atlas_labels)",
                                     field=f"{where}.{missing}")
                atlas = Atlas(how["atlas"], how["atlas_labels"], image_field=f"{where}.atlas",
                              labels_field=f"{where}.atlas_labels")
            maps = {key: read_map(path, regions, labels=how.get("labels"),
                                  field=f"{where}.maps.{key}", atlas=atlas)
                    for key, path in (how.get("maps") or {}).items()}
            if how.get("zscore", True):
                maps = {key: zscore(values) for key, values in maps.items()}
            groups, group_names = None, ()
            if how["form"] == "groups":
                if not how.get("groups"):
                    raise InputError("form groups needs a groups file", field=f"{where}.groups")
                groups, group_names = read_groups(how["groups"], regions,
                                                  labels=how.get("labels"),
                                                  field=f"{where}.groups", atlas=atlas)
            elif not maps:
                raise InputError(f"form {how['form']} needs at least one map",
                                 field=f"{where}.maps")
            out[name] = RegionalParameter(
                name=name, form=how["form"],
                maps=np.stack(list(maps.values())) if maps else np.zeros((0, len(regions))),
                map_names=tuple(maps), groups=groups, group_names=group_names,
                bounds=model.parameter(name).range, regions=tuple(regions))
        return out

    def load(self):
        """The :class:`~brainsweep.dsl.Model` with the study's settings applied."""
        from brainsweep.dsl import load_model

        model = load_model(self.name)
        if self.parameters:
            model = model.with_defaults(**self.parameters)
        if self.noise:
            model = model.with_noise(**self.noise)
        if self.initial:
            model = model.with_initial(**self.initial)
        if self.coupling_terms:
            model = model.with_coupling_terms(list(self.coupling_terms))
        return model

    def source_file(self) -> Path:
        """The file the model is read from (a shipped model's YAML, or the study's file)."""
        from brainsweep.dsl import list_models, load_model

        path = Path(self.name)
        if path.suffix.lower() in (".xml", ".yaml", ".yml"):
            return path
        shipped = list_models()
        key = self.name.lower()
        if key in shipped:
            return shipped[key]
        for file in shipped.values():
            if load_model(file).name.lower() == key:
                return file
        raise InputError(f"unknown model {self.name!r}; shipped: {sorted(shipped)}",
                         field="model.name")


@dataclass(frozen=True)
class CouplingSettings:
    """``coupling:``: a shipped coupling function and its parameters."""

    name: str
    parameters: Mapping[str, float]

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> CouplingSettings:
        return cls(name=str(section["name"]), parameters=_frozen(section.get("parameters", {})))

    def load(self):
        from brainsweep.dsl import load_coupling

        coupling = load_coupling(self.name)
        if self.parameters:
            coupling = coupling.with_defaults(**self.parameters)
        return coupling


@dataclass(frozen=True)
class IntegratorSettings:
    """``integration:``: scheme, noise on or off, step (model time unit), float type."""

    method: str
    stochastic: bool
    dt: float
    dtype: str

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> IntegratorSettings:
        return cls(method=str(section["method"]), stochastic=bool(section["stochastic"]),
                   dt=_positive(section["dt"], "integration.dt"), dtype=str(section["dtype"]))


@dataclass(frozen=True)
class SimulationSettings:
    """``simulation:``: duration, seed, noise realisations per parameter point, target,
    device, history storage, threads."""

    transient_s: float
    duration_s: float
    seed: int
    target: str
    device: str | int | None
    history_dtype: str | None
    threads: int
    realisations: int = 1

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> SimulationSettings:
        return cls(transient_s=float(section["transient_s"]),
                   duration_s=float(section["duration_s"]), seed=int(section["seed"]),
                   target=str(section["target"]), device=section.get("device"),
                   history_dtype=section.get("history_dtype"), threads=int(section["threads"]),
                   realisations=_realisations(section.get("realisations", 1)))


def _realisations(value: Any) -> int:
    """``simulation.realisations``, a whole number >= 1 (the schema says so too; this also
    guards settings that reach a stage without the schema, e.g. ``--settings`` JSON)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"expected a whole number >= 1, got {value!r}",
                         field="simulation.realisations")
    return value


@dataclass(frozen=True)
class BoldMonitorSettings:
    """``monitors.bold:``: Balloon-Windkessel constants, TR and balloon step (seconds)."""

    preset: str
    tr: float
    dt_s: float

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> BoldMonitorSettings:
        tr = _positive(section["tr"], "monitors.bold.tr")
        dt_s = _positive(section["dt_s"], "monitors.bold.dt_s")
        if dt_s > 0.01:  # the engine's ceiling on the balloon's Euler step (simulate.run)
            raise InputError(f"the balloon step ({dt_s} s) must be at most 0.01 s",
                             field="monitors.bold.dt_s")
        steps = tr / dt_s
        if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
            raise InputError(f"the TR ({tr} s) must be a whole multiple of the balloon step "
                             f"({dt_s} s)", field="monitors.bold.dt_s")
        return cls(preset=str(section["preset"]), tr=tr, dt_s=dt_s)


@dataclass(frozen=True)
class GridSettings:
    """``sweep:``: the axes as written, and ``simulation.realisations``; :meth:`build` gives
    the grid of simulations (each parameter point repeated once per realisation)."""

    axes: Mapping[str, Any]
    realisations: int = 1

    def build(self):
        from brainsweep.simulate.grid import build_grid, repeat_points

        return repeat_points(build_grid(plain(self.axes)), self.realisations)

    def size(self) -> int:
        """Simulations in the grid (points times realisations), counted without building it
        (a 10^8 grid is refused with numbers before anything that size is allocated)."""
        from brainsweep.simulate.grid import grid_size

        return grid_size(plain(self.axes)) * self.realisations

    def axes_values(self) -> dict[str, np.ndarray]:
        """Each parameter's values as written, not expanded."""
        from brainsweep.simulate.grid import grid_axes

        return grid_axes(plain(self.axes))


@dataclass(frozen=True)
class PlanSettings:
    """``shards:``: a shard count or a shard size."""

    count: int | None
    size: int | None

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> PlanSettings:
        return cls(count=section.get("count"), size=section.get("size"))


@dataclass(frozen=True)
class KernelSettings:
    """What a kernel is made of: model, coupling, integrator and the history's storage."""

    model: ModelSettings
    coupling: CouplingSettings
    integrator: IntegratorSettings
    history_dtype: str | None

    @classmethod
    def from_sections(cls, sections: Mapping[str, Any]) -> KernelSettings:
        if "model" not in sections:
            raise InputError("missing config section ['model']", field="model")
        filled = _filled(sections, ("model", "coupling", "integration", "simulation"))
        return cls(model=ModelSettings.from_section(filled["model"]),
                   coupling=CouplingSettings.from_section(filled["coupling"]),
                   integrator=IntegratorSettings.from_section(filled["integration"]),
                   history_dtype=filled["simulation"].get("history_dtype"))

    def spec(self, *, target: str | None = None):
        """The :class:`~brainsweep.codegen.KernelSpec` of these settings; with ``target``,
        also checked that the target can store its delay history. Errors name the key."""
        from brainsweep.codegen import kernel_spec
        from brainsweep.codegen.generate import check_history_storage

        try:
            spec = kernel_spec(self.model.load(), coupling=self.coupling.load(),
                               integrator=self.integrator.method,
                               stochastic=self.integrator.stochastic,
                               dtype=self.integrator.dtype, history_dtype=self.history_dtype,
                               regional=tuple(self.model.regional))
            if target is not None:
                check_history_storage(spec, target)
        except InputError as error:  # name the config key, not the Python argument
            if error.field != "history_dtype":
                raise
            raise InputError(str(error).removeprefix(f"[{error.field}]: "),
                             field="simulation.history_dtype") from error
        return spec

    def files(self, target: str) -> dict[str, list[Path]]:
        """The files the kernel of ``target`` is generated from: the model file, the
        couplings file and every template the target's main template renders."""
        from brainsweep.codegen import template_files
        from brainsweep.dsl.parts import kernels_dir

        return {"model": [self.model.source_file()],
                "couplings": [kernels_dir() / "couplings.yaml"],
                "templates": template_files(target)}


def kernel_sections(config: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a (filled) config a kernel depends on, as the kernel stage reads them."""
    out: dict[str, Any] = {}
    for section, keys in KERNEL_KEYS.items():
        value = config.get(section) or {}
        out[section] = copy.deepcopy(dict(value) if keys is None
                                     else {key: value.get(key) for key in keys})
    return out


@dataclass(frozen=True)
class SimulateSettings:
    """The shard stage's settings: the seven :data:`SECTIONS`, typed."""

    kernel: KernelSettings
    simulation: SimulationSettings
    bold_monitor: BoldMonitorSettings
    grid: GridSettings
    plan: PlanSettings
    sections: Mapping[str, Any]  # the sections as given, defaults filled (the provenance)

    @classmethod
    def from_sections(cls, sections: Mapping[str, Any]) -> SimulateSettings:
        missing = [key for key in ("model", "sweep") if key not in sections]
        if missing:
            raise InputError(f"missing config section(s) {missing}", field=missing[0])
        filled = _filled(sections, SECTIONS)
        from brainsweep.simulate.grid import grid_axes

        grid_axes(filled["sweep"])  # every axis checked now, naming its key; none expanded
        simulation = SimulationSettings.from_section(filled["simulation"])
        return cls(kernel=KernelSettings.from_sections(filled),
                   simulation=simulation,
                   bold_monitor=BoldMonitorSettings.from_section(filled["monitors"]["bold"]),
                   grid=GridSettings(axes=_frozen(filled["sweep"]),
                                     realisations=simulation.realisations),
                   plan=PlanSettings.from_section(filled["shards"]),
                   sections=_frozen(filled))

    def with_automatic_terms(self) -> SimulateSettings:
        """These settings with ``model.coupling_terms`` chosen, when the study leaves it out
        (null), from the whole sweep: a term whose coefficient is 0 in every simulation of
        the study is left out (:mod:`brainsweep.codegen.zero_terms`), so that every shard
        (the shard stage) and the kernel rule (:meth:`Study.kernel_settings`) build the same
        kernel without it. Only for the sweep's simulations: a stage that simulates other
        parameters (the optimiser) keeps every term and decides per run (simulate.run)."""
        if self.model.coupling_terms is not None:
            return self
        from brainsweep.codegen.zero_terms import active_coupling_terms
        from brainsweep.simulate.run import parameter_table

        try:
            spec = self.kernel.spec()
            grid = self.grid.build()
            coefficients = self.coefficient_axes()
            params = {name: values for name, values in
                      grid.as_params(np.arange(grid.size)).items() if name not in coefficients}
            table = parameter_table(spec, params)
        except InputError:
            return self  # reported, naming its key, where the sweep is read (shard_plan)
        active = active_coupling_terms(spec.model, spec.parameter_names, table, spec.regional)
        if active is None:
            return self
        model = replace(self.model, coupling_terms=active)
        return replace(self, kernel=replace(self.kernel, model=model))

    @classmethod
    def from_mapping(cls, sections: Mapping[str, Any]) -> SimulateSettings:
        """The stage contract's name for :meth:`from_sections`."""
        return cls.from_sections(sections)

    @property
    def model(self) -> ModelSettings:
        return self.kernel.model

    @property
    def coupling(self) -> CouplingSettings:
        return self.kernel.coupling

    @property
    def integrator(self) -> IntegratorSettings:
        return self.kernel.integrator

    def as_dict(self) -> dict[str, Any]:
        return plain(self.sections)

    def shard_count(self) -> int:
        from brainsweep.simulate.grid import n_shards

        return n_shards(self.grid.size(), count=self.plan.count, size=self.plan.size)

    def n_steps(self, time_unit_s: float) -> int:
        """Integration steps for transient + duration."""
        total_s = self.simulation.transient_s + self.simulation.duration_s
        steps = round(total_s / (self.integrator.dt * time_unit_s))
        if steps < 1:
            raise InputError("the simulation is shorter than one step",
                             field="simulation.duration_s")
        return int(steps)

    def coefficient_axes(self) -> set[str]:
        """Sweep axes that are coefficients of regional parameters (``<name>.<part>``)."""
        return {axis for axis in self.grid.axes
                if axis.split(".", 1)[0] in self.model.regional and "." in axis}

    def kernel_params(self, params: Mapping[str, np.ndarray], regions,
                      weights: np.ndarray | None = None) -> dict[str, Any]:
        """The sweep's rows as ``simulate.run`` params: each regional parameter an (S, N)
        table made from its base value and coefficients, the coefficients removed; a ``fic``
        parameter solved per simulation from the others and the connectome's ``weights``."""
        regional = self.model.regional_parameters(regions)
        coefficients = self.coefficient_axes()
        unknown = sorted(axis for axis in coefficients if axis not in
                         {c for p in regional.values() for c in p.coefficient_names})
        if unknown:
            name = unknown[0].split(".", 1)[0]
            raise InputError(f"{unknown[0]!r} is none of {name}'s coefficients "
                             f"{list(regional[name].coefficient_names)}",
                             field=f"sweep.{unknown[0]}")
        out = {name: values for name, values in params.items() if name not in coefficients}
        n_sims = max((np.size(v) for v in params.values()), default=1)
        defaults = self.model.load().defaults
        for name, how in regional.items():
            base = np.broadcast_to(np.asarray(out.get(name, defaults[name]), dtype=np.float64),
                                   (n_sims,))
            out[name] = how.values(base, {c: params[c] for c in how.coefficient_names
                                          if c in params})
        fic = [name for name, how in self.model.regional.items() if how["form"] == "fic"]
        if fic:
            out.update(self._feedback_inhibition(out, fic, n_sims, weights))
        return out

    def _feedback_inhibition(self, params: Mapping[str, Any], names, n_sims: int,
                             weights: np.ndarray | None) -> dict[str, np.ndarray]:
        """(S, N) J_i per simulation, each from its own row of the other parameters."""
        from brainsweep.fic import fic_inhibition
        from brainsweep.simulate.run import parameter_table, split_regional

        if names != ["J_i"]:
            raise InputError(f"form fic solves J_i (rww_exc_inh) only, not {names}",
                             field=f"model.regional.{names[0]}")
        if weights is None:
            raise InputError("feedback inhibition control needs the connectome's weights",
                             field="model.regional.J_i")
        spec = self.kernel.spec()
        scalar, regional = split_regional({k: v for k, v in params.items() if k != "J_i"})
        table = parameter_table(spec, {**scalar, **{k: v.mean(axis=1)
                                                    for k, v in regional.items()}})
        table = np.broadcast_to(table, (n_sims, table.shape[1]))
        target = float(self.model.regional["J_i"].get("target_rate", 3.0))
        solved = np.empty((n_sims, weights.shape[0]))
        for s in range(n_sims):
            row = dict(zip(spec.parameter_names, table[s], strict=True))
            row.update({k: v[min(s, len(v) - 1)] for k, v in regional.items()})
            solved[s] = fic_inhibition(spec.model, spec.coupling, np.asarray(weights), row,
                                       target_rate=target)
        return {"J_i": solved}

    def shard_plan(self, weights: np.ndarray, lengths: np.ndarray, rows: np.ndarray):
        """The :class:`~brainsweep.network.plan.ShardPlan` of the grid rows ``rows``.

        Bad parameter names or speeds raise InputError naming the ``sweep`` key.
        """
        from brainsweep.backends.base import SPEED
        from brainsweep.codegen import history_channels
        from brainsweep.network.plan import plan_shard
        from brainsweep.simulate.run import parameter_table, steps_per

        spec = self.kernel.spec()
        grid = self.grid.build()
        coefficients = self.coefficient_axes()  # they shape the regional tables, not columns
        params = {name: values for name, values in grid.as_params(np.asarray(rows)).items()
                  if name not in coefficients}
        try:
            table = parameter_table(spec, params)
        except InputError as error:  # name the config key, not the Python argument
            field = (error.field or "").removeprefix("params")
            message = str(error).removeprefix(f"[{error.field}]: ")
            raise InputError(message, field=f"sweep{field}") from error
        model = spec.model
        n_steps = self.n_steps(model.time_unit_s)
        dt = self.integrator.dt
        bold_period = steps_per(self.bold_monitor.tr, dt * model.time_unit_s,
                                what="monitors.bold.tr")
        speeds = table[:, spec.parameter_names.index(SPEED)]
        return plan_shard(weights, lengths, speeds, dt=dt, n_states=len(model.states),
                          n_cvars=len(history_channels(spec)), n_params=table.shape[1],
                          sim_index=np.asarray(rows), dtype=spec.dtype,
                          history_dtype=spec.history_storage,
                          frames=(0, 0, n_steps // bold_period), n_regional=len(spec.regional))


@dataclass(frozen=True)
class Study:
    """A whole study, read once from its validated config (:func:`load_study`)."""

    name: str
    config: Mapping[str, Any]  # the config with the schema's defaults filled in
    simulate: SimulateSettings | None  # None for a reproduce study
    connectome: Mapping[str, Any] | None
    empirical: Mapping[str, Any] | None
    bold: Mapping[str, Any] | None
    fit: Mapping[str, Any] | None
    figures: Mapping[str, Any] | None
    recovery: Mapping[str, Any] | None
    reproduce: Mapping[str, Any] | None
    optimise: Mapping[str, Any] | None = None

    @property
    def kernel(self) -> KernelSettings:
        return self.simulate.kernel

    @property
    def target(self) -> str:
        return self.simulate.simulation.target

    def section(self, name: str) -> dict[str, Any]:
        """One section as plain JSON data (empty when the study has none)."""
        return plain(self.config.get(name) or {})

    def kernel_settings(self) -> dict[str, Any]:
        """What the kernel stage reads: model, coupling, the integrator's method, noise and
        type, and the history's storage type (nothing else, so nothing else regenerates it);
        ``model.coupling_terms`` as the sweep chose them (SimulateSettings.with_automatic_terms)."""
        sections = kernel_sections(plain(self.config))
        terms = None if self.simulate is None else \
            self.simulate.with_automatic_terms().model.coupling_terms
        if terms is not None:  # the terms the shards run, chosen from the sweep if not named
            sections["model"]["coupling_terms"] = list(terms)
        return sections

    def empirical_settings(self) -> dict[str, Any]:
        """The empirical section with the bold post-processing under ``postprocess``: the
        same filters; no transient for recorded BOLD, the bold transient for a simulated
        truth shard."""
        post = self.section("bold")
        if self.empirical.get("format") != "simulated":
            post["transient_s"] = 0.0
        return {**self.section("empirical"), "postprocess": post}

    def parameter_units(self) -> dict[str, str]:
        """``{name: unit}`` of the swept parameters (:func:`brainsweep.study.units.swept_units`):
        ``figures.units`` first, then the model file's units, then those of ``speed`` and
        ``global_coupling``. The figures, the fit's sidecars and the netCDF files use it."""
        from brainsweep.study.units import swept_units

        if self.simulate is None:
            return {}
        names = list(self.simulate.grid.axes_values())  # the axes, not the expanded grid
        given = (self.figures or {}).get("units") or {}
        return swept_units(names, self.kernel.model.load(), plain(given))

    def optimise_settings(self) -> dict[str, Any]:
        """What the optimise stage reads: ``optimise:``, ``bold:`` and the shard stage's
        sections (the model, its integration and monitors, the target and noise seed)."""
        simulate = self.simulate.as_dict()
        return {**{key: simulate[key] for key in SECTIONS},
                "optimise": self.section("optimise"), "bold": self.section("bold")}


def load_study(config: Mapping[str, Any], *, validate: bool = False,
               source: str | None = None) -> Study:
    """A study config (as Snakemake validated it, or raw with ``validate=True``) → :class:`Study`.

    The schema's defaults are filled in first (those Snakemake filled stay as they are).
    """
    if validate:
        from brainsweep.study.schema import validate_config

        validate_config(config, source=source)
    filled = fill_defaults(config)
    reproduce = "reproduce" in filled
    simulate = None if reproduce else SimulateSettings.from_sections(filled)

    def section(name):
        return _frozen(filled[name]) if name in filled else None

    return Study(name=str(filled["study"]), config=_frozen(filled), simulate=simulate,
                 connectome=section("connectome"), empirical=section("empirical"),
                 bold=section("bold"), fit=section("fit"), figures=section("figures"),
                 recovery=section("recovery"), reproduce=section("reproduce"),
                 optimise=section("optimise"))
