"""The study layer: a validated config → typed, frozen settings, defaults from the schema.

:func:`load_study` reads a whole study once (:class:`Study`); the shard stage's sections are
:class:`SimulateSettings`, the kernel's :class:`KernelSettings`. Every default comes from
``config/schema.yaml`` (:mod:`.schema`). Above the engine (``simulate``), below the stages.

The names are imported on first use, so that a stage reading only the schema's defaults
(:mod:`brainsweep.study.schema`) does not import the engine.
"""

from __future__ import annotations

import importlib

__all__ = ["SECTIONS", "BoldMonitorSettings", "CouplingSettings", "GridSettings",
           "IntegratorSettings", "KernelSettings", "ModelSettings", "PlanSettings",
           "SimulateSettings", "SimulationSettings", "Study", "fill_defaults",
           "kernel_sections", "load_study", "plain", "schema_path", "section_defaults",
           "shard_count", "simulation_steps", "study_coupling", "study_kernel_spec",
           "study_model", "study_plan", "validate_config"]

_HOME = {
    **{name: "settings" for name in (
        "SECTIONS", "BoldMonitorSettings", "CouplingSettings", "GridSettings",
        "IntegratorSettings", "KernelSettings", "ModelSettings", "PlanSettings",
        "SimulateSettings", "SimulationSettings", "Study", "kernel_sections", "load_study",
        "plain")},
    **{name: "schema" for name in ("fill_defaults", "schema_path", "section_defaults",
                                   "validate_config")},
    **{name: "helpers" for name in ("shard_count", "simulation_steps", "study_coupling",
                                    "study_kernel_spec", "study_model", "study_plan")},
}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
