"""The fit stage: every bold shard scored against the empirical FC; the best fits."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainsweep.bold.connectivity import upper_triangle
from brainsweep.bold.shards import read_bold_shard
from brainsweep.errors import InputError
from brainsweep.fit.degenerate import REASONS, degenerate_reasons
from brainsweep.fit.metrics import METRICS, fc_correlation, score
from brainsweep.fit.points import by_point
from brainsweep.fit.settings import validate_settings
from brainsweep.fit.units import column_units
from brainsweep.io import atomic_path, load_npz, provenance, write_json, write_sidecar
from brainsweep.study.checked import CheckedSettings

__all__ = ["RESERVED_COLUMNS", "best_rows", "excluded_rows", "read_empirical", "usable_rows",
           "run_stage", "subject_uncertainty"]

#: Columns of scores.csv and realisations.csv that are not swept parameters (besides the
#: metrics, their ``std_`` spreads and the per-subject ``fc_corr_<subject>``).
RESERVED_COLUMNS = ("sim_index", "point", "realisation", "realisations", "seed", "n_diverged",
                    "diverged", "n_degenerate", "degenerate", "degenerate_reason", "mean_fc",
                    "bold_std", "global_step")

_EMPIRICAL_KEYS = ("fc_group", "fc_subjects", "subject_ids")
# the transient legitimately differs between simulated and measured BOLD; the filters must not
_MUST_MATCH = ("detrend", "bandpass", "zscore", "gsr", "fcd")
# per-simulation summaries of the raw BOLD written by the bold stage (brainsweep.bold.dynamics)
_DYNAMICS = ("bold_std", "global_step")


def read_empirical(path: str | os.PathLike) -> dict[str, Any]:
    """Load and check an empirical stage output (see :func:`brainsweep.empirical.run_stage`)."""
    source = os.fspath(path)
    if not Path(path).is_file():
        raise InputError("file not found", source=source)
    try:
        data = load_npz(path)
    except InputError:
        raise
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read as .npz: {error}", source=source) from error
    missing = [key for key in _EMPIRICAL_KEYS if key not in data]
    if missing:
        raise InputError(f"missing key(s) {missing}", source=source, field=missing[0])
    group = data["fc_group"]
    if group.ndim != 2 or group.shape[0] != group.shape[1]:
        raise InputError(
            f"expected a square matrix, got {group.shape}", source=source, field="fc_group"
        )
    subjects = data["fc_subjects"]
    if subjects.ndim != 3 or subjects.shape[1:] != group.shape:
        raise InputError(
            f"expected shape (S, {group.shape[0]}, {group.shape[0]}), got {subjects.shape}",
            source=source,
            field="fc_subjects",
        )
    if data["subject_ids"].shape != (subjects.shape[0],):
        raise InputError(
            f"expected {subjects.shape[0]} ids, got {data['subject_ids'].shape}",
            source=source,
            field="subject_ids",
        )
    for key in ("fc_group", "fc_subjects"):
        if not np.isfinite(upper_triangle(data[key])).all():
            raise InputError("non-finite correlations", source=source, field=key)
    return data


def _postprocess_of(data: Mapping[str, np.ndarray]) -> dict[str, Any] | None:
    if "postprocess_json" not in data:
        return None
    return json.loads(str(data["postprocess_json"]))


def _check_same_postprocess(shard: str, sim: dict | None, emp: dict | None, emp_path: str):
    if sim is None or emp is None:
        return
    for key in _MUST_MATCH:
        if key == "fcd" and (sim.get(key) is None or emp.get(key) is None):
            continue  # an FCD on one side only is simply not compared
        # JSON turns tuples into lists on both sides, so they compare equal
        if sim.get(key) != emp.get(key):
            raise InputError(
                f"simulated BOLD was processed with {key}={sim.get(key)!r} but the empirical "
                f"BOLD ({emp_path}) with {key}={emp.get(key)!r}; use the same bold settings",
                source=shard,
                field=f"bold.{key}",
            )


def usable_rows(scores: pd.DataFrame) -> pd.Series:
    """The rows that may win a best fit: neither diverged nor flagged degenerate."""
    usable = pd.Series(True, index=scores.index)
    for column in ("diverged", "degenerate"):
        if column in scores:
            usable &= ~scores[column].astype(bool)
    return usable


def best_rows(scores: pd.DataFrame) -> dict[str, dict[str, Any] | None]:
    """The best row of each metric column present (NaN, diverged and degenerate rows never
    win).

    Returns metric -> the row as a dict, or None when no row has a finite value.
    """
    out: dict[str, dict[str, Any] | None] = {}
    usable = usable_rows(scores)
    for metric, higher in METRICS.items():
        if metric not in scores:
            continue
        values = scores[metric].where(usable)
        if values.notna().sum() == 0:
            out[metric] = None
            continue
        index = values.idxmax() if higher else values.idxmin()
        out[metric] = _row_dict(scores.loc[index])
    return out


def excluded_rows(scores: pd.DataFrame, metric: str,
                  best_fit: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The degenerate rows that score better than the best fit by ``metric`` (all scored
    degenerate rows when nothing could win), best first: what the flags kept from winning."""
    if "degenerate" not in scores or metric not in scores:
        return []
    higher = METRICS[metric]
    flagged = scores[scores["degenerate"].astype(bool) & ~scores["diverged"].astype(bool)
                     & scores[metric].notna()]
    if best_fit is not None and best_fit.get(metric) is not None:
        bound = best_fit[metric]
        flagged = flagged[flagged[metric] > bound] if higher else \
            flagged[flagged[metric] < bound]
    flagged = flagged.sort_values(metric, ascending=not higher, kind="stable")
    return [_row_dict(row) for _, row in flagged.iterrows()]


