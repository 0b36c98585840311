"""The empirical stage, shaped like :mod:`brainsweep.connectome`: :mod:`.readers` (files →
time series), :mod:`.checks` (settings, group FC) and :mod:`.stage` (what ``brainsweep
empirical`` runs).

The stage: measured BOLD region time series → per-subject and group FC (and FCD).

Measured BOLD goes through exactly the post-processing the simulated BOLD gets
(:func:`brainsweep.bold.postprocess` with the ``bold:`` settings, passed here under
``postprocess``), so that the fit compares like with like.

Inputs read by :func:`load_timeseries`:

* an HCP-style folder (``<source>/subjects/<id>/functional/TC_*.mat``,
  ``<source>/<id>/functional/TC_*.mat`` or one subject's ``<source>/functional/TC_*.mat``,
  MATLAB key ``tc``), one series per subject and run;
* a folder of per-subject ``.mat``/``.npy``/``.csv``/``.tsv`` files (subject id = file stem);
* one ``.mat``/``.npy``/``.csv``/``.tsv`` file (one subject);
* a 4D NIfTI plus a 3D parcellation NIfTI of integer labels (0 = background): the region
  series are the means over each label's voxels, regions in ascending label order;
* a simulate-stage shard (``format: simulated``, any ``.npz``): each simulation's BOLD is one
  "subject" (id ``sim-<sim_index>``), TR from the shard. This is how a parameter-recovery study
  (:mod:`brainsweep.recovery`) treats a planted ground truth as empirical data. The shard's
  BOLD still holds the simulated transient, so the ``postprocess.transient_s`` given is applied
  here (the workflow passes the ``bold:`` transient for this format, 0 for recorded data);
  regions default to all of them (``regions.preset: null``).

Layout of matrix files: ``layout='time-node'`` or ``'node-time'`` is taken as given; with
``'auto'`` the longer axis is time (a scan has more samples than a parcellation has regions;
HCP's ``tc`` is 94 × 1200, node × time) and a square matrix is refused as ambiguous.
"""

from __future__ import annotations

from brainsweep.empirical.checks import (
    EMPIRICAL_DEFAULTS,
    FORMATS,
    GROUP_RULES,
    LAYOUTS,
    group_fc,
    validate_settings,
)
from brainsweep.empirical.readers import Timeseries, load_timeseries, simulated_truth
from brainsweep.empirical.stage import Settings, run, run_stage

__all__ = [
    "EMPIRICAL_DEFAULTS",
    "FORMATS",
    "GROUP_RULES",
    "LAYOUTS",
    "Settings",
    "Timeseries",
    "group_fc",
    "load_timeseries",
    "run",
    "run_stage",
    "simulated_truth",
    "validate_settings",
]
