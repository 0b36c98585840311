"""Figures of a study: score landscapes over swept parameters, FC and FCD at the best fit.

:func:`run_stage` is what ``brainsweep figures`` runs; the plotting functions can be called
on their own (from a notebook, say) with a ``scores.csv`` path or a DataFrame.
"""

from __future__ import annotations

from brainsweep.figures.plots import (
    best_grid,
    fc_comparison,
    fcd_distributions,
    read_scores,
    save_figure,
    score_heatmap,
    score_profile,
)
from brainsweep.figures.stage import (
    FIGURE_DEFAULTS,
    figure_files,
    run_stage,
    swept_parameters,
    validate_settings,
)

__all__ = [
    "FIGURE_DEFAULTS",
    "best_grid",
    "fc_comparison",
    "fcd_distributions",
    "figure_files",
    "read_scores",
    "run_stage",
    "save_figure",
    "score_heatmap",
    "score_profile",
    "swept_parameters",
    "validate_settings",
]
