"""The empirical stage (``brainsweep empirical``): read, post-process like the simulations,
write per-subject and group FC (and FCD) with provenance."""

from __future__ import annotations

import json
import math
import os
import sys
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from brainsweep import bold
from brainsweep.connectome.labels import read_labels
from brainsweep.empirical.checks import group_fc, validate_settings
from brainsweep.empirical.fc_files import load_fc_matrices
from brainsweep.empirical.readers import _detect_format, _stem, load_timeseries, simulated_truth
from brainsweep.errors import InputError
from brainsweep.io import provenance, save_npz
from brainsweep.regions import PRESETS, is_source_label, region_labels, select_regions
from brainsweep.study.checked import CheckedSettings

__all__ = ["Settings", "run", "run_stage"]


def _output_path(out: str | os.PathLike, options: Mapping[str, Any]) -> Path:
    target = Path(out)
    if target.suffix == ".npz":
        return target
    # a folder: name the file after the study's empirical name or the source
    name = options["name"] or _stem(Path(options["source"]).resolve())
    return target / f"{name}.npz"


def _warn(notes: list[str], message: str) -> None:
    """A warning for the log (stderr) and the sidecar (``warnings``)."""
    notes.append(message)
    print(f"warning: {message}", file=sys.stderr)


def connectome_labels(connectome: str | os.PathLike) -> list[str]:
    """The region labels of a connectome stage output."""
    from brainsweep.connectome.model import Connectome

    return list(Connectome.from_npz(connectome).labels)


def check_regions_agree(labels: list[str], theirs: list[str], connectome: str | os.PathLike,
                        source: str, notes: list[str]) -> None:
    """Refuse empirical regions that are not the connectome's, label by label.

    Both stages label a source that names no regions by position in the source
    (:func:`brainsweep.regions.region_labels`: AAL2's names for its 94 regions, else
    positions), so ``drop: [0]`` against ``drop: [5]`` differ
    in their labels though not in their count. Where one side has names and the other only
    positions, the count is all that can be compared: checked, with a warning.
    """
    field = "empirical.regions"
    if len(theirs) != len(labels):
        raise InputError(f"{len(labels)} regions selected, the connectome "
                         f"{os.fspath(connectome)} has {len(theirs)}: select the same regions "
                         f"in connectome.regions and empirical.regions", source=source,
                         field=field)
    named = [not is_source_label(label) for label in (*labels, *theirs)]
    if all(named) or not any(named):
        differ = [k for k, (a, b) in enumerate(zip(labels, theirs, strict=True)) if a != b]
        if differ:
            k = differ[0]
            raise InputError(f"region {k} of the selection is {labels[k]!r} here but "
                             f"{theirs[k]!r} in the connectome {os.fspath(connectome)} "
                             f"({len(differ)} of {len(labels)} differ): select the same "
                             f"regions in connectome.regions and empirical.regions",
                             source=source, field=field)
    else:
        _warn(notes, f"the connectome {os.fspath(connectome)} and the empirical data label "
                     f"their regions differently (names on one side, positions on the "
                     f"other): only their count ({len(labels)}) could be compared")


