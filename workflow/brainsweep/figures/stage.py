"""The figures stage: heat maps of the scores and the FC at the best fit."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainsweep.bold.shards import read_bold_shard
from brainsweep.errors import InputError
from brainsweep.figures import plots
from brainsweep.fit.metrics import METRICS
from brainsweep.fit.stage import read_empirical

__all__ = ["FIGURE_DEFAULTS", "run_stage", "validate_settings"]

FIGURE_DEFAULTS: dict[str, Any] = {"metric": "fc_corr", "pairs": None, "dpi": 150, "format": "png"}
_FORMATS = ("png", "pdf", "svg")
# all pairs of swept parameters is quadratic; past a few the figures stop being read
_MAX_AUTO_PAIRS = 6


def validate_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check ``figures:`` settings and fill in defaults.

    Keys: ``metric`` (the score to plot and to pick the best fit by; default ``fc_corr``),
    ``pairs`` (``[[x, y], ...]`` parameter pairs for heat maps, or null for every pair of
    swept parameters, at most six), ``dpi`` (int > 0) and ``format`` (png, pdf or svg).

    Raises
    ------
    InputError
        An unknown key or a bad value, naming ``figures.<key>``.
    """
    settings = {} if settings is None else settings
    if not isinstance(settings, Mapping):
        raise InputError(f"expected a mapping, got {type(settings).__name__}", field="figures")
    unknown = sorted(set(settings) - set(FIGURE_DEFAULTS))
    if unknown:
        raise InputError(
            f"unknown key(s) {unknown}; known: {sorted(FIGURE_DEFAULTS)}",
            field=f"figures.{unknown[0]}",
        )
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
    dpi = out["dpi"]
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi <= 0:
        raise InputError(f"expected a positive integer, got {dpi!r}", field="figures.dpi")
    if out["format"] not in _FORMATS:
        raise InputError(
            f"expected one of {list(_FORMATS)}, got {out['format']!r}", field="figures.format"
        )
    return out


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
    reserved = {"sim_index", "diverged", *METRICS}
    names = [
        name
        for name in table.columns
        if name not in reserved and not str(name).startswith("fc_corr_")
    ]
    return [name for name in names if table[name].nunique(dropna=True) > 1]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def run_stage(
    scores: str | os.PathLike,
    bold_dir_or_shards: str | os.PathLike | Sequence[str | os.PathLike],
    empirical: str | os.PathLike,
    settings: Mapping[str, Any] | None,
    out_dir: str | os.PathLike,
) -> list[Path]:
    """Draw a study's figures.

    Writes ``heatmap_{metric}_{x}_{y}.{format}`` for each parameter pair (with one swept
    parameter, ``profile_{metric}_{x}.{format}`` instead) and ``fc_comparison.{format}``, the
    simulated FC at the best fit (by ``metric``) beside the empirical group FC.

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
        The files written. Every input is checked before the first file is written.
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
    pairs = options["pairs"]
    if pairs is None:
        pairs = [list(pair) for pair in itertools.combinations(swept, 2)][:_MAX_AUTO_PAIRS]
    for x, y in pairs:
        for name in (x, y):
            if name not in table:
                raise InputError(
                    f"no parameter column {name!r}; swept: {swept}",
                    source=source,
                    field="figures.pairs",
                )

    values = pd.to_numeric(table[metric], errors="coerce").where(~table["diverged"].astype(bool))
    if values.notna().sum() == 0:
        raise InputError(
            f"every simulation diverged or scored NaN in {metric!r}", source=source, field=metric
        )
    best = values.idxmax() if METRICS[metric] else values.idxmin()
    best_index = int(table.loc[best, "sim_index"])
    sim_fc = None
    for path in _shard_paths(bold_dir_or_shards):
        data = read_bold_shard(path)
        hit = np.flatnonzero(data["sim_index"] == best_index)
        if hit.size:
            sim_fc = data["fc"][hit[0]]
            break
    if sim_fc is None:
        raise InputError(
            f"the best simulation (sim_index {best_index}) is in no bold shard",
            source=os.fspath(bold_dir_or_shards)
            if isinstance(bold_dir_or_shards, str | os.PathLike)
            else None,
            field="sim_index",
        )
    emp_fc = read_empirical(empirical)["fc_group"]
    shown = ", ".join(f"{name}={table.loc[best, name]:.3g}" for name in swept)
    title = f"best {metric} = {values[best]:.3f} (sim {best_index}{', ' if shown else ''}{shown})"

    out = Path(out_dir)
    ext = options["format"]
    dpi = options["dpi"]
    written: list[Path] = []
    for x, y in pairs:
        target = out / f"heatmap_{_safe(metric)}_{_safe(x)}_{_safe(y)}.{ext}"
        written.append(plots.score_heatmap(table, x, y, metric, target, dpi=dpi))
    if not pairs and len(swept) == 1:
        target = out / f"profile_{_safe(metric)}_{_safe(swept[0])}.{ext}"
        written.append(plots.score_profile(table, swept[0], metric, target, dpi=dpi))
    written.append(
        plots.fc_comparison(sim_fc, emp_fc, out / f"fc_comparison.{ext}", title=title, dpi=dpi)
    )
    return written
