"""Targets (providers): a name, a template folder, a renderer and a runner.

Adding a target is one module with a :class:`Target` subclass plus its templates, registered
with :func:`register` (or through the ``brainsweep.targets`` entry-point group for third-party
packages). Nothing outside a target's own module asks which target it is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from brainsweep.codegen.render import ExpressionRenderer
from brainsweep.errors import InputError
from brainsweep.registry import get_target, list_targets, refresh_targets, register

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
    # (S, R, N) float64: the values per node of the spec's regional parameters
    # (KernelSpec.regional, row r for its r-th name); None for a homogeneous kernel. The
    # parameter table's column of a regional parameter holds its mean over the nodes.
    regional: np.ndarray | None = None

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
