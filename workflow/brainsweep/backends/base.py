"""Targets (providers): a name, a template folder, a renderer and a runner.

Adding a target is one module with a :class:`Target` subclass plus its templates, registered
with :func:`register` (or through the ``brainsweep.targets`` entry-point group for third-party
packages). Nothing outside a target's own module asks which target it is.
"""

from __future__ import annotations

import importlib.metadata
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from brainsweep.codegen.render import ExpressionRenderer
from brainsweep.errors import InputError

__all__ = ["SPEED", "ShardInputs", "ShardOutputs", "Target", "get_target", "list_targets",
           "refresh_targets", "register"]


SPEED = "speed"  # the parameter table's conduction-speed column (m/s)


@dataclass(frozen=True)
class ShardInputs:
    """The arrays and settings one shard run needs, target-neutral.

    ``params`` has one row per simulation and the columns ``parameter_names`` (those of
    :attr:`brainsweep.codegen.spec.KernelSpec.parameter_names`); read a column by its name
    (:meth:`column`, :attr:`speeds`), never by its position. ``plan`` is the shard's
    :class:`~brainsweep.network.plan.ShardPlan` when the caller planned it already (the shard
    stage does, to check memory first): targets that lay a shard out by a plan use it
    instead of planning again.
    """

    params: np.ndarray  # (S, P) float64
    sim_index: np.ndarray  # (S,) int64, the global simulation index (keys the noise)
    weights: np.ndarray  # (N, N) float64, weights[i, j]: from j to i
    lengths: np.ndarray  # (N, N) float64, mm
    initial: np.ndarray  # (S, V, N) float64
    noise: np.ndarray  # (V,) float64, additive noise intensity D per state variable
    dt: float  # model time unit (ms for most models)
    n_steps: int
    seed: int
    raw_period: int  # 0: off
    tavg_period: int  # 0: off
    bold_period: int  # 0: off; neural steps per BOLD sample
    bold_substeps: int  # neural steps per balloon Euler step (drive averaged over them)
    balloon: np.ndarray  # (9,) BalloonParameters.as_array()
    dt_bold_s: float  # seconds per balloon step
    parameter_names: tuple[str, ...]  # the columns of params, by name
    plan: Any = None  # ShardPlan | None (network.plan, imported by the targets that use it)

    def column(self, name: str) -> np.ndarray:
        """The (S,) values of the parameter column ``name``."""
        if name not in self.parameter_names:
            raise InputError(f"the parameter table has no column {name!r}; it has "
                             f"{list(self.parameter_names)}", field="params")
        return self.params[:, self.parameter_names.index(name)]

    @property
    def speeds(self) -> np.ndarray:
        """(S,) conduction speeds in m/s."""
        return self.column(SPEED)


@dataclass(frozen=True)
class ShardOutputs:
    raw: np.ndarray  # (S, T_raw, V, N)
    tavg: np.ndarray  # (S, T_tavg, V, N)
    bold: np.ndarray  # (S, T_bold, N)
    diverged: np.ndarray  # (S,) bool
    timings: dict[str, float]


class Target(ABC):
    """A code-generation target and its runner."""

    name: ClassVar[str]
    template_folder: ClassVar[str]
    renderer: ClassVar[type[ExpressionRenderer]]
    file_suffix: ClassVar[str]  # ".py", ".cu", ".cl"
    # What the workflow's rules need to know of a target, read from here by rules/*.smk
    # (no rule names a target): the conda env of its shards (envs/<conda_env>.yaml) and
    # whether a shard holds a GPU (the `gpu` resource of `--resources gpu=N` and SLURM).
    conda_env: ClassVar[str] = "cpu"
    uses_gpu: ClassVar[bool] = False
    main_template: ClassVar[str]
    coupling_sum: ClassVar[str] = "{gx}"  # how post() reads a weighted sum (see lower())
    # storage types of the delay history besides the kernel's dtype that the target's
    # templates and runner support (KernelSpec.history_dtype); generate() refuses the others
    history_dtypes: ClassVar[tuple[str, ...]] = ()

    def context_extras(self, spec) -> dict[str, Any]:
        """Target-specific template variables (thread index spelling, qualifiers, ...)."""
        return {}

    @abstractmethod
    def run(self, source: str, spec, inputs: ShardInputs, *, device: str | None = None,
            progress: bool = False) -> ShardOutputs:
        """Compile ``source`` (cached) and run one shard."""

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """Whether this target can run here, and why not."""
        return True, ""

    @classmethod
    def devices(cls) -> list[str]:
        """Devices this target can see, in words."""
        return []


_REGISTRY: dict[str, type[Target]] = {}
_BUILTIN = {
    "numba": "brainsweep.backends.numba_target:NumbaTarget",
    "cuda": "brainsweep.backends.cuda_target:CudaTarget",
    "opencl": "brainsweep.backends.opencl_target:OpenCLTarget",
}


def register(target: type[Target]) -> type[Target]:
    """Register a target class under its ``name`` (usable as a decorator)."""
    _REGISTRY[target.name] = target
    return target


def _load(reference: str) -> type[Target]:
    module, _, attr = reference.partition(":")
    return getattr(importlib.import_module(module), attr)


_SCANNED = False  # whether the built-ins and entry points have been looked at


def _discover() -> None:
    # Once per process: scanning the installed distributions' entry points costs ~9 ms, and
    # every simulate.run() asks for its target several times (refresh_targets() rescans).
    global _SCANNED
    if _SCANNED:
        return
    for name, ref in _BUILTIN.items():
        if name not in _REGISTRY:
            try:
                _REGISTRY[name] = _load(ref)
            except ImportError:  # a built-in whose optional dependency is missing
                continue
    for entry in importlib.metadata.entry_points(group="brainsweep.targets"):
        if entry.name not in _REGISTRY:
            try:
                _REGISTRY[entry.name] = entry.load()
            except ImportError:
                continue
    _SCANNED = True


def refresh_targets() -> None:
    """Look for targets again (after installing a plug-in into a running process)."""
    global _SCANNED
    _SCANNED = False
    _discover()


def list_targets() -> list[str]:
    _discover()
    return sorted(_REGISTRY)


def get_target(name: str) -> Target:
    """An instance of the target registered as ``name``."""
    _discover()
    if name not in _REGISTRY:
        raise InputError(f"unknown target {name!r}; known: {sorted(_REGISTRY)}", field="target")
    return _REGISTRY[name]()