def run_stage(settings: Mapping[str, Any], out: str | os.PathLike, *,
              connectome: str | os.PathLike | None = None) -> Path:
    """Read measured BOLD, post-process it like the simulations, write FC and FCD.

    Parameters
    ----------
    settings
        The ``empirical:`` config (see :func:`validate_settings`) with the ``bold:`` settings
        under ``postprocess``.
    out
        The output ``results/empirical/{study}/{name}.npz``, or a folder to put ``{name}.npz`` in.
    connectome
        The study's connectome ``.npz``: the regions kept must be its regions, label by label
        (:func:`check_regions_agree`); None skips the check.

    Returns
    -------
    pathlib.Path
        The ``.npz`` written (atomically, with a JSON provenance sidecar), holding
        ``fc_subjects`` (S, N, N) float64, ``fc_group`` (N, N) float64 (the ``group`` rule),
        ``fcd_values`` float32 (every subject's FCD upper triangle, concatenated; empty when
        ``postprocess.fcd`` is null) with ``fcd_offsets`` (S + 1,) int64 (subject ``s`` owns
        ``fcd_values[fcd_offsets[s]:fcd_offsets[s + 1]]``), ``tr``, ``subject_ids``,
        ``labels``, ``region_indices`` (0-based indices kept from the source), ``n_samples``
        (per subject, after the transient), ``group_rule`` and ``postprocess_json``.

    Raises
    ------
    InputError
        Bad settings, unreadable or non-finite data, a flat (constant) kept region.
    """
    started = time.perf_counter()
    options = validate_settings(settings)
    source = options["source"]
    if options["format"] == "fc":
        return _run_fc(options, out, started)
    series = load_timeseries(
        source,
        fmt=options["format"],
        subjects=options["subjects"],
        layout=options["layout"],
        parcellation=options["parcellation"],
        missing_subjects=options["missing_subjects"],
    )
    notes: list[str] = []  # warnings: the log and the sidecar
    if series.skipped:
        _warn(notes, f"subjects skipped (empirical.missing_subjects: skip), their missing "
                     f"files: {series.skipped}")
    kind = _detect_format(Path(source)) if options["format"] == "auto" else options["format"]
    found_in = "shard" if kind == "simulated" else "nifti header"
    tr, tr_source = _resolve_tr(options["tr"], series.tr, source, found_in=found_in)
    n_regions = series.data[0].shape[1]
    # a simulation has the model's regions, the connectome's by construction
    theirs = None if connectome is None or kind == "simulated" else connectome_labels(connectome)
    try:
        keep = select_regions(
            n_regions,
            preset=options["regions"]["preset"],
            drop=options["regions"]["drop"],
            source=source,
        )
        # a file without names gets those the connectome stage gives the same regions
        names = series.labels or region_labels(n_regions)
        labels = [names[i] for i in keep]
        if theirs is not None:
            check_regions_agree(labels, theirs, connectome, source, notes)
    except InputError as error:
        samples = series.data[0].shape[0]
        preset = options["regions"]["preset"]
        wanted = {len(theirs)} if theirs is not None else set()  # region counts expected
        if preset in PRESETS:
            wanted.add(PRESETS[preset][0])
        # a short series stored time x regions, turned by the auto layout: its samples were
        # read as regions, and the count of samples read is a count of regions expected
        if "auto" not in series.layout or samples not in wanted:
            raise
        raise InputError(
            f"{str(error).removeprefix(f'{source}[{error.field}]: ')} (the auto layout read "
            f"{samples} samples of {n_regions} regions, taking the longer axis as time; if "
            f"the file is {n_regions} samples x {samples} regions set empirical.layout: "
            "time-node)", source=source, field=error.field) from None

    post = options["postprocess"]
    filter_options = {
        key: post[key] for key in ("transient_s", "detrend", "bandpass", "zscore", "gsr")
    }
    matrices, fcd_chunks, n_samples = [], [], []
    for ident, path, raw in zip(series.subject_ids, series.files, series.data, strict=False):
        kept = raw[:, keep]
        std = kept.std(axis=0)
        flat = np.flatnonzero(~(std > 1e-12 * np.abs(kept).max(axis=0)))
        if flat.size:
            raise InputError(
                f"subject {ident}: region(s) {keep[flat].tolist()} (0-based, of the source) are "
                "constant; drop them with regions.drop",
                source=os.fspath(path),
                field="empirical.regions",
            )
        try:
            clean = bold.postprocess(kept, tr=tr, **filter_options)
            matrices.append(bold.fc(clean))
            if post["fcd"] is not None:
                fcd_chunks.append(bold.fcd_values(bold.fcd(clean, tr=tr, **post["fcd"])))
        except InputError as error:
            message = str(error)
            if error.field and error.source is None:
                message = message.removeprefix(f"[{error.field}]: ")
            raise InputError(
                f"subject {ident}: {message}",
                source=os.fspath(path),
                field=f"empirical.postprocess.{error.field}" if error.field else None,
            ) from error
        n_samples.append(clean.shape[0])
        if clean.shape[0] <= keep.size:
            # an N x N correlation of T samples has rank at most T - 1
            _warn(notes, f"subject {ident}: {clean.shape[0]} samples for {keep.size} regions: "
                         f"its FC has rank at most {clean.shape[0] - 1} of {keep.size} "
                         f"({os.fspath(path)})")
    fc_subjects = np.stack(matrices)
    offsets = np.concatenate([[0], np.cumsum([chunk.size for chunk in fcd_chunks])])
    if not fcd_chunks:
        offsets = np.zeros(len(matrices) + 1, dtype=np.int64)
    arrays = {
        "fc_subjects": fc_subjects,
        "fc_group": group_fc(fc_subjects, options["group"]),
        "fcd_values": (np.concatenate(fcd_chunks) if fcd_chunks else np.zeros(0)).astype(
            np.float32
        ),
        "fcd_offsets": offsets.astype(np.int64),
        "tr": np.float64(tr),
        "subject_ids": np.array(series.subject_ids, dtype=str),
        "labels": np.array(labels, dtype=str),
        "region_indices": keep,
        "n_samples": np.array(n_samples, dtype=np.int64),
        "group_rule": np.array(options["group"]),
        "postprocess_json": np.array(json.dumps(post, sort_keys=True)),
    }
    truth = None
    if kind == "simulated":
        # the planted parameters travel with the FC, so a recovery report needs no other input
        truth = simulated_truth(source)
        arrays["truth_names"] = np.array(list(truth), dtype=str)
        arrays["truth_values"] = np.array(list(truth.values()), dtype=np.float64).T
    inputs = {
        f"timeseries:{ident}": path
        for ident, path in zip(series.subject_ids, series.files, strict=False)
    }
    if options["parcellation"]:
        inputs["parcellation"] = options["parcellation"]
    record = provenance(
        inputs=inputs,
        config=options,
        stage="empirical",
        tr_s=tr,
        tr_source=tr_source,
        layout=series.layout,
        group_rule=options["group"],
        n_subjects=len(matrices),
        n_regions=int(keep.size),
        truth=truth,
        skipped_subjects=series.skipped,
        warnings=notes,
        seconds=round(time.perf_counter() - started, 3),
    )
    return save_npz(_output_path(out, options), arrays, record)


