"""Fitting simulated connectivity to empirical data.

:func:`score` compares FC (and FCD) of many simulations with an empirical FC;
:func:`run_stage` (what ``brainsweep fit`` runs) scores a whole study and writes
``scores.csv`` and ``best.json``. Metric directions are in :data:`METRICS`.
"""

from __future__ import annotations

from brainsweep.fit.metrics import DEFAULT_WEIGHTS, METRICS, fc_correlation, ks_statistic, score
from brainsweep.fit.settings import FIT_DEFAULTS, validate_settings
from brainsweep.fit.stage import best_rows, read_empirical, run_stage, subject_uncertainty

__all__ = [
    "DEFAULT_WEIGHTS",
    "FIT_DEFAULTS",
    "METRICS",
    "best_rows",
    "fc_correlation",
    "ks_statistic",
    "read_empirical",
    "run_stage",
    "score",
    "subject_uncertainty",
    "validate_settings",
]
