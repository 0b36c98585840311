"""The empirical stage (``brainsweep empirical``): read, post-process like the simulations,
write per-subject and group FC (and FCD) with provenance."""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from brainsweep import bold
from brainsweep.empirical.checks import group_fc, validate_settings
from brainsweep.empirical.readers import _detect_format, _stem, load_timeseries, simulated_truth
from brainsweep.errors import InputError
from brainsweep.io import provenance, save_npz
from brainsweep.regions import region_labels, select_regions
from brainsweep.study.checked import CheckedSettings

__all__ = ["Settings", "run", "run_stage"]


def _output_path(out: str | os.PathLike, options: Mapping[str, Any]) -> Path:
    target = Path(out)
    if target.suffix == ".npz":
        return target
    # a folder: name the file after the study's empirical name or the source
    name = options["name"] or _stem(Path(options["source"]).resolve())
    return target / f"{name}.npz"


def run_stage(settings: Mapping[str, Any], out: str | os.PathLike) -> Path:
    """Read measured BOLD, post-process it like the simulations, write FC and FCD.

    Parameters
    ----------
    settings
        The ``empirical:`` config (see :func:`validate_settings`) with the ``bold:`` settings
        under ``postprocess``.
    out
        The output ``results/empirical/{study}/{name}.npz``, or a folder to put ``{name}.npz`` in.

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
    series = load_timeseries(
        source,
        fmt=options["format"],
        subjects=options["subjects"],
        layout=options["layout"],
        parcellation=options["parcellation"],
    )
    kind = _detect_format(Path(source)) if options["format"] == "auto" else options["format"]
    found_in = "shard" if kind == "simulated" else "nifti header"
    tr, tr_source = _resolve_tr(options["tr"], series.tr, source, found_in=found_in)
    n_regions = series.data[0].shape[1]
    keep = select_regions(
        n_regions,
        preset=options["regions"]["preset"],
        drop=options["regions"]["drop"],
        source=source,
    )
    # a file without names gets those the connectome stage gives the same regions
    names = series.labels or region_labels(n_regions)
    labels = [names[i] for i in keep]

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
        seconds=round(time.perf_counter() - started, 3),
    )
    return save_npz(_output_path(out, options), arrays, record)


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
    """The stage contract: the section's ``source`` -> ``outputs["out"]``."""
    return run_stage(settings.as_dict(), outputs["out"])
