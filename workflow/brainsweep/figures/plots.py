"""Figures of a sweep: score heat maps and profiles, FC and FCD at the best fit.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg canvas, never
through ``pyplot``: no global figure state, no GUI backend needed on a cluster node. Each file
is written atomically, so a failed figure leaves nothing behind.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from brainsweep.bold.connectivity import upper_triangle
from brainsweep.errors import InputError
from brainsweep.figures.labels import axis_label, metric_label
from brainsweep.fit.metrics import METRICS, ks_statistic
from brainsweep.fit.points import spread_column
from brainsweep.io import atomic_path
from brainsweep.regions import hemisphere, hemisphere_order

__all__ = [
    "best_grid",
    "fc_comparison",
    "fcd_distributions",
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
    # diverged and degenerate points (brainsweep.fit.degenerate) are shown as empty cells
    for column in ("diverged", "degenerate"):
        if column in table:
            values = values.where(~table[column].astype(bool))
    if values.notna().sum() == 0:
        raise InputError(f"no finite values of {metric!r} to plot", source=source, field=metric)
    return values


def _higher_is_better(metric: str, higher_is_better: bool | None) -> bool:
    if higher_is_better is not None:
        return higher_is_better
    # per-subject correlations behave like fc_corr
    return METRICS.get(metric, metric.startswith("fc_corr"))


def _hold_fixed(table: pd.DataFrame, fixed: Mapping[str, float] | None, axes: list[str],
                source: str) -> pd.DataFrame:
    """The rows where every parameter of ``fixed`` has its given value."""
    if not fixed:
        return table
    for name, value in fixed.items():
        if name in axes:
            raise InputError(f"{name!r} is an axis of the figure; it cannot also be held "
                             "fixed", source=source, field=f"figures.others.{name}")
        if name not in table:
            raise InputError(f"no parameter column {name!r}", source=source,
                             field=f"figures.others.{name}")
        grid = np.unique(table[name].to_numpy(dtype=float))
        if not np.any(np.isclose(grid, float(value), rtol=1e-12, atol=0.0)):
            raise InputError(f"{name} = {value} is not on the grid {grid.tolist()}",
                             source=source, field=f"figures.others.{name}")
        table = table[np.isclose(table[name].to_numpy(dtype=float), float(value),
                                 rtol=1e-12, atol=0.0)]
    return table


def best_grid(
    scores: str | os.PathLike | pd.DataFrame,
    x: str,
    y: str,
    metric: str,
    *,
    higher_is_better: bool | None = None,
    fixed: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The best value of ``metric`` for each (``y``, ``x``) pair, over all other parameters.

    With ``fixed`` (parameter -> grid value) only the simulations at those values count: a
    slice through the grid instead of the best over it. Returns a DataFrame indexed by the
    sorted ``y`` values with the sorted ``x`` values as columns; a cell where every
    simulation diverged is NaN.
    """
    source = scores if not isinstance(scores, pd.DataFrame) else "scores"
    table = read_scores(scores)
    if x == y:
        raise InputError(f"x and y are both {x!r}", source=os.fspath(source), field="y")
    table = _hold_fixed(table, fixed, [x, y], os.fspath(source))
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
    fixed: Mapping[str, float] | None = None,
    units: Mapping[str, str] | None = None,
    dpi: int = 150,
) -> Path:
    """Heat map of a metric over two swept parameters, the best cell marked.

    Each cell shows the best value of ``metric`` over every other swept parameter (the
    maximum for higher-is-better metrics, the minimum otherwise; see
    :data:`brainsweep.fit.METRICS`), or, with ``fixed``, its value with the other
    parameters held at the given grid values. Diverged simulations, points flagged
    degenerate and NaN scores are left out; cells with nothing left are grey. The best cell
    gets a star.

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
    fixed
        Other parameters held at these grid values (default: the best over them).
    units
        Parameter units for the axis labels (see :func:`brainsweep.figures.labels.unit_of`).
    dpi
        Resolution of raster output.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    per_cell = _simulations_per_cell(scores_csv_or_df, x, y, fixed)
    grid = best_grid(scores_csv_or_df, x, y, metric, higher_is_better=higher_is_better,
                     fixed=fixed)
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
    axes.set_xlabel(axis_label(x, units))
    axes.set_ylabel(axis_label(y, units))
    # say how the other parameters were treated only where there are any: with two swept
    # parameters each cell is one simulation
    if fixed:
        others = "other parameters at " + ", ".join(
            f"{name} = {value:.3g}" for name, value in fixed.items())
    elif per_cell > 1:
        others = f"{'best' if higher else 'lowest'} of {per_cell} simulations per cell"
    else:
        others = "one simulation per cell"
    axes.set_title(
        f"{metric} over {x} x {y} ({others})\nbest {values[row, col]:.3g} "
        f"at {x} = {x_values[col]:.3g}, {y} = {y_values[row]:.3g}",
        fontsize=10,
    )
    figure.colorbar(image, ax=axes, label=metric_label(metric))
    handles = []
    if np.isnan(values).any():
        label = _grey_cells_label(scores_csv_or_df, x, y, fixed, grid)
        handles.append(Patch(facecolor="0.8", edgecolor="0.5", label=label))
    handles.append(axes.plot([], [], marker="*", markersize=12, color="white",
                             markeredgecolor="black", linestyle="none", label="best")[0])
    axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14),
                ncol=len(handles), fontsize="small", frameon=False)
    return save_figure(figure, path, dpi=dpi)


def _grey_cells_label(scores, x: str, y: str, fixed: Mapping[str, float] | None,
                      grid: pd.DataFrame) -> str:
    """What the grey (NaN) cells of ``grid`` hold: every simulation diverged; every one
    diverged or was flagged degenerate (left out of the choice); or some scored NaN."""
    source = scores if not isinstance(scores, pd.DataFrame) else "scores"
    table = _hold_fixed(read_scores(scores), fixed, [x, y], os.fspath(source))
    flags = {name: table[name].astype(bool) if name in table else pd.Series(False, table.index)
             for name in ("diverged", "degenerate")}
    table = table.assign(_diverged=flags["diverged"],
                         _excluded=flags["diverged"] | flags["degenerate"])
    cells = table.groupby([y, x])[["_diverged", "_excluded"]].all()
    missing = grid.stack(future_stack=True)
    missing = [key for key in missing[missing.isna()].index]
    if all(key in cells.index and cells.loc[key, "_diverged"] for key in missing):
        return "every simulation diverged"
    if all(key in cells.index and cells.loc[key, "_excluded"] for key in missing):
        return "degenerate or diverged (excluded)"
    return "diverged, degenerate or no finite score"


def _simulations_per_cell(scores: str | os.PathLike | pd.DataFrame, x: str, y: str,
                          fixed: Mapping[str, float] | None) -> int:
    """The most simulations one (x, y) cell of a landscape stands for."""
    source = scores if not isinstance(scores, pd.DataFrame) else "scores"
    table = _hold_fixed(read_scores(scores), fixed, [x, y], os.fspath(source))
    if x not in table or y not in table or table.empty:
        return 1
    return int(table.groupby([y, x]).size().max())


def score_profile(
    scores_csv_or_df: str | os.PathLike | pd.DataFrame,
    x: str,
    metric: str,
    path: str | os.PathLike,
    *,
    higher_is_better: bool | None = None,
    units: Mapping[str, str] | None = None,
    dpi: int = 150,
) -> Path:
    """Line plot of the best ``metric`` against one swept parameter, the best point marked.

    With the spread over noise realisations in the table (``std_<metric>``, one row per
    value of ``x``), each point gets an error bar of ± one standard deviation. Points
    flagged degenerate (:mod:`brainsweep.fit.degenerate`) are left out of the line and shown
    as open grey circles at the score they would have had.
    """
    source = scores_csv_or_df if not isinstance(scores_csv_or_df, pd.DataFrame) else "scores"
    table = read_scores(scores_csv_or_df)
    values = _metric_values(table, metric, [x], os.fspath(source))
    higher = _higher_is_better(metric, higher_is_better)
    grouped = pd.DataFrame({x: table[x], metric: values}).groupby(x)[metric]
    best = (grouped.max() if higher else grouped.min()).sort_index()
    figure = Figure(figsize=(6.0, 4.0), layout="constrained")
    axes = figure.add_subplot()
    spread = spread_column(metric)
    one_row_each = not table[x].duplicated().any()
    if spread in table and one_row_each and table[spread].notna().any():
        std = table.set_index(x)[spread].reindex(best.index)
        axes.errorbar(best.index.to_numpy(float), best.to_numpy(float),
                      yerr=std.to_numpy(float), marker="o", markersize=3, capsize=3,
                      label="mean ± s.d. over realisations")
    else:
        axes.plot(best.index.to_numpy(float), best.to_numpy(float), marker="o", markersize=3)
    if "degenerate" in table:
        flagged = table[table["degenerate"].astype(bool)]
        if len(flagged):
            axes.plot(flagged[x].to_numpy(float),
                      pd.to_numeric(flagged[metric], errors="coerce").to_numpy(float),
                      marker="o", markersize=6, linestyle="none", markerfacecolor="none",
                      color="0.5", label="degenerate (excluded)")
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
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8, loc="best")
    axes.set_xlabel(axis_label(x, units))
    axes.set_ylabel(metric_label(metric))
    axes.set_title(f"{metric} against {x}: best {best[where]:.3g} at {x} = {where:.3g}",
                   fontsize=10)
    return save_figure(figure, path, dpi=dpi)


def fc_comparison(
    sim_fc: np.ndarray,
    emp_fc: np.ndarray,
    path: str | os.PathLike,
    *,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    dpi: int = 150,
) -> Path:
    """Simulated and empirical FC side by side, plus a scatter of their upper triangles.

    Both matrices share one colour scale, [-1, 1]. With region ``labels`` the regions are
    drawn left hemisphere first, then right (:func:`brainsweep.regions.hemisphere_order`),
    the hemispheres divided by lines and the axes ticked with region names. The scatter has
    the identity line and, in its title, the Pearson correlation of the upper triangles
    (``fc_corr``, which the order does not change).

    Parameters
    ----------
    sim_fc, emp_fc
        ``[node, node]`` matrices of the same shape; the empirical one must be finite.
    path
        Output file (.png, .pdf or .svg), written atomically.
    labels
        One name per region, in the matrices' order (the empirical stage's ``labels``).
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
    if labels is not None and len(labels) != sim.shape[0]:
        raise InputError(f"{len(labels)} region labels for {sim.shape[0]} regions",
                         field="labels")
    sim_upper, emp_upper = upper_triangle(sim), upper_triangle(emp)
    if not np.isfinite(emp_upper).all():
        raise InputError("empirical FC holds non-finite values", field="emp_fc")
    if not np.isfinite(sim_upper).any():
        raise InputError("simulated FC has no finite values", field="sim_fc")
    finite = np.isfinite(sim_upper)
    r = np.corrcoef(sim_upper[finite], emp_upper[finite])[0, 1] if finite.sum() > 2 else np.nan

    names = [str(label) for label in labels] if labels is not None else None
    order = hemisphere_order(names) if names is not None else np.arange(sim.shape[0])
    figure = Figure(figsize=(15.0, 5.6), layout="constrained")
    panels = figure.subplots(1, 3, width_ratios=[1.0, 1.0, 0.9])
    for axes, matrix, label in ((panels[0], sim, "simulated FC"), (panels[1], emp, "empirical FC")):
        image = axes.imshow(
            np.ma.masked_invalid(matrix[np.ix_(order, order)]),
            cmap="RdBu_r",
            vmin=-1.0,
            vmax=1.0,
            interpolation="nearest",
        )
        axes.set_title(label)
        _region_axes(axes, names, order)
    figure.colorbar(image, ax=panels[:2], label="FC (Pearson r)", shrink=0.8)
    scatter = panels[2]
    scatter.scatter(emp_upper[finite], sim_upper[finite], s=3, alpha=0.3, linewidths=0,
                    label="region pairs")
    low = float(min(emp_upper.min(), np.nanmin(sim_upper), 0.0))
    high = float(max(emp_upper.max(), np.nanmax(sim_upper)))
    scatter.plot([low, high], [low, high], color="black", linewidth=1, linestyle="--",
                 label="identity (simulated = empirical)")
    scatter.set_aspect("equal", adjustable="datalim")
    scatter.set_xlabel("empirical FC (Pearson r)")
    scatter.set_ylabel("simulated FC (Pearson r)")
    scatter.set_title(f"{int(finite.sum())} region pairs, r = {r:.3f}")
    scatter.legend(fontsize="small", loc="upper left")
    if title:
        figure.suptitle(title)
    return save_figure(figure, path, dpi=dpi)


