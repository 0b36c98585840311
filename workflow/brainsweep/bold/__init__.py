"""BOLD post-processing and functional connectivity.

One module per concern: :mod:`~brainsweep.bold.filters` (transient, detrend, band-pass, GSR,
z-score), :mod:`~brainsweep.bold.connectivity` (FC, FCD), :mod:`~brainsweep.bold.dynamics` (the raw
BOLD's spread and global-signal steps, which flag degenerate dynamics),
:mod:`~brainsweep.bold.settings`
(the ``bold:`` config), :mod:`~brainsweep.bold.shards` (shard files) and
:mod:`~brainsweep.bold.stage` (what ``brainsweep bold`` runs). The hemodynamic model itself
lives in :mod:`brainsweep.monitors.balloon` (the kernels compute it).

Examples
--------
>>> import numpy as np
>>> from brainsweep import bold
>>> ts = np.random.default_rng(1).standard_normal((2, 600, 5))   # [sim, time, node]
>>> clean = bold.postprocess(ts, tr=0.72, transient_s=10.0)
>>> bold.fc(clean).shape
(2, 5, 5)
"""

from __future__ import annotations

from brainsweep.bold.connectivity import fc, fcd, fcd_values, fcd_windows, upper_triangle
from brainsweep.bold.dynamics import bold_spread, global_step
from brainsweep.bold.filters import BUTTERWORTH_ORDER, butterworth_sos, postprocess
from brainsweep.bold.settings import POSTPROCESS_DEFAULTS, validate_postprocess
from brainsweep.bold.shards import read_bold_shard, read_sim_shard
from brainsweep.bold.stage import run_stage

__all__ = [
    "BUTTERWORTH_ORDER",
    "POSTPROCESS_DEFAULTS",
    "bold_spread",
    "butterworth_sos",
    "fc",
    "fcd",
    "fcd_values",
    "fcd_windows",
    "global_step",
    "postprocess",
    "read_bold_shard",
    "read_sim_shard",
    "run_stage",
    "upper_triangle",
    "validate_postprocess",
]
