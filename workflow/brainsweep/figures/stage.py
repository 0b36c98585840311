"""The figures stage: score landscapes, and the FC and FCD of the best fit beside the data.

Every figure is written atomically with a provenance sidecar (``<figure>.json``: the inputs'
sha256, the settings, the best simulation shown). :func:`figure_files` names the files a
study's settings produce, so the workflow declares exactly what the stage writes.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainsweep.bold.shards import read_bold_shard
from brainsweep.errors import InputError, refuse_unknown_keys
from brainsweep.figures import plots
from brainsweep.figures.labels import unit_of
from brainsweep.fit.metrics import METRICS
from brainsweep.fit.stage import RESERVED_COLUMNS, read_empirical, usable_rows
from brainsweep.io import provenance, write_sidecar
from brainsweep.study.checked import CheckedSettings
from brainsweep.study.schema import section_defaults

__all__ = ["FIGURE_DEFAULTS", "figure_files", "run_stage", "swept_parameters",
           "validate_settings"]

# the schema's defaults (config/schema.yaml, figures:), the only place they are written
FIGURE_DEFAULTS: dict[str, Any] = section_defaults("figures")
_FORMATS = ("png", "pdf", "svg")
# all pairs of swept parameters is quadratic; past a few the figures stop being read
_MAX_AUTO_PAIRS = 6


def validate_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check ``figures:`` settings and fill in defaults.

    Keys: ``metric`` (the score to plot and to pick the best fit by; default ``fc_corr``),
    ``pairs`` (``[[x, y], ...]`` parameter pairs for heat maps, or null for every pair of
    swept parameters, at most six), ``others`` (what a landscape does with the swept
    parameters not on its axes: ``max``, the best score over them; ``best``, held at the
    best fit's values; or ``{name: value}``, held at those grid values), ``units``
    (``{parameter: unit}`` for the axis labels; the workflow fills in the model file's),
    ``dpi`` (int > 0) and ``format`` (png, pdf or svg).

    Raises
    ------
    InputError
        An unknown key or a bad value, naming ``figures.<key>``.
    """
    settings = {} if settings is None else settings
    if not isinstance(settings, Mapping):
        raise InputError(f"expected a mapping, got {type(settings).__name__}", field="figures")
    refuse_unknown_keys(settings, FIGURE_DEFAULTS, field="figures")
    out = {**FIGURE_DEFAULTS, **settings}
    if out["metric"] not in METRICS:
        raise InputError(
            f"expected one of {list(METRICS)}, got {out['metric']!r}", field="figures.metric"
        )
    pairs = out["pairs"]
    if pairs is not None:
        if (
            isinstance(pairs, str)
            or not isinstance(pairs, Sequence)
            or not all(
                isinstance(pair, Sequence)
                and not isinstance(pair, str)
                and len(pair) == 2
                and all(isinstance(name, str) for name in pair)
                and pair[0] != pair[1]
                for pair in pairs
            )
        ):
            raise InputError(
                f"expected a list of [x, y] pairs of parameter names, got {pairs!r}",
                field="figures.pairs",
            )
        out["pairs"] = [list(pair) for pair in pairs]
    others = out["others"]
    if isinstance(others, Mapping):
        for name, value in others.items():
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value):
                raise InputError(f"expected a finite number, got {value!r}",
                                 field=f"figures.others.{name}")
        out["others"] = {str(name): float(value) for name, value in others.items()}
    elif others not in ("max", "best"):
        raise InputError(f"expected max, best or {{parameter: value}}, got {others!r}",
                         field="figures.others")
    units = out["units"]
    if not isinstance(units, Mapping) or not all(
            isinstance(value, str) for value in units.values()):
        raise InputError(f"expected {{parameter: unit}} strings, got {units!r}",
                         field="figures.units")
    out["units"] = {str(name): value for name, value in units.items()}
    dpi = out["dpi"]
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi <= 0:
        raise InputError(f"expected a positive integer, got {dpi!r}", field="figures.dpi")
    if out["format"] not in _FORMATS:
        raise InputError(
            f"expected one of {list(_FORMATS)}, got {out['format']!r}", field="figures.format"
        )
    return out


def swept_parameters(names: Sequence[str], values: np.ndarray) -> list[str]:
    """The parameters, in order, that take more than one value over the rows ``values``."""
    table = np.asarray(values, dtype=float).reshape(-1, len(names))
    return [name for k, name in enumerate(names) if np.unique(table[:, k]).size > 1]


def _pairs(options: Mapping[str, Any], swept: Sequence[str]) -> list[list[str]]:
    if options["pairs"] is not None:
        return [list(pair) for pair in options["pairs"]]
    return [list(pair) for pair in itertools.combinations(swept, 2)][:_MAX_AUTO_PAIRS]


