"""The connectome stage as the workflow runs it: validate settings, load, clean, save."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from brainsweep.errors import InputError, refuse_unknown_keys
from brainsweep.study.checked import CheckedSettings

from .loading import FORMATS, load
from .preprocessing import (
    NORMALISATIONS,
    SYMMETRISATIONS,
    check_average,
    check_choice,
    check_regions,
    check_threshold,
    preprocess,
)

__all__ = ["DEFAULTS", "check_settings", "run_stage"]

DEFAULTS: dict[str, Any] = {
    "source": None,
    "format": "auto",
    "subjects": "all",
    "regions": None,
    "symmetrise": "mean",
    "normalise": "max",
    "threshold": None,
    "average": "mean",
    "labels": None,
    "missing_subjects": "error",
    "max_unassigned": 0.25,
}


def _path_or_mapping(value: Any, key: str) -> str | dict[str, str]:
    if isinstance(value, str | os.PathLike) and os.fspath(value):
        return os.fspath(value)
    if isinstance(value, Mapping) and value and all(
            isinstance(k, str) and isinstance(v, str | os.PathLike) for k, v in value.items()):
        allowed = {"weights", "lengths", "labels", "streamlines", "parcellation"}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise InputError(f"unknown key(s) {unknown}; expected some of {sorted(allowed)}",
                             field=f"connectome.{key}")
        return {k: os.fspath(v) for k, v in value.items()}
    raise InputError(f"expected a path, got {value!r}", field=f"connectome.{key}")


def check_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the config's ``connectome:`` section; return it with defaults filled in.

    Raises
    ------
    InputError
        Naming the field ``connectome.<key>`` of the first unknown key or bad value.
    """
    if not isinstance(settings, Mapping):
        raise InputError(f"expected a mapping, got {type(settings).__name__}",
                         field="connectome")
    refuse_unknown_keys(settings, DEFAULTS, field="connectome")
    out = {**DEFAULTS, **settings}
    if out["source"] is None:
        raise InputError("missing: the connectome to read (a path)", field="connectome.source")
    out["source"] = _path_or_mapping(out["source"], "source")
    fmt = out["format"] if out["format"] is not None else "auto"
    if fmt not in ("auto", *FORMATS):
        raise InputError(f"unknown format {fmt!r}; expected one of {['auto', *FORMATS]}",
                         field="connectome.format")
    out["format"] = fmt
    subjects = out["subjects"]
    if subjects in (None, "all"):
        out["subjects"] = "all"
    elif isinstance(subjects, list | tuple) and subjects and all(
            isinstance(s, str | int) and not isinstance(s, bool) for s in subjects):
        out["subjects"] = [str(s) for s in subjects]
    else:
        raise InputError(f"expected 'all' or a non-empty list of subject ids, got {subjects!r}",
                         field="connectome.subjects")
    if out["missing_subjects"] not in ("error", "skip"):
        raise InputError(f"expected 'error' or 'skip', got {out['missing_subjects']!r}",
                         field="connectome.missing_subjects")
    limit = out["max_unassigned"]
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not 0 <= limit <= 1:
        raise InputError(f"expected a fraction between 0 and 1, got {limit!r}",
                         field="connectome.max_unassigned")
    out["regions"] = check_regions(out["regions"])
    out["symmetrise"] = check_choice(out["symmetrise"], SYMMETRISATIONS, "symmetrise")
    out["normalise"] = check_choice(out["normalise"], NORMALISATIONS, "normalise")
    out["threshold"] = check_threshold(out["threshold"])
    check_average(out["average"])
    if out["labels"] is not None:
        out["labels"] = _path_or_mapping(out["labels"], "labels")
        if not isinstance(out["labels"], str):
            raise InputError("expected a path", field="connectome.labels")
    return out