def _run_fc(options: Mapping[str, Any], out: str | os.PathLike, started: float) -> Path:
    """``format: fc``: group FC matrices as given (the target first, then the held-out)."""
    name = options["name"] or _stem(Path(options["source"]))
    found = load_fc_matrices(options["source"], held_out=options["held_out"],
                             fcd=options["fcd"], name=name)
    n_regions = found.fc.shape[1]
    keep = select_regions(n_regions, preset=options["regions"]["preset"],
                          drop=options["regions"]["drop"], source=options["source"])
    fc = found.fc[:, keep][:, :, keep]
    labels = [f"region_{i:03d}" for i in keep]
    if options["labels"] is not None:
        all_labels, _ = read_labels(options["labels"])
        if len(all_labels) != n_regions:
            raise InputError(f"{len(all_labels)} labels for an FC of {n_regions} regions",
                             source=options["labels"], field="empirical.labels")
        labels = [all_labels[i] for i in keep]
    offsets = np.zeros(len(found.names) + 1, dtype=np.int64)
    offsets[1:] = found.fcd_values.size  # the target's FCD; the held-out groups have none
    arrays = {
        "fc_subjects": fc,
        "fc_group": fc[0],  # the target alone: held-out groups are scored, never fitted
        "fcd_values": found.fcd_values.astype(np.float32),
        "fcd_offsets": offsets,
        "tr": np.float64(options["tr"] if options["tr"] is not None else np.nan),
        "subject_ids": np.array(found.names, dtype=str),
        "labels": np.array(labels, dtype=str),
        "region_indices": keep,
        "n_samples": np.zeros(len(found.names), dtype=np.int64),
        "group_rule": np.array("target"),
        "postprocess_json": np.array(json.dumps(options["postprocess"], sort_keys=True)),
    }
    inputs = {key: path for key, path in found.files.items()}
    if options["labels"] is not None:
        inputs["labels"] = options["labels"]
    record = provenance(inputs=inputs, config=options, stage="empirical", group_rule="target",
                        n_subjects=len(found.names), n_regions=int(keep.size),
                        seconds=round(time.perf_counter() - started, 3))
    return save_npz(_output_path(out, {**options, "name": name}), arrays, record)


def _resolve_tr(
    configured: float | None, from_file: float | None, source: str, found_in: str = "nifti header"
) -> tuple[float, str]:
    if from_file is not None:
        if configured is not None and not math.isclose(configured, from_file, rel_tol=0.01):
            warnings.warn(
                f"{source}: the {found_in} gives TR {from_file:g} s, the config "
                f"{configured:g} s; using the {found_in}",
                stacklevel=3,
            )
        return from_file, found_in
    if configured is None:
        raise InputError(
            "the data do not give a TR; set empirical.tr", source=source, field="empirical.tr"
        )
    return float(configured), "config"


class Settings(CheckedSettings):
    """The empirical stage's settings: ``empirical:`` with the bold post-processing under
    ``postprocess``."""

    @staticmethod
    def check(section):
        return validate_settings(section)


def run(settings: Settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Path:
    """The stage contract: the section's ``source`` -> ``outputs["out"]``, its regions checked
    against ``inputs["connectome"]`` when given."""
    return run_stage(settings.as_dict(), outputs["out"], connectome=inputs.get("connectome"))
