"""Figures of a sweep: score heat maps and profiles, FC at the best fit.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg canvas, never
through ``pyplot``: no global figure state, no GUI backend needed on a cluster node. Each file
is written atomically, so a failed figure leaves nothing behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from brainsweep.bold.connectivity import upper_triangle
from brainsweep.errors import InputError
from brainsweep.fit.metrics import METRICS
from brainsweep.io import atomic_path

__all__ = [
    "best_grid",
    "fc_comparison",
    "read_scores",
    "save_figure",
    "score_heatmap",
    "score_profile",
]

_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}


def read_scores(scores: str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    """A scores table from a DataFrame or a ``scores.csv`` path (a copy; the input is kept)."""
    if isinstance(scores, pd.DataFrame):
        return scores.copy()
    source = os.fspath(scores)
    if not Path(source).is_file():
        raise InputError("file not found", source=source)
    try:
        return pd.read_csv(source)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read as CSV: {error}", source=source) from error


def save_figure(figure: Figure, path: str | os.PathLike, *, dpi: int = 150) -> Path:
    """Write a figure atomically; the format follows the suffix (.png, .pdf, .svg)."""
    target = Path(path)
    fmt = _FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise InputError(f"expected a {sorted(_FORMATS)} file name", source=os.fspath(path))
    FigureCanvasAgg(figure)  # attaches the canvas savefig renders with
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format=fmt, dpi=dpi)
    return target


def _metric_values(table: pd.DataFrame, metric: str, columns: list[str], source: str) -> pd.Series:
    missing = [name for name in (*columns, metric) if name not in table]
    if missing:
        raise InputError(
            f"no column(s) {missing}; found {list(table.columns)}", source=source, field=missing[0]
        )
    values = pd.to_numeric(table[metric], errors="coerce")
    if "diverged" in table:
        values = values.where(~table["diverged"].astype(bool))
    if values.notna().sum() == 0:
        raise InputError(f"no finite values of {metric!r} to plot", source=source, field=metric)
    return values


def _higher_is_better(metric: str, higher_is_better: bool | None) -> bool:
    if higher_is_better is not None:
        return higher_is_better
    # per-subject correlations behave like fc_corr
    return METRICS.get(metric, metric.startswith("fc_corr"))


def best_grid(
    scores: str | os.PathLike | pd.DataFrame,
    x: str,
    y: str,
    metric: str,
    *,
    higher_is_better: bool | None = None,
) -> pd.DataFrame:
    """The best value of ``metric`` for each (``y``, ``x``) pair, over all other parameters.

    Returns a DataFrame indexed by the sorted ``y`` values with the sorted ``x`` values as
    columns; a cell where every simulation diverged is NaN.
    """
    source = scores if not isinstance(scores, pd.DataFrame) else "scores"
    table = read_scores(scores)
    if x == y:
        raise InputError(f"x and y are both {x!r}", source=os.fspath(source), field="y")
    values = _metric_values(table, metric, [x, y], os.fspath(source))
    frame = pd.DataFrame({x: table[x], y: table[y], metric: values})
    grouped = frame.groupby([y, x])[metric]
    best = grouped.max() if _higher_is_better(metric, higher_is_better) else grouped.min()
    return best.unstack(x).sort_index().sort_index(axis=1)


def _ticks(axis_values: np.ndarray, limit: int = 8) -> tuple[np.ndarray, list[str]]:
    step = max(1, int(np.ceil(len(axis_values) / limit)))
    positions = np.arange(0, len(axis_values), step)
    return positions, [f"{axis_values[i]:.3g}" for i in positions]


def score_heatmap(
    scores_csv_or_df: str | os.PathLike | pd.DataFrame,
    x: str,
    y: str,
    metric: str,
    path: str | os.PathLike,
    *,
    higher_is_better: bool | None = None,
    dpi: int = 150,
) -> Path:
    """Heat map of a metric over two swept parameters, the best cell marked.

    Each cell shows the best value of ``metric`` over every other swept parameter (the
    maximum for higher-is-better metrics, the minimum otherwise; see
    :data:`brainsweep.fit.METRICS`). Diverged simulations and NaN scores are left out; cells
    with nothing left are grey. The best cell gets a star.

    Parameters
    ----------
    scores_csv_or_df
        ``scores.csv`` written by :func:`brainsweep.fit.run_stage`, or its DataFrame.
    x, y
        Parameter columns for the horizontal and vertical axes.
    metric
        The column to show.
    path
        Output file (.png, .pdf or .svg), written atomically.
    higher_is_better
        Override the metric's direction.
    dpi
        Resolution of raster output.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    grid = best_grid(scores_csv_or_df, x, y, metric, higher_is_better=higher_is_better)
    higher = _higher_is_better(metric, higher_is_better)
    values = grid.to_numpy(dtype=float)
    flat_best = np.nanargmax(values) if higher else np.nanargmin(values)
    row, col = np.unravel_index(flat_best, values.shape)

    figure = Figure(figsize=(6.0, 4.8), layout="constrained")
    axes = figure.add_subplot()
    # grey for cells where nothing could be scored
    cmap = colormaps["viridis" if higher else "viridis_r"].with_extremes(bad="0.8")
    image = axes.imshow(
        np.ma.masked_invalid(values),
        origin="lower",
        aspect="auto",
        cmap=cmap,
        interpolation="nearest",
    )
    axes.plot(col, row, marker="*", markersize=16, color="white", markeredgecolor="black")
    x_values = grid.columns.to_numpy(dtype=float)
    y_values = grid.index.to_numpy(dtype=float)
    axes.set_xticks(*_ticks(x_values))
    axes.set_yticks(*_ticks(y_values))
    axes.set_xlabel(x)
    axes.set_ylabel(y)
    direction = "max" if higher else "min"
    axes.set_title(
        f"{metric} ({direction} over other parameters)\nbest {values[row, col]:.3g} "
        f"at {x}={x_values[col]:.3g}, {y}={y_values[row]:.3g}",
        fontsize=10,
    )
    figure.colorbar(image, ax=axes, label=metric)
    return save_figure(figure, path, dpi=dpi)


