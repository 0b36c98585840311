"""What the figures call things: metric names in words, parameters with their units.

One place, so the static figures and the interactive landscape label an axis the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

# the units of parameters are the fit tables' too (brainsweep.fit.units): one definition
from brainsweep.fit.units import BUILTIN_UNITS, unit_of

__all__ = ["BUILTIN_UNITS", "METRIC_LABELS", "axis_label", "metric_label", "unit_of"]

# the fit metrics in words (brainsweep.fit.metrics); per-subject columns fc_corr_<id> are
# described by metric_label
METRIC_LABELS: dict[str, str] = {
    "fc_corr": "FC correlation (Pearson r, simulated vs empirical)",
    "fc_rmse": "FC RMSE (simulated vs empirical)",
    "mean_fc_diff": "|mean FC difference| (simulated vs empirical)",
    "fcd_ks": "FCD Kolmogorov-Smirnov distance",
    "combined": "combined score (FC r - FCD KS - w |mean FC diff|)",
}


def metric_label(metric: str) -> str:
    """A metric in words: ``fc_corr`` -> ``FC correlation (...)``; ``fc_corr_<id>`` -> one
    subject's FC correlation."""
    if metric in METRIC_LABELS:
        return METRIC_LABELS[metric]
    if metric.startswith("fc_corr_"):
        return f"FC correlation with subject {metric.removeprefix('fc_corr_')}"
    return metric


def axis_label(name: str, units: Mapping[str, str] | None = None) -> str:
    """``speed (m/s)``; a parameter without a known unit is named alone."""
    unit = unit_of(name, units)
    return f"{name} ({unit})" if unit else name
