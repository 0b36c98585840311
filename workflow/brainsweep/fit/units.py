"""What each column of the fit's tables is measured in.

One place for every reader of a table: the sidecars of ``scores.csv`` and
``realisations.csv`` (``columns: {name: unit}``), the netCDF exports and the report's HTML
table. The CSV files themselves stay one header row, machine-readable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from brainsweep.study.units import BUILTIN_UNITS

__all__ = ["BOLD_UNIT", "BUILTIN_UNITS", "METRIC_UNITS", "column_unit", "column_units",
           "unit_of"]

# what the metrics are measured in: correlations are Pearson r (no unit), the KS distance is
# a fraction of the distribution
METRIC_UNITS: dict[str, str] = {
    "fc_corr": "Pearson r",
    "fc_rmse": "Pearson r",
    "mean_fc_diff": "Pearson r",
    "fcd_ks": "KS distance, 0-1",
    "combined": "r - KS",
}

# the Balloon-Windkessel output, as brainsweep.simulate.labelled names it
BOLD_UNIT = "BOLD signal change (fraction of baseline)"

# columns that count, index or flag: no unit
_UNITLESS = ("sim_index", "point", "realisation", "realisations", "seed", "n_diverged",
             "diverged", "n_degenerate", "degenerate", "degenerate_reason")


def unit_of(name: str, units: Mapping[str, str] | None = None) -> str:
    """The unit of a swept parameter: ``units`` first, then :data:`BUILTIN_UNITS`, else ''."""
    if units and name in units:
        return units[name]
    return BUILTIN_UNITS.get(name, "")


def column_unit(name: str, units: Mapping[str, str] | None = None) -> str:
    """The unit of one column of ``scores.csv`` or ``realisations.csv`` ('' for indices,
    counts and flags); ``units`` gives the swept parameters' units."""
    if name.startswith("std_"):  # the spread of a column over realisations: the same unit
        return column_unit(name.removeprefix("std_"), units)
    if name in METRIC_UNITS:
        return METRIC_UNITS[name]
    if name.startswith("fc_corr_") or name == "mean_fc":
        return "Pearson r"
    if name == "bold_std":
        return BOLD_UNIT
    if name == "global_step":  # a move of the global signal in within-segment deviations
        return "standard deviations"
    if name in _UNITLESS or name.startswith("is_"):
        return ""
    return unit_of(name, units)


def column_units(columns: Iterable[str], units: Mapping[str, str] | None = None
                 ) -> dict[str, str]:
    """``{column: unit}`` of a table, in its column order."""
    return {str(name): column_unit(str(name), units) for name in columns}