def check_loaded(conn, checked: Mapping[str, Any]) -> None:
    """What a reader accepts but a study cannot use: refused naming the source and key.

    * Every connection's tract length 0: every delay would be 0, the model would run without
      delays and no speed would matter; a lengths file of zeros is a broken export.
    * Tractography whose streamlines mostly miss the parcellation (an end outside the volume
      or on label 0): more than ``max_unassigned`` of them means a parcellation in another
      space or of another brain, not a sparse connectome.
    """
    source = checked["source"]
    where = source if isinstance(source, str) else (
        source.get("lengths") or source.get("streamlines") or source.get("weights"))
    weights, lengths = np.asarray(conn.weights), np.asarray(conn.lengths)
    connected = weights > 0
    if connected.any() and not (lengths[connected] > 0).any():
        raise InputError("every connection's tract length is 0: all delays would be 0 and "
                         "the speed would not matter; give the lengths in mm",
                         source=os.fspath(where), field="lengths")
    step = conn.steps[0] if conn.steps else {}
    if step.get("format") == "tractography" and step.get("n_streamlines"):
        share = 1 - step["assigned"] / step["n_streamlines"]
        if share > checked["max_unassigned"]:
            raise InputError(
                f"{share:.0%} of {step['n_streamlines']} streamlines have an end outside the "
                f"parcellation ({step['end_outside_volume']} outside the volume, "
                f"{step['end_on_label_0']} on label 0), more than connectome.max_unassigned "
                f"({checked['max_unassigned']:g}): check that the parcellation is in the "
                "streamlines' space", source=os.fspath(where),
                field="connectome.max_unassigned")


def run_stage(settings: Mapping[str, Any], out: str | os.PathLike) -> Path:
    """Run the connectome stage: what ``brainsweep connectome`` calls.

    Validates ``settings`` (the config's ``connectome:`` section) before reading anything,
    loads the source, preprocesses it, and writes ``out`` (``.npz``) and ``<out>.json``
    (provenance: every file read with its sha256, the settings and their hash, every step)
    atomically: on any error, no output is left.

    Parameters
    ----------
    settings
        Keys ``source``, ``format``, ``subjects``, ``regions``, ``symmetrise``,
        ``normalise``, ``threshold``, ``average``, ``labels`` (see ``config/schema.yaml``).
        Relative paths are relative to the working directory.
    out
        The output file, e.g. ``results/connectome/{study}/hcp.npz``.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    started = time.perf_counter()
    checked = check_settings(settings)
    conn = load(
        checked["source"],
        checked["format"],
        subjects=None if checked["subjects"] == "all" else checked["subjects"],
        labels=checked["labels"],
        missing_subjects=checked["missing_subjects"],
    )
    check_loaded(conn, checked)
    skipped = conn.steps[0].get("skipped_subjects") if conn.steps else None
    if skipped:  # the log says it here; the sidecar keeps it in the load step
        print(f"warning: subjects skipped (connectome.missing_subjects: skip), their missing "
              f"files: {skipped}", file=sys.stderr)
    conn = preprocess(
        conn,
        regions=checked["regions"],
        symmetrise=checked["symmetrise"],
        normalise=checked["normalise"],
        threshold=checked["threshold"],
        average=checked["average"],
    )
    return conn.save(out, config=checked,
                     timings={"connectome_s": round(time.perf_counter() - started, 3)})


class Settings(CheckedSettings):
    """The connectome stage's settings: the ``connectome:`` section (``name`` only names the
    output file, the rule's business, and is not a setting of the stage)."""

    @staticmethod
    def check(section):
        return check_settings(section)

    @classmethod
    def from_mapping(cls, section):
        return super().from_mapping({k: v for k, v in (section or {}).items() if k != "name"})


def run(settings: Settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Path:
    """The stage contract: ``outputs["out"]`` (and the overview ``outputs["figure"]``)."""
    path = run_stage(settings.as_dict(), outputs["out"])
    if outputs.get("figure"):
        from brainsweep.io import provenance, write_sidecar

        from .model import Connectome
        from .plotting import plot

        figure = plot(Connectome.from_npz(path), outputs["figure"])
        write_sidecar(figure, provenance(
            inputs={"connectome": path}, config=settings.as_dict(), stage="connectome",
            figure="connectome_overview"))
    return path
