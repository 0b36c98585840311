"""Parameter recovery: plant a ground truth, fit it back, measure the error in grid steps.

A recovery study simulates one parameter set (the *truth*) with its own noise seed, treats the
FC of that simulation as empirical data and sweeps the study's grid with the study's seed. The
fit is a recovery when the best-scoring grid point lies within ``tolerance_steps`` grid steps
of the truth along every planted axis. The workflow pieces:

* ``recovery:`` in the config (:func:`validate_settings`): the truth, its seed, replicas;
* :func:`truth_settings`: the simulate stage's settings for the truth (a one-row table sweep,
  the truth's seed, one shard), written to ``results/truth/{study}.npz``
  (:func:`truth_path`) by the rule ``simulate_truth``;
* the empirical stage reads that shard with ``format: simulated``
  (:mod:`brainsweep.empirical`) and carries the truth in its output;
* :func:`run_stage` (``brainsweep recovery``, the rule ``evaluate_recovery``): ``scores.csv``
  + the empirical output → ``results/fit/{study}/recovery.json`` and a landscape figure with
  the truth marked, each with a provenance sidecar.

Example
-------
>>> import pandas as pd
>>> scores = pd.DataFrame({"sim_index": range(4), "global_coupling": [1, 1, 2, 2],
...                        "speed": [2, 4, 2, 4], "diverged": False,
...                        "fc_corr": [0.1, 0.2, 0.9, 0.3]})
>>> report = evaluate(scores, {"global_coupling": 2.0, "speed": 4.0}, metric="fc_corr")
>>> report["axes"]["speed"]["error_steps"], report["recovered"]
(1.0, True)
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainsweep.errors import InputError, refuse_unknown_keys
from brainsweep.study.checked import CheckedSettings
from brainsweep.study.schema import property_defaults

__all__ = [
    "RECOVERY_DEFAULTS",
    "Settings",
    "evaluate",
    "plot_landscape",
    "plot_profile",
    "run",
    "run_stage",
    "truth_path",
    "truth_settings",
    "validate_settings",
]

# every key of recovery:, with the schema's defaults (config/schema.yaml; truth, seed: none)
RECOVERY_DEFAULTS: dict[str, Any] = property_defaults("recovery")


def truth_path(study: str) -> str:
    """Where the workflow writes a study's truth simulation (a one-shard simulate output)."""
    return f"results/truth/{study}.npz"


