"""The parts models and couplings are made of, and where the shipped descriptions live.

Kept apart from :mod:`brainsweep.dsl.model` and :mod:`brainsweep.dsl.coupling` so that both,
and the RateML importer (:mod:`brainsweep.dsl.lems`), build on them without importing each
other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from brainsweep.dsl import ir

__all__ = ["COUPLING_INPUTS", "CouplingTerm", "Parameter", "StateVariable", "coupling_input",
           "kernels_dir"]

# The names a coupling's ``pre`` reads: x_j (source, delayed) and x_i (target, current) are the
# first variable of a coupling term; x_j<m> and x_i<m> its variable m (TVB's x_j[:, m]).
MAX_COUPLING_INPUTS = 8
COUPLING_INPUTS = ("x_j", "x_i", *(f"x_{side}{m}" for side in "ji"
                                   for m in range(MAX_COUPLING_INPUTS)))


def coupling_input(symbol: str) -> tuple[str, int] | None:
    """``("j", m)`` or ``("i", m)`` for a name of :data:`COUPLING_INPUTS`, else None."""
    if symbol not in COUPLING_INPUTS:
        return None
    return symbol[2], int(symbol[3:] or 0)


def kernels_dir() -> Path:
    """The folder holding ``models/``, ``couplings.yaml`` and ``templates/`` (package data)."""
    return Path(__file__).resolve().parent.parent / "kernels"


@dataclass(frozen=True)
class Parameter:
    name: str
    default: float
    unit: str = ""
    range: tuple[float, float] | None = None
    description: str = ""


@dataclass(frozen=True)
class StateVariable:
    name: str
    initial: float
    derivative: ir.Expr
    lower: float | None = None
    upper: float | None = None
    noise: float = 0.0  # the additive noise intensity D of this variable (TVB's nsig)
    line: int | None = None


@dataclass(frozen=True)
class CouplingTerm:
    """A coupling input of the model: the network sum over its delayed ``variables``.

    Most terms read one state variable. A term may list several (TVB's ``cvar`` of a model
    whose coupling reads more than one, such as JansenRit's ``[y1, y2]`` for
    SigmoidalJansenRit): the coupling's ``pre`` reads them as ``x_j0, x_j1, ...`` (source,
    delayed) and ``x_i0, x_i1, ...`` (target, current); ``x_j``/``x_i`` are the first. A
    coupling that reads fewer variables than a term lists reads the first ones, as TVB's
    coupling rows do, and the kernel stores only those (:meth:`Model.for_coupling`).
    """

    name: str
    variables: tuple[str, ...]

    @property
    def variable(self) -> str:
        """The first variable: the only one a single-variable coupling reads."""
        return self.variables[0]