def score_profile(
    scores_csv_or_df: str | os.PathLike | pd.DataFrame,
    x: str,
    metric: str,
    path: str | os.PathLike,
    *,
    higher_is_better: bool | None = None,
    dpi: int = 150,
) -> Path:
    """Line plot of the best ``metric`` against one swept parameter, the best point marked."""
    source = scores_csv_or_df if not isinstance(scores_csv_or_df, pd.DataFrame) else "scores"
    table = read_scores(scores_csv_or_df)
    values = _metric_values(table, metric, [x], os.fspath(source))
    higher = _higher_is_better(metric, higher_is_better)
    grouped = pd.DataFrame({x: table[x], metric: values}).groupby(x)[metric]
    best = (grouped.max() if higher else grouped.min()).sort_index()
    figure = Figure(figsize=(6.0, 4.0), layout="constrained")
    axes = figure.add_subplot()
    axes.plot(best.index.to_numpy(float), best.to_numpy(float), marker="o", markersize=3)
    where = best.idxmax() if higher else best.idxmin()
    axes.plot(
        [where],
        [best[where]],
        marker="*",
        markersize=16,
        color="gold",
        markeredgecolor="black",
        linestyle="none",
    )
    axes.set_xlabel(x)
    axes.set_ylabel(metric)
    axes.set_title(f"best {metric} {best[where]:.3g} at {x}={where:.3g}", fontsize=10)
    return save_figure(figure, path, dpi=dpi)


def fc_comparison(
    sim_fc: np.ndarray,
    emp_fc: np.ndarray,
    path: str | os.PathLike,
    *,
    title: str | None = None,
    dpi: int = 150,
) -> Path:
    """Simulated and empirical FC side by side, plus a scatter of their upper triangles.

    Both matrices share one colour scale, [-1, 1]. The scatter's title gives the Pearson
    correlation of the upper triangles (``fc_corr``).

    Parameters
    ----------
    sim_fc, emp_fc
        ``[node, node]`` matrices of the same shape; the empirical one must be finite.
    path
        Output file (.png, .pdf or .svg), written atomically.
    title
        Figure title, e.g. the best parameters.
    """
    sim = np.asarray(sim_fc, dtype=float)
    emp = np.asarray(emp_fc, dtype=float)
    for name, matrix in (("sim_fc", sim), ("emp_fc", emp)):
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 3:
            raise InputError(
                f"expected a square matrix of 3 or more regions, got {matrix.shape}", field=name
            )
    if sim.shape != emp.shape:
        raise InputError(
            f"simulated {sim.shape} and empirical {emp.shape} FC differ in shape", field="sim_fc"
        )
    sim_upper, emp_upper = upper_triangle(sim), upper_triangle(emp)
    if not np.isfinite(emp_upper).all():
        raise InputError("empirical FC holds non-finite values", field="emp_fc")
    if not np.isfinite(sim_upper).any():
        raise InputError("simulated FC has no finite values", field="sim_fc")
    finite = np.isfinite(sim_upper)
    r = np.corrcoef(sim_upper[finite], emp_upper[finite])[0, 1] if finite.sum() > 2 else np.nan

    figure = Figure(figsize=(13.0, 4.2), layout="constrained")
    panels = figure.subplots(1, 3)
    for axes, matrix, label in ((panels[0], sim, "simulated FC"), (panels[1], emp, "empirical FC")):
        image = axes.imshow(
            np.ma.masked_invalid(matrix),
            cmap="RdBu_r",
            vmin=-1.0,
            vmax=1.0,
            interpolation="nearest",
        )
        axes.set_title(label)
        axes.set_xlabel("region")
        axes.set_ylabel("region")
    figure.colorbar(image, ax=panels[:2], label="Pearson r", shrink=0.9)
    panels[2].scatter(emp_upper[finite], sim_upper[finite], s=2, alpha=0.3, linewidths=0)
    panels[2].set_xlabel("empirical FC")
    panels[2].set_ylabel("simulated FC")
    panels[2].set_title(f"upper triangles, r = {r:.3f}")
    if title:
        figure.suptitle(title)
    return save_figure(figure, path, dpi=dpi)
