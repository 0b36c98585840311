"""The ``study_*`` helpers of the shard stage, over a mapping of config sections.

They take what a stage receives (``--settings``: the config sections as JSON) and answer
through the typed settings of :mod:`brainsweep.study.settings`, so the kernel rule, the
kernel stage and the shard stage build one and the same kernel spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from brainsweep.study.settings import KernelSettings, SimulateSettings

__all__ = ["shard_count", "simulation_steps", "study_coupling", "study_kernel_spec",
           "study_model", "study_plan"]


def shard_count(settings: Mapping[str, Any]) -> int:
    """How many shards the study's grid splits into."""
    return SimulateSettings.from_sections(settings).shard_count()


def simulation_steps(settings: Mapping[str, Any], time_unit_s: float) -> int:
    """Integration steps for transient + duration."""
    return SimulateSettings.from_sections(settings).n_steps(time_unit_s)


def study_model(settings: Mapping[str, Any]):
    """The study's model with its ``parameters``, ``noise``, ``initial`` and
    ``coupling_terms`` settings applied."""
    return KernelSettings.from_sections(settings).model.load()


def study_coupling(settings: Mapping[str, Any]):
    """The study's coupling function with its ``parameters`` applied."""
    return KernelSettings.from_sections(settings).coupling.load()


def study_kernel_spec(settings: Mapping[str, Any], *, target: str | None = None):
    """The :class:`~brainsweep.codegen.KernelSpec` a study's shards run; with ``target``,
    also checked that the target can store its delay history. Errors name the config key."""
    return KernelSettings.from_sections(settings).spec(target=target)


def study_plan(settings: Mapping[str, Any], weights: np.ndarray, lengths: np.ndarray,
               rows: np.ndarray):
    """The :class:`~brainsweep.network.plan.ShardPlan` of the grid rows ``rows`` of a study
    (bad parameter names or speeds: InputError naming the ``sweep`` key)."""
    return SimulateSettings.from_sections(settings).shard_plan(weights, lengths, rows)
