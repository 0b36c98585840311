"""The units of a study's swept parameters.

The figures' axes, the fit's table sidecars and the netCDF exports all name a parameter's
unit; they take it from here: a unit the study gives (``figures.units``) first, then the model
file's, then the units of the sweep names the workflow defines itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["BUILTIN_UNITS", "swept_units"]

# the sweep names the workflow itself defines (README, "Other studies")
BUILTIN_UNITS: dict[str, str] = {
    "speed": "m/s",
    "global_coupling": "dimensionless",
}


def swept_units(names: Iterable[str], model=None,
                given: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{name: unit}`` of the swept parameters ``names`` that have one.

    ``model``: the loaded model (:class:`brainsweep.dsl.Model`), whose parameters carry the
    unit written in the model file; ``given``: units the study sets, which win.
    """
    names = list(names)
    found = {name: BUILTIN_UNITS[name] for name in names if name in BUILTIN_UNITS}
    if model is not None:
        found.update({p.name: p.unit for p in model.parameters if p.name in names and p.unit})
    found.update({name: unit for name, unit in (given or {}).items()})
    return found
