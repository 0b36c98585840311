"""The empirical stage's settings: what ``empirical:`` may hold, checked with the schema's
defaults; and how subject FCs make the group FC."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from brainsweep import bold
from brainsweep.errors import InputError, refuse_unknown_keys
from brainsweep.study.schema import property_defaults

__all__ = ["EMPIRICAL_DEFAULTS", "FORMATS", "GROUP_RULES", "LAYOUTS", "group_fc",
           "validate_settings"]

FORMATS = ("auto", "hcp", "mat", "npy", "csv", "tsv", "nifti", "simulated", "fc")
LAYOUTS = ("auto", "time-node", "node-time")
#: ``mean``: element-wise mean of the subjects' correlations. ``fisher-z``: mean of
#: ``arctanh(r)``, mapped back with ``tanh`` (less biased towards zero for strong correlations).
GROUP_RULES = ("mean", "fisher-z")

# every key of empirical:, with the schema's defaults (config/schema.yaml), and the bold
# post-processing the workflow merges in under postprocess (none: the bold stage's defaults)
EMPIRICAL_DEFAULTS: dict[str, Any] = {**property_defaults("empirical"), "postprocess": None}


def validate_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Check the ``empirical:`` settings and fill in defaults.

    Keys: ``source`` (required), ``name``, ``format`` (:data:`FORMATS`), ``subjects``
    (``all`` or a list of ids), ``regions`` (``{preset, drop}``, see
    :func:`brainsweep.regions.select_regions`), ``tr`` (seconds, or null to take it from a
    NIfTI header), ``layout`` (:data:`LAYOUTS`), ``group`` (:data:`GROUP_RULES`),
    ``parcellation`` (NIfTI sources) and ``postprocess`` (the ``bold:`` settings).

    Raises
    ------
    InputError
        An unknown key or a bad value, naming ``empirical.<key>``.
    """
    if not isinstance(settings, Mapping):
        raise InputError(f"expected a mapping, got {type(settings).__name__}", field="empirical")
    refuse_unknown_keys(settings, EMPIRICAL_DEFAULTS, field="empirical")
    out = {**EMPIRICAL_DEFAULTS, **settings}
    simulated = out["format"] == "simulated" or (
        out["format"] == "auto" and str(out["source"]).lower().endswith(".npz")
    )
    if (simulated or out["format"] == "fc") and "regions" not in settings:
        # a simulation has the model's regions, an FC matrix its own: no AAL2 preset
        out["regions"] = {"preset": None, "drop": []}
    if not isinstance(out["source"], str | os.PathLike) or not os.fspath(out["source"]):
        raise InputError("expected the path of the BOLD data", field="empirical.source")
    for key, choices in (("format", FORMATS), ("layout", LAYOUTS), ("group", GROUP_RULES),
                         ("missing_subjects", ("error", "skip"))):
        if out[key] not in choices:
            raise InputError(
                f"expected one of {list(choices)}, got {out[key]!r}", field=f"empirical.{key}"
            )
    subjects = out["subjects"]
    if subjects != "all" and not (
        isinstance(subjects, Sequence)
        and not isinstance(subjects, str)
        and subjects
        and all(isinstance(item, str | int) and not isinstance(item, bool) for item in subjects)
    ):
        raise InputError(
            f"expected 'all' or a list of subject ids, got {subjects!r}", field="empirical.subjects"
        )
    tr = out["tr"]
    if tr is not None and (
        isinstance(tr, bool) or not isinstance(tr, int | float) or not math.isfinite(tr) or tr <= 0
    ):
        raise InputError(
            f"expected a positive number of seconds or null, got {tr!r}", field="empirical.tr"
        )
    regions = out["regions"] if out["regions"] is not None else {}
    if not isinstance(regions, Mapping):
        raise InputError(f"expected {{preset, drop}}, got {regions!r}", field="empirical.regions")
    refuse_unknown_keys(regions, ("preset", "drop"), field="empirical.regions")
    drop = regions.get("drop") or []
    if (
        not isinstance(drop, Sequence)
        or isinstance(drop, str)
        or not all(isinstance(item, int) and not isinstance(item, bool) for item in drop)
    ):
        raise InputError(
            f"expected a list of 0-based region indices, got {drop!r}",
            field="empirical.regions.drop",
        )
    preset = regions.get("preset", EMPIRICAL_DEFAULTS["regions"]["preset"])
    if preset is not None and not isinstance(preset, str):
        raise InputError(
            f"expected a preset name or null, got {preset!r}", field="empirical.regions.preset"
        )
    out["regions"] = {"preset": preset, "drop": list(drop)}
    if out["name"] is not None and not isinstance(out["name"], str):
        raise InputError(f"expected a string, got {out['name']!r}", field="empirical.name")
    held_out = out["held_out"] if out["held_out"] is not None else {}
    if not isinstance(held_out, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str | os.PathLike) for k, v in held_out.items()):
        raise InputError(f"expected {{name: FC file}}, got {held_out!r}",
                         field="empirical.held_out")
    given = [key for key in ("held_out", "fcd", "labels") if out[key]]
    if given and out["format"] != "fc":
        key = given[0]
        raise InputError(f"{key} applies to format: fc (FC given as matrices), not to "
                         f"{out['format']!r}", field=f"empirical.{key}")
    out["held_out"] = {k: os.fspath(v) for k, v in held_out.items()}
    for key in ("fcd", "labels"):
        if out[key] is not None and not isinstance(out[key], str | os.PathLike):
            raise InputError(f"expected a file path or null, got {out[key]!r}",
                             field=f"empirical.{key}")
    out["source"] = os.fspath(out["source"])
    if out["parcellation"] is not None:
        out["parcellation"] = os.fspath(out["parcellation"])
    out["postprocess"] = bold.validate_postprocess(
        out["postprocess"], prefix="empirical.postprocess"
    )
    return out


def group_fc(fc_subjects: np.ndarray, rule: str = "mean") -> np.ndarray:
    """The group FC of ``[subject, node, node]`` correlation matrices.

    Parameters
    ----------
    fc_subjects
        Per-subject FC, each symmetric with a unit diagonal.
    rule
        ``mean``: element-wise arithmetic mean. ``fisher-z``: ``tanh(mean(arctanh(r)))``
        off the diagonal (``|r|`` clipped to ``1 - 1e-7`` so that the transform stays
        finite); the diagonal is 1.

    Returns
    -------
    numpy.ndarray
        float64 ``[node, node]``.
    """
    stack = np.asarray(fc_subjects, dtype=np.float64)
    if stack.ndim != 3 or stack.shape[1] != stack.shape[2] or stack.shape[0] < 1:
        raise InputError(
            f"expected [subject, node, node], got shape {stack.shape}", field="fc_subjects"
        )
    if rule == "mean":
        return stack.mean(axis=0)
    if rule == "fisher-z":
        limit = 1.0 - 1e-7
        group = np.tanh(np.arctanh(np.clip(stack, -limit, limit)).mean(axis=0))
        np.fill_diagonal(group, 1.0)
        return group
    raise InputError(f"unknown group rule {rule!r}; known: {list(GROUP_RULES)}", field="group")