def _row_dict(row: pd.Series) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, np.generic):
            value = value.item()
        if (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            value = None  # NaN, or the seed of shards that did not record it
        result[str(key)] = value
    return result


def _row_means(values: np.ndarray) -> np.ndarray:
    """Mean of each row, one row at a time (bit-identical whatever else shares the array)."""
    rows = np.ascontiguousarray(values, dtype=np.float64)
    return np.array([np.add.reduce(row) / row.size for row in rows])


def _summary(values: np.ndarray) -> dict[str, Any]:
    """mean, sample standard deviation (``ddof=1``), min, max and count of the finite values."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {
        "mean": float(np.add.reduce(finite) / finite.size),
        "std": float(finite.std(ddof=1)) if finite.size > 1 else None,
        "min": float(finite.min()),
        "max": float(finite.max()),
        "n": int(finite.size),
    }


def subject_uncertainty(
    scores: pd.DataFrame, subject_ids: Sequence[str], parameters: Sequence[str],
    best_fit: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """How the fit varies across empirical subjects.

    Returns
    -------
    dict
        ``at_best_fit``: the per-subject ``fc_corr`` of the best fit (``values`` by subject,
        and their :func:`_summary`); ``best_per_subject``: for each subject the row that
        correlates best with that subject's own FC (``rows``), and across subjects the
        spread of the chosen parameters (``parameters``, a summary per swept parameter) and
        of their ``fc_corr`` (``fc_corr``). Diverged, degenerate and NaN rows never count.
    """
    columns = [f"fc_corr_{ident}" for ident in subject_ids]
    at_best: dict[str, Any] = {"values": {}, **_summary(np.array([]))}
    if best_fit is not None:
        values = {ident: best_fit.get(column) for ident, column in
                  zip(subject_ids, columns, strict=True)}
        at_best = {"values": values, **_summary(np.array(
            [np.nan if value is None else value for value in values.values()], dtype=float))}
    usable = usable_rows(scores)
    rows: dict[str, Any] = {}
    for ident, column in zip(subject_ids, columns, strict=True):
        values = scores[column].where(usable)
        if values.notna().any():
            row = scores.loc[values.idxmax()]
            rows[ident] = {"sim_index": int(row["sim_index"]),
                           **{name: float(row[name]) for name in parameters},
                           "fc_corr": float(row[column])}
        else:
            rows[ident] = None
    chosen = [row for row in rows.values() if row is not None]
    return {
        "at_best_fit": at_best,
        "best_per_subject": {
            "metric": "fc_corr",
            "rows": rows,
            "parameters": {name: _summary(np.array([row[name] for row in chosen]))
                           for name in parameters},
            "fc_corr": _summary(np.array([row["fc_corr"] for row in chosen])),
        },
    }


def run_stage(
    bold_shards: Sequence[str | os.PathLike],
    empirical: str | os.PathLike,
    settings: Mapping[str, Any] | None,
    out_dir: str | os.PathLike,
) -> None:
    """Score every simulation of a study and pick the best fits.

    Parameters
    ----------
    bold_shards
        The study's bold shards (:func:`brainsweep.bold.run_stage` outputs), in any order.
    empirical
        The empirical stage output (``results/empirical/{study}/{name}.npz``).
    settings
        The ``fit:`` config (see :func:`brainsweep.fit.settings.validate_settings`).
    out_dir
        Folder for ``scores.csv``, ``realisations.csv`` and ``best.json`` (each with a
        ``.json`` sidecar).

    Notes
    -----
    ``realisations.csv`` has one row per simulation, sorted by ``sim_index``:
    ``sim_index``, ``point``, ``realisation`` (see :func:`brainsweep.fit.points.by_point`),
    ``seed`` (the study's noise seed: simulation i's noise is keyed by ``(seed, sim_index)``;
    empty for shards that did not record it), one column per swept parameter, ``diverged``,
    ``degenerate`` and ``degenerate_reason``
    (:func:`brainsweep.fit.degenerate.degenerate_reasons` with the thresholds of
    ``fit.degenerate``), the metrics of :func:`brainsweep.fit.score` against the group FC
    (``fcd_ks`` only when both sides carry FCD values), ``mean_fc`` (the mean simulated FC),
    ``bold_std`` and ``global_step`` (:mod:`brainsweep.bold.dynamics`) and
    ``fc_corr_<subject>`` per empirical subject. ``scores.csv`` has one row per parameter
    point (its noise realisations, ``simulation.realisations``): the means of those columns
    over the realisations and their spread (``std_<metric>``), and the ``seed`` after
    ``realisations``; with one realisation per point its rows are the simulations. The sidecar
    of each table gives the ``seed`` and each column's unit (``columns``, ``{name: unit}``,
    :mod:`brainsweep.fit.units`; the parameters' from ``fit.units``), so the CSV keeps one
    header row. Diverged simulations score NaN and never win, nor
    does a point with a diverged or a degenerate realisation. ``best.json`` holds the chosen
    ``metric``, the best point per metric (``best``), the best point by the chosen metric
    (``best_fit``), the degenerate points that scored better and were excluded
    (``excluded_better_than_best``) with the counts per reason, and the uncertainty across
    subjects (:func:`subject_uncertainty`): ``per_subject_fc_corr`` (mean, sample standard
    deviation, min, max, count and values of the best fit's per-subject ``fc_corr``) and
    ``best_per_subject`` (each subject's own best point; the spread of its parameters).

    Every simulation is scored on its own, after the shards are gathered and sorted by
    ``sim_index``, so both files are byte-identical however the grid was split into shards.

    Raises
    ------
    InputError
        Bad settings, unreadable or inconsistent shards (parameter names, region count,
        repeated ``sim_index``, different post-processing), an FCD metric without FCDs.
    """
    started = time.perf_counter()
    options = validate_settings(settings)
    if not bold_shards:
        raise InputError("no bold shards given", field="bold_shards")
    emp_path = os.fspath(empirical)
    emp = read_empirical(empirical)
    emp_group = emp["fc_group"].astype(np.float64)
    emp_post = _postprocess_of(emp)
    subject_ids = [str(item) for item in emp["subject_ids"]]
    subject_upper = upper_triangle(emp["fc_subjects"].astype(np.float64))
    emp_fcd = emp.get("fcd_values")
    has_emp_fcd = emp_fcd is not None and emp_fcd.size > 0

    names: list[str] | None = None
    parts: dict[str, list[np.ndarray]] = {
        "sim_index": [], "param_values": [], "diverged": [], "fc": [], "fcd_values": [],
        **{key: [] for key in _DYNAMICS}}
    sim_has_fcd: set[bool] = set()
    seeds: dict[int | None, str] = {}  # the noise seed of each shard (None: not recorded)
    for shard in bold_shards:
        where = os.fspath(shard)
        data = read_bold_shard(shard)
        shard_names = [str(item) for item in data["param_names"]]
        if names is None:
            names = shard_names
            clash = sorted(set(names) & {*RESERVED_COLUMNS, *METRICS})
            clash += [name for name in names if name.startswith(("fc_corr_", "std_"))]
            if clash:
                raise InputError(
                    f"parameter name(s) {clash} clash with score columns",
                    source=where,
                    field="param_names",
                )
        elif shard_names != names:
            raise InputError(
                f"parameters {shard_names} differ from the first shard's {names}",
                source=where,
                field="param_names",
            )
        if data["fc"].shape[1:] != emp_group.shape:
            raise InputError(
                f"FC of {data['fc'].shape[1]} regions, the empirical FC has "
                f"{emp_group.shape[0]} ({emp_path})",
                source=where,
                field="fc",
            )
        _check_same_postprocess(where, _postprocess_of(data), emp_post, emp_path)
        seeds.setdefault(int(data["seed"]) if "seed" in data else None, where)
        sim_has_fcd.add("fcd_values" in data)
        if "fcd_values" in data:
            widths = {part.shape[1] for part in parts["fcd_values"]}
            if widths and data["fcd_values"].shape[1] not in widths:
                raise InputError(
                    f"{data['fcd_values'].shape[1]} FCD values per simulation, other shards "
                    f"have {widths.pop()}: were they simulated for the same duration?",
                    source=where,
                    field="fcd_values",
                )
            parts["fcd_values"].append(data["fcd_values"])
        for key in ("sim_index", "param_values", "diverged", "fc"):
            parts[key].append(data[key])
        # BOLD summaries (bold shards written before they existed lack them: NaN, unflagged)
        for key in _DYNAMICS:
            parts[key].append(data[key].astype(np.float64) if key in data
                              else np.full(data["sim_index"].shape, np.nan))

    if len(sim_has_fcd) > 1:
        raise InputError("some bold shards carry FCD values and others do not", field="bold.fcd")
    if len(seeds) > 1:
        # one study, one seed: a shard of another seed is a stale result of an earlier run
        listed = ", ".join(f"{seed} ({where})" for seed, where in seeds.items())
        raise InputError(f"the shards were simulated with different seeds: {listed}",
                         field="simulation.seed")
    (seed,) = seeds
    sim_index = np.concatenate(parts["sim_index"])
    indices, counts = np.unique(sim_index, return_counts=True)
    repeated = indices[counts > 1]
    if repeated.size:
        raise InputError(
            f"sim_index {repeated[:5].tolist()} appear in more than one row", field="sim_index"
        )
    metric = options["metric"]
    use_fcd = sim_has_fcd == {True} and has_emp_fcd
    if metric == "fcd_ks" and not use_fcd:
        raise InputError(
            "fcd_ks needs FCD values in the bold shards (bold.fcd) and the "
            "empirical data (empirical.postprocess.fcd)",
            field="fit.metric",
        )
    # gather, then sort by the global simulation index before anything is reduced: from here
    # on nothing depends on how the grid was split into shards
    order = np.argsort(sim_index, kind="stable")
    sim_index = sim_index[order]
    diverged = np.concatenate(parts["diverged"]).astype(bool)[order]
    param_values = np.concatenate(parts["param_values"]).astype(np.float64)[order]
    matrices = np.concatenate(parts["fc"]).astype(np.float64)[order]
    matrices[diverged] = np.nan  # never trust values a diverged simulation carries
    sim_fcd = np.concatenate(parts["fcd_values"])[order] if use_fcd else None

    metrics = score(
        matrices,
        emp_group,
        empirical_fcd=emp_fcd if use_fcd else None,
        sim_fcd=sim_fcd,
        weights=options["weights"],
    )
    scores = pd.DataFrame({"sim_index": sim_index})
    for column, name in enumerate(names):
        scores[name] = param_values[:, column]
    scores["diverged"] = diverged
    sim_upper = upper_triangle(matrices)
    per_subject = pd.DataFrame({
        f"fc_corr_{ident}": fc_correlation(sim_upper, subject_upper[s])
        for s, ident in enumerate(subject_ids)
    })
    sim_upper_mean = _row_means(sim_upper)
    dynamics = {key: np.concatenate(parts[key])[order] for key in _DYNAMICS}
    extra = pd.DataFrame({"mean_fc": sim_upper_mean, **dynamics})
    scores = pd.concat([scores, metrics, extra, per_subject], axis=1)
    metric_columns = [name for name in METRICS if name in scores]
    subject_columns = [f"fc_corr_{ident}" for ident in subject_ids]
    scores.loc[scores["diverged"], metric_columns + subject_columns + ["mean_fc"]] = np.nan
    emp_mean_fc = float(np.add.reduce(upper_triangle(emp_group)) / upper_triangle(emp_group).size)
    reasons = degenerate_reasons(
        scores["mean_fc"].to_numpy(), emp_mean_fc, options["degenerate"],
        bold_std=scores["bold_std"].to_numpy(), global_step=scores["global_step"].to_numpy())
    at = scores.columns.get_loc("diverged") + 1
    scores.insert(at, "degenerate", [bool(reason) for reason in reasons])
    scores.insert(at + 1, "degenerate_reason", reasons)
    per_simulation, points = by_point(scores, names)
    # the noise of simulation i is Philox keyed by (seed, sim_index): with the index, the seed
    # names each realisation's noise (empty for shards written before they recorded it); in
    # the point table it stands beside the count of realisations
    for table, after in ((per_simulation, "realisation"), (points, "realisations")):
        table.insert(table.columns.get_loc(after) + 1, "seed",
                     pd.array([seed] * len(table), dtype="Int64"))

    best = best_rows(points)
    chosen = best.get(metric)
    uncertainty = subject_uncertainty(points, subject_ids, names, chosen)
    excluded = excluded_rows(points, metric, chosen)
    report = {
        "metric": metric,
        "higher_is_better": {name: METRICS[name] for name in metric_columns},
        "weights": options["weights"],
        "degenerate_thresholds": options["degenerate"],
        "empirical_mean_fc": emp_mean_fc,
        "n_simulations": int(len(per_simulation)),
        "n_points": int(len(points)),
        "realisations": sorted({int(n) for n in points["realisations"]}),
        "n_diverged": int(per_simulation["diverged"].sum()),
        "n_degenerate": int(per_simulation["degenerate"].sum()),
        "n_points_degenerate": int(points["degenerate"].sum()),
        "degenerate_reasons": {reason: int(sum(reason in str(item).split(";")
                                               for item in per_simulation["degenerate_reason"]))
                               for reason in REASONS},
        "n_scored": int(points[metric].where(usable_rows(points)).notna().sum()),
        "parameters": names,
        "best_fit": chosen,
        "best": best,
        "excluded_better_than_best": excluded,
        "per_subject_fc_corr": uncertainty["at_best_fit"],
        "best_per_subject": uncertainty["best_per_subject"],
        "subject_ids": subject_ids,
    }

    out = Path(out_dir)
    inputs = {f"bold:{i}": shard for i, shard in enumerate(bold_shards)}
    inputs["empirical"] = emp_path
    record = provenance(
        inputs=inputs, config=options, stage="fit", seconds=round(time.perf_counter() - started, 3)
    )
    for name, table in (("scores.csv", points), ("realisations.csv", per_simulation)):
        path = out / name
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False, float_format="%.9g")
        # the units live beside the table, so that the CSV keeps one header row
        write_sidecar(path, {**record, "seed": seed,
                             "columns": column_units(table.columns, options["units"])})
    best_path = out / "best.json"
    write_json(best_path, report)
    write_sidecar(best_path, record)


class Settings(CheckedSettings):
    """The fit stage's settings: the ``fit:`` section (metric, weights, degenerate)."""

    @staticmethod
    def check(section):
        return validate_settings(section)


def run(settings: Settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
    """The stage contract: ``inputs["shards"]``, ``inputs["empirical"]`` -> ``out_dir``."""
    return run_stage(inputs["shards"], inputs["empirical"], settings.as_dict(),
                     outputs["out_dir"])