def _region_axes(axes, names: list[str] | None, order: np.ndarray) -> None:
    """Region names as ticks (every region up to 100, fewer beyond), hemisphere dividers."""
    if names is None:
        axes.set_xlabel("region (index)")
        axes.set_ylabel("region (index)")
        return
    n = len(names)
    step = max(1, int(np.ceil(n / 100)))
    positions = np.arange(0, n, step)
    shown = [names[order[i]] for i in positions]
    size = 3.0 if n > 60 else 5.0
    axes.set_xticks(positions, shown, rotation=90, fontsize=size)
    axes.set_yticks(positions, shown, fontsize=size)
    sides = [hemisphere(names[i]) for i in order]
    for boundary in range(1, n):
        if sides[boundary] != sides[boundary - 1]:
            for line in (axes.axhline, axes.axvline):
                line(boundary - 0.5, color="black", linewidth=0.8)
    known = [side for side in sides if side is not None]
    if known:
        axes.set_xlabel("region (left hemisphere, then right)")
    else:
        axes.set_xlabel("region")


def _finite_values(values: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0 or not np.isfinite(array).all():
        raise InputError(f"expected a non-empty set of finite FCD values, got {array.size} "
                         f"values with {int(np.sum(~np.isfinite(array)))} non-finite", field=name)
    return array


def fcd_distributions(
    sim_fcd: np.ndarray,
    emp_fcd: np.ndarray,
    path: str | os.PathLike,
    *,
    emp_offsets: np.ndarray | None = None,
    title: str | None = None,
    dpi: int = 150,
) -> Path:
    """FCD value distributions: the simulation at the best fit against the empirical data.

    Left, histograms (densities on common bins over [-1, 1]) of the simulated FCD values and
    of the empirical ones pooled over subjects; right, their empirical CDFs with each
    subject's own CDF in grey, and the Kolmogorov–Smirnov distance of the simulated values
    from the pooled empirical ones (the fit's ``fcd_ks``).

    Parameters
    ----------
    sim_fcd
        The simulation's FCD values (the strict upper triangle of its FCD matrix).
    emp_fcd
        Every subject's FCD values, concatenated (the empirical stage's ``fcd_values``).
    emp_offsets
        (S + 1,) offsets of each subject's values in ``emp_fcd`` (``fcd_offsets``).
    path
        Output file (.png, .pdf or .svg), written atomically.
    """
    sim = _finite_values(sim_fcd, "sim_fcd")
    emp = np.sort(_finite_values(emp_fcd, "emp_fcd"))
    offsets = None
    if emp_offsets is not None:
        offsets = np.asarray(emp_offsets, dtype=np.int64)
        if offsets.ndim != 1 or offsets[0] != 0 or offsets[-1] != emp.size \
                or np.any(np.diff(offsets) < 0):
            raise InputError(f"expected offsets from 0 to {emp.size}, got {offsets.tolist()}",
                             field="emp_offsets")
    ks = ks_statistic(sim, emp)

    figure = Figure(figsize=(11.0, 4.2), layout="constrained")
    hist, cdf = figure.subplots(1, 2)
    bins = np.linspace(-1.0, 1.0, 51)
    hist.hist(np.sort(emp), bins=bins, density=True, color="0.55", alpha=0.7,
              label=f"empirical ({emp.size} values)")
    hist.hist(sim, bins=bins, density=True, histtype="step", linewidth=2, color="tab:red",
              label=f"simulated, best fit ({sim.size} values)")
    hist.set_xlabel("FCD value (correlation between FC windows)")
    hist.set_ylabel("density")
    hist.legend(fontsize="small")
    if offsets is not None:
        for k in range(offsets.size - 1):
            part = np.sort(np.asarray(emp_fcd, dtype=float)[offsets[k]:offsets[k + 1]])
            if part.size:
                label = "each subject" if k == 0 else None
                cdf.step(part, np.arange(1, part.size + 1) / part.size, where="post",
                         color="0.7", linewidth=0.8, label=label)
    cdf.step(emp, np.arange(1, emp.size + 1) / emp.size, where="post", color="black",
             linewidth=1.5, label="empirical, pooled")
    ordered = np.sort(sim)
    cdf.step(ordered, np.arange(1, ordered.size + 1) / ordered.size, where="post",
             color="tab:red", linewidth=2, label="simulated, best fit")
    cdf.set_xlim(-1.0, 1.0)
    cdf.set_xlabel("FCD value")
    cdf.set_ylabel("cumulative fraction")
    cdf.set_title(f"Kolmogorov-Smirnov distance {ks:.3f}", fontsize=10)
    cdf.legend(fontsize="small", loc="upper left")
    if title:
        figure.suptitle(title)
    return save_figure(figure, path, dpi=dpi)