def figure_files(settings: Mapping[str, Any] | None, swept: Sequence[str], *,
                 fcd: bool) -> dict[str, list[str]]:
    """The file names :func:`run_stage` writes, by kind.

    ``landscapes``: ``heatmap_{metric}_{x}_{y}.{format}`` per pair (with one swept parameter
    and no pairs, ``profile_{metric}_{x}.{format}``); ``fc``: ``fc_comparison.{format}``;
    ``fcd``: ``fcd_distribution.{format}`` when both the simulations and the empirical data
    carry FCD values (``fcd``), else nothing.
    """
    options = validate_settings(settings)
    metric, ext = _safe(options["metric"]), options["format"]
    pairs = _pairs(options, swept)
    landscapes = [f"heatmap_{metric}_{_safe(x)}_{_safe(y)}.{ext}" for x, y in pairs]
    if not pairs and len(swept) == 1:
        landscapes = [f"profile_{metric}_{_safe(swept[0])}.{ext}"]
    return {"landscapes": landscapes, "fc": [f"fc_comparison.{ext}"],
            "fcd": [f"fcd_distribution.{ext}"] if fcd else []}


def _shard_paths(bold_dir_or_shards: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    if isinstance(bold_dir_or_shards, str | os.PathLike):
        where = Path(bold_dir_or_shards)
        if where.is_dir():
            paths = sorted(where.glob("shard-*.npz"))
            if not paths:
                raise InputError("no shard-*.npz files", source=os.fspath(where))
            return paths
        return [where]
    paths = [Path(item) for item in bold_dir_or_shards]
    if not paths:
        raise InputError("no bold shards given", field="bold_shards")
    return paths


def _swept(table: pd.DataFrame, source: str) -> list[str]:
    if "sim_index" not in table or "diverged" not in table:
        raise InputError("expected the columns sim_index and diverged", source=source)
    reserved = {*RESERVED_COLUMNS, *METRICS}
    names = [
        name
        for name in table.columns
        if name not in reserved and not str(name).startswith("fc_corr_")
        and not str(name).startswith("std_")
    ]
    return swept_parameters(names, table[names].to_numpy(dtype=float)) if names else []


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def _with_unit(name: str, value: float, units: Mapping[str, str]) -> str:
    """``speed = 12 m/s``: a parameter's value as a title shows it."""
    unit = unit_of(name, units)
    return f"{name} = {value:.3g}" + (f" {unit}" if unit not in ("", "dimensionless") else "")


def _held(options: Mapping[str, Any], x: str, y: str, swept: Sequence[str],
          best_row: pd.Series) -> dict[str, float] | None:
    """The other parameters of a landscape held fixed, or None for the best over them."""
    others = options["others"]
    if others == "max":
        return None
    if others == "best":
        return {name: float(best_row[name]) for name in swept if name not in (x, y)}
    return {name: value for name, value in others.items() if name not in (x, y)}


def run_stage(
    scores: str | os.PathLike,
    bold_dir_or_shards: str | os.PathLike | Sequence[str | os.PathLike],
    empirical: str | os.PathLike,
    settings: Mapping[str, Any] | None,
    out_dir: str | os.PathLike,
) -> list[Path]:
    """Draw a study's figures, each with a provenance sidecar.

    Writes the files :func:`figure_files` names: a score landscape per parameter pair
    (``heatmap_{metric}_{x}_{y}``; the other swept parameters maximised over or held fixed,
    see ``others`` in :func:`validate_settings`) or, with one swept parameter, its profile;
    ``fc_comparison``, the simulated FC at the best fit (by ``metric``) beside the empirical
    group FC; and, when both sides carry FCD values, ``fcd_distribution``, the best fit's FCD
    values against the empirical ones.

    Parameters
    ----------
    scores
        ``scores.csv`` from :func:`brainsweep.fit.run_stage`.
    bold_dir_or_shards
        The folder of bold shards (``shard-*.npz``) or their paths.
    empirical
        The empirical stage output.
    settings
        The ``figures:`` config (see :func:`validate_settings`).
    out_dir
        Output folder.

    Returns
    -------
    list of pathlib.Path
        The figures written (their sidecars beside them). Every input is checked before the
        first file is written.
    """
    options = validate_settings(settings)
    source = os.fspath(scores)
    table = plots.read_scores(scores)
    metric = options["metric"]
    if metric not in table:
        raise InputError(
            f"no column {metric!r}; found {list(table.columns)}",
            source=source,
            field="figures.metric",
        )
    swept = _swept(table, source)
    pairs = _pairs(options, swept)
    for x, y in pairs:
        for name in (x, y):
            if name not in table:
                raise InputError(
                    f"no parameter column {name!r}; swept: {swept}",
                    source=source,
                    field="figures.pairs",
                )
    if isinstance(options["others"], Mapping):
        unknown = sorted(set(options["others"]) - set(swept))
        if unknown:
            raise InputError(f"{unknown} are not swept parameters; swept: {swept}",
                             source=source, field=f"figures.others.{unknown[0]}")

    values = pd.to_numeric(table[metric], errors="coerce").where(usable_rows(table))
    if values.notna().sum() == 0:
        raise InputError(
            f"every simulation diverged, was flagged degenerate or scored NaN in {metric!r}",
            source=source, field=metric
        )
    best = values.idxmax() if METRICS[metric] else values.idxmin()
    best_index = int(table.loc[best, "sim_index"])
    sim_fc = sim_fcd = best_shard = None
    for path in _shard_paths(bold_dir_or_shards):
        data = read_bold_shard(path)
        hit = np.flatnonzero(data["sim_index"] == best_index)
        if hit.size:
            sim_fc = data["fc"][hit[0]]
            if "fcd_values" in data:
                sim_fcd = data["fcd_values"][hit[0]]
            best_shard = path
            break
    if sim_fc is None:
        raise InputError(
            f"the best simulation (sim_index {best_index}) is in no bold shard",
            source=os.fspath(bold_dir_or_shards)
            if isinstance(bold_dir_or_shards, str | os.PathLike)
            else None,
            field="sim_index",
        )
    emp = read_empirical(empirical)
    emp_fcd = emp.get("fcd_values")
    has_fcd = sim_fcd is not None and emp_fcd is not None and emp_fcd.size > 0
    landscapes = [_held(options, x, y, swept, table.loc[best]) for x, y in pairs]
    for held, (x, y) in zip(landscapes, pairs, strict=True):  # check before writing
        plots.best_grid(table, x, y, metric, fixed=held)
    shown = ", ".join(_with_unit(name, table.loc[best, name], options["units"])
                      for name in swept)
    title = (f"Best fit by {metric} = {values[best]:.3f}: simulation {best_index}"
             f"{', ' if shown else ''}{shown}")

    out = Path(out_dir)
    names = figure_files(options, swept, fcd=has_fcd)
    dpi = options["dpi"]
    best_record = {"sim_index": best_index, metric: float(values[best]),
                   **{name: float(table.loc[best, name]) for name in swept}}
    written: list[Path] = []

    def record(path: Path, kind: str, inputs: dict[str, Any], **extra: Any) -> None:
        write_sidecar(path, provenance(inputs=inputs, config=options, stage="figures",
                                       figure=kind, metric=metric, **extra))
        written.append(path)

    heatmaps = names["landscapes"] if pairs else []  # else the one profile, below
    for name, held, (x, y) in zip(heatmaps, landscapes, pairs, strict=True):
        path = plots.score_heatmap(table, x, y, metric, out / name, fixed=held,
                                   units=options["units"], dpi=dpi)
        record(path, "landscape", {"scores": scores}, axes=[x, y],
               others=held if held is not None else "max", best=best_record)
    if not pairs and names["landscapes"]:
        path = plots.score_profile(table, swept[0], metric, out / names["landscapes"][0],
                                   units=options["units"], dpi=dpi)
        record(path, "profile", {"scores": scores}, axes=[swept[0]], best=best_record)
    evidence = {"scores": scores, "bold": best_shard, "empirical": empirical}
    labels = [str(label) for label in emp["labels"]] if "labels" in emp else None
    path = plots.fc_comparison(sim_fc, emp["fc_group"], out / names["fc"][0], labels=labels,
                               title=title, dpi=dpi)
    record(path, "fc_comparison", evidence, best=best_record)
    if names["fcd"]:
        path = plots.fcd_distributions(sim_fcd, emp_fcd, out / names["fcd"][0],
                                       emp_offsets=emp.get("fcd_offsets"), title=title, dpi=dpi)
        record(path, "fcd_distribution", evidence, best=best_record)
    return written


class Settings(CheckedSettings):
    """The figures stage's settings: the ``figures:`` section."""

    @staticmethod
    def check(section):
        return validate_settings(section)


def run(settings: Settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]
        ) -> list[Path]:
    """The stage contract: scores, empirical, shards -> ``outputs["out_dir"]``."""
    return run_stage(inputs["scores"], inputs["shards"], inputs["empirical"],
                     settings.as_dict(), outputs["out_dir"])
