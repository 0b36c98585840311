"""The parts models and couplings are made of, and where the shipped descriptions live.

Kept apart from :mod:`brainsweep.dsl.model` and :mod:`brainsweep.dsl.coupling` so that both,
and the RateML importer (:mod:`brainsweep.dsl.lems`), build on them without importing each
other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from brainsweep.dsl import ir

__all__ = ["CouplingTerm", "Parameter", "StateVariable", "kernels_dir"]


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
    """A coupling input of the model: the network sum over the delayed ``variable``."""

    name: str
    variable: str
