"""Parameter recovery: plant a ground truth, fit it back, measure the error in grid steps.

The stage and how the workflow runs it are described in :mod:`brainsweep.recovery.stage`.
"""

from __future__ import annotations

from brainsweep.recovery.stage import (
    RECOVERY_DEFAULTS,
    Settings,
    evaluate,
    plot_landscape,
    plot_profile,
    run,
    run_stage,
    truth_path,
    truth_settings,
    validate_settings,
)

__all__ = [
    "RECOVERY_DEFAULTS",
    "Settings",
    "evaluate",
    "plot_landscape",
    "plot_profile",
    "run",
    "run_stage",
    "truth_path",
    "truth_settings",
    "validate_settings",
]
