"""A validated study config → typed, frozen settings objects, read once.

:func:`load_study` turns the whole config into a :class:`Study`; the shard stage reads its
seven sections as :class:`SimulateSettings` (:meth:`SimulateSettings.from_sections`) and the
kernel stage its four as :class:`KernelSettings`. Every default comes from
``config/schema.yaml`` (:mod:`brainsweep.study.schema`), nowhere else.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
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

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> ModelSettings:
        terms = section.get("coupling_terms")
        return cls(name=str(section["name"]), parameters=_frozen(section.get("parameters", {})),
                   noise=_frozen(section.get("noise", {})),
                   initial=_frozen(section.get("initial", {})),
                   coupling_terms=None if terms is None else tuple(terms))

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
                   dt=float(section["dt"]), dtype=str(section["dtype"]))


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
        return cls(preset=str(section["preset"]), tr=float(section["tr"]),
                   dt_s=float(section["dt_s"]))


@dataclass(frozen=True)
class GridSettings:
    """``sweep:``: the axes as written, and ``simulation.realisations``; :meth:`build` gives
    the grid of simulations (each parameter point repeated once per realisation)."""

    axes: Mapping[str, Any]
    realisations: int = 1

    def build(self):
        from brainsweep.simulate.grid import build_grid, repeat_points

        return repeat_points(build_grid(plain(self.axes)), self.realisations)


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
                               dtype=self.integrator.dtype, history_dtype=self.history_dtype)
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
        simulation = SimulationSettings.from_section(filled["simulation"])
        return cls(kernel=KernelSettings.from_sections(filled),
                   simulation=simulation,
                   bold_monitor=BoldMonitorSettings.from_section(filled["monitors"]["bold"]),
                   grid=GridSettings(axes=_frozen(filled["sweep"]),
                                     realisations=simulation.realisations),
                   plan=PlanSettings.from_section(filled["shards"]),
                   sections=_frozen(filled))

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

        return n_shards(self.grid.build().size, count=self.plan.count, size=self.plan.size)

    def n_steps(self, time_unit_s: float) -> int:
        """Integration steps for transient + duration."""
        total_s = self.simulation.transient_s + self.simulation.duration_s
        steps = round(total_s / (self.integrator.dt * time_unit_s))
        if steps < 1:
            raise InputError("the simulation is shorter than one step",
                             field="simulation.duration_s")
        return int(steps)

    def shard_plan(self, weights: np.ndarray, lengths: np.ndarray, rows: np.ndarray):
        """The :class:`~brainsweep.network.plan.ShardPlan` of the grid rows ``rows``.

        Bad parameter names or speeds raise InputError naming the ``sweep`` key.
        """
        from brainsweep.backends.base import SPEED
        from brainsweep.network.plan import plan_shard
        from brainsweep.simulate.run import parameter_table, steps_per

        spec = self.kernel.spec()
        grid = self.grid.build()
        try:
            table = parameter_table(spec, grid.as_params(np.asarray(rows)))
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
                          n_cvars=len(model.coupled_states), n_params=table.shape[1],
                          sim_index=np.asarray(rows), dtype=spec.dtype,
                          history_dtype=spec.history_storage,
                          frames=(0, 0, n_steps // bold_period))


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
        type, and the history's storage type (nothing else, so nothing else regenerates it)."""
        return kernel_sections(plain(self.config))

    def empirical_settings(self) -> dict[str, Any]:
        """The empirical section with the bold post-processing under ``postprocess``: the
        same filters; no transient for recorded BOLD, the bold transient for a simulated
        truth shard."""
        post = self.section("bold")
        if self.empirical.get("format") != "simulated":
            post["transient_s"] = 0.0
        return {**self.section("empirical"), "postprocess": post}


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
                 recovery=section("recovery"), reproduce=section("reproduce"))