def validate_settings(settings: Mapping[str, Any] | None,
                      sweep: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check the ``recovery:`` settings and fill in defaults.

    Keys: ``truth`` (parameter name -> value; every name must be a ``sweep`` axis, so that the
    error can be counted in grid steps), ``seed`` (the truth's noise seed, an integer that must
    differ from the sweep's ``simulation.seed``: checked by :func:`truth_settings`),
    ``replicas`` (simulations of the truth with independent noise; their FCs are the
    "subjects" of the empirical data, averaged into the group FC) and ``tolerance_steps``
    (grid steps within which the best fit counts as a recovery).

    Raises
    ------
    InputError
        An unknown key or a bad value, naming ``recovery.<key>``.
    """
    if not isinstance(settings, Mapping):
        raise InputError(f"expected a mapping, got {settings!r}", field="recovery")
    refuse_unknown_keys(settings, RECOVERY_DEFAULTS, field="recovery")
    out = {**RECOVERY_DEFAULTS, **settings}
    truth = out["truth"]
    if not isinstance(truth, Mapping) or not truth:
        raise InputError(f"expected {{parameter: value, ...}}, got {truth!r}",
                         field="recovery.truth")
    for name, value in truth.items():
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            raise InputError(f"expected a finite number, got {value!r}",
                             field=f"recovery.truth.{name}")
    if sweep is not None:
        axes = set(sweep.get("table", {})) if "table" in sweep else set(sweep)
        missing = sorted(set(truth) - axes)
        if missing:
            raise InputError(f"{missing} not swept; the truth must lie on swept axes "
                             f"{sorted(axes)} to be recovered", field="recovery.truth")
    seed = out["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise InputError(f"expected an integer in [0, 2**32), got {seed!r}",
                         field="recovery.seed")
    replicas = out["replicas"]
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise InputError(f"expected an integer >= 1, got {replicas!r}",
                         field="recovery.replicas")
    tolerance = out["tolerance_steps"]
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) \
            or not math.isfinite(tolerance) or tolerance < 0:
        raise InputError(f"expected a number >= 0, got {tolerance!r}",
                         field="recovery.tolerance_steps")
    out["truth"] = {str(name): float(value) for name, value in truth.items()}
    out["tolerance_steps"] = float(tolerance)
    return out


def truth_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The simulate stage's settings that simulate a study's truth.

    The study's model, coupling, integration, monitors and simulation sections, with the sweep
    replaced by a table of ``replicas`` identical rows at the truth, the truth's own seed and
    one shard. Replicas differ by their simulation index, which keys the noise with the seed.

    Raises
    ------
    InputError
        No ``recovery:`` section, bad settings, or a truth seed equal to the sweep's seed (the
        truth would then share its noise with the grid simulations of the same index).
    """
    if "recovery" not in config:
        raise InputError("the study has no recovery section", field="recovery")
    options = validate_settings(config["recovery"], config.get("sweep"))
    simulation = dict(config.get("simulation") or {})
    if options["seed"] == int(simulation.get("seed", 0)):
        raise InputError(f"the truth's seed ({options['seed']}) must differ from "
                         "simulation.seed, or the truth shares the grid's noise",
                         field="recovery.seed")
    from brainsweep.study.settings import SECTIONS

    settings = {key: copy.deepcopy(config[key]) for key in SECTIONS
                if key in config and key not in ("sweep", "shards", "simulation")}
    simulation["seed"] = options["seed"]
    # the truth's noise realisations are its replicas; the grid's realisations do not apply
    simulation.pop("realisations", None)
    settings["simulation"] = simulation
    settings["sweep"] = {"table": {name: [value] * options["replicas"]
                                   for name, value in options["truth"].items()}}
    settings["shards"] = {"count": 1}
    return settings


def _axis_position(axis: np.ndarray, value: float) -> float:
    """Fractional index of ``value`` on a sorted grid axis (linear between grid points)."""
    return float(np.interp(value, axis, np.arange(axis.size)))


def evaluate(scores: pd.DataFrame, truth: Mapping[str, float], *, metric: str,
             tolerance_steps: float = 1.0) -> dict[str, Any]:
    """Compare the best fit of a sweep with the planted truth.

    Parameters
    ----------
    scores
        The fit stage's table (one row per simulation: parameters, ``diverged``, metrics).
    truth
        Planted parameter values; each must be a column of ``scores``.
    metric
        The score that picks the best fit (see :data:`brainsweep.fit.METRICS`).
    tolerance_steps
        Largest error, in grid steps per axis, that counts as a recovery.

    Returns
    -------
    dict
        ``best`` (the best row's parameters and score), ``truth``, ``recovered`` (every axis
        within tolerance), and per axis in ``axes``: the grid values, the truth's fractional
        grid position, the best fit's index, ``error_steps``, ``error`` (best − truth), the
        profile of the metric along the axis (the best score over the other axes at each
        value) and its range, and the slice through the truth (the other axes held at the
        grid point nearest the truth) and its range. ``landscape`` holds the score at the
        grid point nearest the truth, its rank (1 = best), the number of scored simulations,
        and the spread of the metric over the grid.
    """
    from brainsweep.fit.metrics import METRICS
    from brainsweep.fit.stage import usable_rows

    if metric not in METRICS or metric not in scores:
        raise InputError(f"no metric column {metric!r}; found {list(scores.columns)}",
                         field="recovery.metric")
    higher = METRICS[metric]
    # the best fit of best.json: neither diverged nor degenerate (brainsweep.fit.degenerate)
    usable = usable_rows(scores)
    values = pd.to_numeric(scores[metric], errors="coerce").where(usable)
    if values.notna().sum() == 0:
        raise InputError(f"every point diverged, was flagged degenerate or scored NaN in "
                         f"{metric!r}",
                         field=metric)
    best_index = values.idxmax() if higher else values.idxmin()
    names = list(truth)
    missing = [name for name in names if name not in scores]
    if missing:
        raise InputError(f"truth parameter(s) {missing} are not columns of the scores",
                         field="recovery.truth")

    nearest = pd.Series(True, index=scores.index)
    axes: dict[str, Any] = {}
    for name in names:
        axis = np.unique(scores[name].to_numpy(dtype=np.float64))
        position = _axis_position(axis, truth[name])
        inside = bool(axis[0] <= truth[name] <= axis[-1])
        nearest &= scores[name] == axis[int(round(position))]
        best_value = float(scores.loc[best_index, name])
        best_position = int(np.flatnonzero(axis == best_value)[0])
        axes[name] = {
            "grid": axis.tolist(),
            "truth": float(truth[name]),
            "truth_position": position,
            "truth_inside_grid": inside,
            "best": best_value,
            "best_position": best_position,
            "error": best_value - float(truth[name]),
            "error_steps": abs(best_position - position) if inside else math.inf,
        }

    def reduce(frame: pd.Series) -> float:
        frame = frame.dropna()
        if frame.empty:
            return math.nan
        return float(frame.max() if higher else frame.min())

    for name in names:
        profile = values.groupby(scores[name]).agg(reduce)
        others = [other for other in names if other != name]
        mask = pd.Series(True, index=scores.index)
        for other in others:
            grid = np.asarray(axes[other]["grid"])
            mask &= scores[other] == grid[int(round(axes[other]["truth_position"]))]
        slice_ = values.where(mask).groupby(scores[name]).agg(reduce)
        axes[name]["profile"] = [_finite(item) for item in profile.reindex(axes[name]["grid"])]
        axes[name]["profile_range"] = _finite(np.nanmax(profile) - np.nanmin(profile))
        axes[name]["slice_through_truth"] = [
            _finite(item) for item in slice_.reindex(axes[name]["grid"])]
        axes[name]["slice_range"] = _finite(np.nanmax(slice_) - np.nanmin(slice_)) \
            if slice_.notna().any() else None

    at_truth = values.where(nearest).dropna()
    truth_score = float(at_truth.iloc[0]) if not at_truth.empty else None
    ranked = values.dropna().sort_values(ascending=not higher)
    rank = None
    if truth_score is not None:
        rank = int((ranked > truth_score).sum() + 1) if higher \
            else int((ranked < truth_score).sum() + 1)
    replicas = [column for column in scores.columns if str(column).startswith("fc_corr_")]
    best_row = scores.loc[best_index]
    return {
        "metric": metric,
        "higher_is_better": higher,
        "tolerance_steps": float(tolerance_steps),
        "truth": {name: float(value) for name, value in truth.items()},
        "best": {**{name: float(best_row[name]) for name in names},
                 "sim_index": int(best_row["sim_index"]) if "sim_index" in scores else None,
                 metric: float(values[best_index])},
        "recovered": all(axes[name]["error_steps"] <= tolerance_steps for name in names),
        "axes": axes,
        "landscape": {
            "n_scored": int(values.notna().sum()),
            "n_diverged": int(scores["diverged"].astype(bool).sum()) if "diverged" in scores
            else 0,
            "n_degenerate": int(scores["degenerate"].astype(bool).sum()) if "degenerate" in scores
            else 0,
            "best_score": float(values[best_index]),
            "score_at_truth": truth_score,
            "rank_of_truth": rank,
            "score_min": float(values.min()),
            "score_max": float(values.max()),
            "score_median": float(values.median()),
            # per truth replica: the fc_corr of the best fit with each replica's own FC
            "best_fc_corr_per_replica": {
                column.removeprefix("fc_corr_"): _finite(best_row[column])
                for column in replicas},
        },
    }


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def plot_landscape(scores: pd.DataFrame, report: Mapping[str, Any], x: str, y: str,
                   path: str | os.PathLike, *, dpi: int = 150) -> Path:
    """Heat map of the metric over two planted axes, truth (star) and best fit (circle) marked.

    Cells are grid indices (a log-spaced axis shows evenly); diverged cells are blank.
    """
    from matplotlib.figure import Figure

    from brainsweep.figures.plots import save_figure
    from brainsweep.fit.stage import usable_rows

    metric = report["metric"]
    usable = usable_rows(scores)
    table = scores.assign(_score=pd.to_numeric(scores[metric], errors="coerce").where(usable))
    grid = table.pivot_table(index=y, columns=x, values="_score",
                             aggfunc="max" if report["higher_is_better"] else "min")
    xs, ys = report["axes"][x]["grid"], report["axes"][y]["grid"]
    grid = grid.reindex(index=ys, columns=xs)
    figure = Figure(figsize=(5.4, 4.4), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
    figure.colorbar(image, ax=axes, label=metric)
    axes.set_xticks(range(len(xs)), [f"{value:.3g}" for value in xs])
    axes.set_yticks(range(len(ys)), [f"{value:.3g}" for value in ys])
    axes.set_xlabel(x)
    axes.set_ylabel(y)
    truth = report["axes"]
    axes.plot(truth[x]["truth_position"], truth[y]["truth_position"], marker="*",
              markersize=16, color="white", markeredgecolor="black", linestyle="none",
              label="truth")
    axes.plot(truth[x]["best_position"], truth[y]["best_position"], marker="o",
              markersize=11, markerfacecolor="none", markeredgecolor="red",
              markeredgewidth=2, linestyle="none", label="best fit")
    axes.legend(loc="upper left", fontsize="small", framealpha=0.8)
    steps = ", ".join(f"{name} {truth[name]['error_steps']:.3g}" for name in (x, y))
    axes.set_title(f"recovery: error in grid steps {steps}", fontsize="medium")
    return save_figure(figure, path, dpi=dpi)


def run_stage(scores: str | os.PathLike, empirical: str | os.PathLike,
              settings: Mapping[str, Any], out: str | os.PathLike, *,
              metric: str = "fc_corr", figure: str | os.PathLike | None = None) -> Path:
    """Write a study's recovery report (and landscape figure).

    Parameters
    ----------
    scores
        ``scores.csv`` of the fit stage.
    empirical
        The empirical stage output built from the truth shard (``format: simulated``); the
        truth is read from it (``truth_names``/``truth_values``), so the report states what
        was simulated, not what the config asked for. The values must agree with
        ``settings["truth"]``.
    settings
        The ``recovery:`` config (see :func:`validate_settings`).
    out
        ``recovery.json`` (written atomically with a provenance sidecar).
    metric
        The score that picks the best fit (the study's ``fit.metric``).
    figure
        Also draw :func:`plot_landscape` of the first two truth axes here (with one planted
        axis, :func:`plot_profile`), with its own provenance sidecar.
    """
    from brainsweep.figures.plots import read_scores
    from brainsweep.io import load_npz, provenance, write_json, write_sidecar

    options = validate_settings(settings)
    data = load_npz(empirical)
    if "truth_names" not in data:
        raise InputError("no planted truth (truth_names): build the empirical data from the "
                         "truth shard with format: simulated", source=os.fspath(empirical))
    simulated = {str(name): data["truth_values"][:, k]
                 for k, name in enumerate(data["truth_names"])}
    truth = {}
    for name, value in options["truth"].items():
        if name not in simulated:
            raise InputError(f"the truth shard has no parameter {name!r}",
                             source=os.fspath(empirical), field=f"recovery.truth.{name}")
        planted = simulated[name]
        if not np.allclose(planted, value, rtol=1e-12, atol=0):
            raise InputError(f"the truth shard holds {name} = {planted.tolist()}, the config "
                             f"{value}: rebuild it", source=os.fspath(empirical),
                             field=f"recovery.truth.{name}")
        truth[name] = float(planted[0])
    table = read_scores(scores)
    report = evaluate(table, truth, metric=metric, tolerance_steps=options["tolerance_steps"])
    report["seed"] = options["seed"]
    report["replicas"] = int(data["fc_subjects"].shape[0])
    record = provenance(inputs={"scores": scores, "empirical": empirical}, config=options,
                        stage="recovery", metric=metric)
    path = Path(out)
    write_json(path, report)
    write_sidecar(path, record)
    names = list(truth)
    if figure is not None and len(names) >= 2:
        drawn = plot_landscape(table, report, names[-1], names[0], figure)
    elif figure is not None:
        drawn = plot_profile(report, names[0], figure)
    if figure is not None:
        write_sidecar(drawn, {**record, "figure": "recovery_landscape",
                              "recovered": report["recovered"], "best": report["best"]})
    return path


def plot_profile(report: Mapping[str, Any], name: str, path: str | os.PathLike, *,
                 dpi: int = 150) -> Path:
    """The metric's profile along one planted axis, truth and best fit marked."""
    from matplotlib.figure import Figure

    from brainsweep.figures.plots import save_figure

    axis = report["axes"][name]
    figure = Figure(figsize=(5.0, 3.6), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(axis["grid"]))
    profile = np.array([np.nan if item is None else item for item in axis["profile"]])
    axes.plot(positions, profile, marker="o", color="black")
    axes.axvline(axis["truth_position"], color="tab:blue", linestyle="--", label="truth")
    axes.axvline(axis["best_position"], color="tab:red", linestyle=":", label="best fit")
    axes.set_xticks(positions, [f"{value:.3g}" for value in axis["grid"]])
    axes.set_xlabel(name)
    axes.set_ylabel(report["metric"])
    axes.legend(fontsize="small")
    axes.set_title(f"recovery: error {axis['error_steps']:.3g} grid steps", fontsize="medium")
    return save_figure(figure, path, dpi=dpi)


class Settings(CheckedSettings):
    """The recovery stage's settings: the ``recovery:`` section (truth, seed, replicas,
    tolerance_steps)."""

    @staticmethod
    def check(section):
        return validate_settings(section)


def run(settings: Settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]):
    """The stage contract: scores, empirical (and the ``metric`` option) -> ``out`` and the
    optional ``figure``."""
    return run_stage(inputs["scores"], inputs["empirical"], settings.as_dict(),
                     outputs["out"], metric=inputs.get("metric") or "fc_corr",
                     figure=outputs.get("figure"))
