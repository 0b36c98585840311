"""An optimise study's jobs merged (``brainsweep optimise-summary``): ``history.csv`` (every
candidate), ``best.csv`` (per subject: the best candidate over restarts and the spread of the
restarts' bests) and two figures, convergence and the fitted parameters across subjects."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainsweep.errors import InputError
from brainsweep.io import atomic_path, provenance, write_sidecar
from brainsweep.optimise.settings import validate_settings
from brainsweep.study.checked import CheckedSettings

__all__ = ["Settings", "best_per_subject", "plot_convergence", "plot_parameters", "run",
           "run_summary", "selection_bias"]

_ORDER = ["subject", "restart", "generation", "candidate"]


def read_history(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    frames = []
    for path in paths:
        try:
            frame = pd.read_csv(path, dtype={"subject": str})
        except pd.errors.EmptyDataError:
            continue  # a job that got no subjects
        except OSError as error:
            raise InputError(f"cannot read: {error.strerror}", source=os.fspath(path)) from None
        missing = [c for c in [*_ORDER, "objective"] if c not in frame]
        if missing:
            raise InputError(f"missing column(s) {missing}", source=os.fspath(path),
                             field=missing[0])
        frames.append(frame)
    if not frames:
        raise InputError("no candidates in any job's history", field="jobs")
    return pd.concat(frames, ignore_index=True)


def selection_bias(means: Sequence[float], errors: Sequence[float], *, draws: int = 4000,
                   seed: int = 0) -> float:
    """How much the highest of several validated scores overstates its own point's value,
    by a parametric bootstrap: each score redrawn from a normal of its mean and standard
    error, the highest draw taken, minus its point's mean, averaged over ``draws``.

    The bootstrap treats the observed means as the true values. They are more spread out
    than the true values: a near tie (the case that inflates a maximum most) looks less
    tied than it is, and is underestimated (by about 30 % for a true tie of two or
    five); well separated candidates, whose bias is small, may be overestimated. NaN if a
    standard error is missing.
    """
    means = np.asarray(means, dtype=np.float64)
    errors = np.asarray(errors, dtype=np.float64)
    if means.size == 0 or not np.isfinite(errors).all() or not np.isfinite(means).all():
        return float("nan")
    sample = means + np.random.default_rng(seed).standard_normal((draws, means.size)) * errors
    chosen = sample.argmax(axis=1)
    return float(np.mean(sample[np.arange(draws), chosen] - means[chosen]))


def best_per_subject(history: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """One row per subject: the best candidate over all restarts (its parameters, objective
    and metrics), with the mean and standard deviation over restarts of each restart's best
    parameters and objective, and the simulations spent. With validation rows (``phase``)
    the best and each restart's best are those of the validation: ``objective`` is then the
    re-simulated score, ``search_objective`` the search's own, ``objective_se`` the
    validation's standard error and ``selection_bias`` an estimate of how much choosing the
    highest validated score still inflates it (:func:`selection_bias`; NaN when the
    validated candidates shared their noise realisations, ``optimise.common_noise``)."""
    rows = []
    for subject, frame in history.groupby("subject", sort=False):
        scored = frame[frame["objective"].notna()]
        row: dict[str, Any] = {"subject": subject,
                               "simulations": int((frame["seeds"]).sum())
                               if "seeds" in frame else len(frame)}
        if "phase" in frame:
            # with a validation, the best is chosen by the re-simulated (unbiased) scores
            # of each search's top candidates, not by the searches' own best draws
            validated = scored[scored["phase"] == "validate"]
            row["selected_by"] = "validation" if len(validated) else "search"
            if len(validated):
                scored = validated
        if scored.empty:
            rows.append({**row, "objective": np.nan})
            continue
        best = scored.loc[scored["objective"].idxmax()]
        row.update({"restart": int(best["restart"]), "generation": int(best["generation"]),
                    **{name: float(best[name]) for name in names},
                    "objective": float(best["objective"])})
        for column in ("search_objective", "objective_se"):
            if column in best and pd.notna(best[column]):
                row[column] = float(best[column])
        if row.get("selected_by") == "validation" and "objective_se" in scored:
            # the chosen score is the highest of the validated ones: still a little lucky.
            # The bootstrap takes the candidates' errors as independent; with common_noise
            # they share their realisations (one sim_index) and it cannot say: NaN
            shared = "sim_index" in scored and scored["sim_index"].duplicated().any()
            row["selection_bias"] = float("nan") if shared else selection_bias(
                scored["objective"], scored["objective_se"])
        for metric in ("fc_corr", "fc_rmse", "mean_fc_diff", "fcd_ks"):
            if metric in best:
                row[metric] = float(best[metric])
        per_restart = scored.loc[scored.groupby("restart")["objective"].idxmax()]
        row["restarts"] = len(per_restart)
        for column in [*names, "objective"]:
            values = per_restart[column].to_numpy(np.float64)
            row[f"{column}_restart_mean"] = float(values.mean())
            row[f"{column}_restart_sd"] = float(values.std(ddof=1)) if values.size > 1 else 0.0
        rows.append(row)
    return pd.DataFrame(rows)


def _best_so_far(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    if "phase" in frame:  # the validation re-simulates; it searches nothing
        frame = frame[frame["phase"] != "validate"]
    frame = frame.sort_values(["generation", "candidate"])
    spent = np.cumsum(frame["seeds"].to_numpy() if "seeds" in frame else np.ones(len(frame)))
    values = frame["objective"].to_numpy(np.float64)
    best = np.fmax.accumulate(np.where(np.isnan(values), -np.inf, values))
    return spent, np.where(np.isfinite(best), best, np.nan)


def plot_convergence(history: pd.DataFrame, path: str | os.PathLike, *, method: str,
                     dpi: int = 150) -> Path:
    """Best objective so far against simulations spent, one line per subject and restart."""
    from matplotlib.figure import Figure

    from brainsweep.figures.plots import save_figure

    figure = Figure(figsize=(6.0, 4.0), layout="constrained")
    axes = figure.add_subplot()
    subjects = list(dict.fromkeys(history["subject"]))
    colours = [f"C{k % 10}" for k in range(len(subjects))]
    for subject, colour in zip(subjects, colours, strict=True):
        mine = history[history["subject"] == subject]
        for restart, frame in mine.groupby("restart"):
            spent, best = _best_so_far(frame)
            axes.step(spent, best, where="post", color=colour, alpha=0.8,
                      label=subject if restart == mine["restart"].min() else None)
    axes.set_xlabel("simulations per subject and restart")
    axes.set_ylabel("best objective so far")
    axes.set_title(f"{method}: convergence ({len(subjects)} subject(s))", fontsize="medium")
    if len(subjects) <= 10:
        axes.legend(fontsize="small", title="subject")
    return save_figure(figure, path, dpi=dpi)


def plot_parameters(best: pd.DataFrame, names: Sequence[str],
                    bounds: Mapping[str, Mapping[str, float]], path: str | os.PathLike, *,
                    dpi: int = 150) -> Path:
    """Each fitted parameter across subjects (a point per subject, its restart spread as an
    error bar) within its bounds; with two or more parameters also the first two jointly."""
    from matplotlib.figure import Figure

    from brainsweep.figures.plots import save_figure

    joint = len(names) >= 2
    panels = len(names) + int(joint)
    figure = Figure(figsize=(3.2 * panels, 3.4), layout="constrained")
    axes = figure.subplots(1, panels, squeeze=False)[0]
    fitted = best[best["objective"].notna()]
    jitter = np.linspace(-0.15, 0.15, max(len(fitted), 1))
    for ax, name in zip(axes, names, strict=False):
        ax.errorbar(jitter[:len(fitted)], fitted[name], yerr=fitted[f"{name}_restart_sd"],
                    fmt="o", color="black", ecolor="grey", capsize=3)
        ax.set_ylim(bounds[name]["low"], bounds[name]["high"])
        if bounds[name]["log"]:
            ax.set_yscale("log")
        ax.set_xticks([])
        ax.set_xlim(-0.5, 0.5)
        ax.set_ylabel(name)
        ax.set_title(f"median {np.median(fitted[name]):.3g}" if len(fitted) else "none",
                     fontsize="small")
    if joint:
        ax = axes[-1]
        x, y = names[0], names[1]
        image = ax.scatter(fitted[x], fitted[y], c=fitted["objective"], cmap="viridis")
        figure.colorbar(image, ax=ax, label="objective")
        ax.set_xlim(bounds[x]["low"], bounds[x]["high"])
        ax.set_ylim(bounds[y]["low"], bounds[y]["high"])
        if bounds[x]["log"]:
            ax.set_xscale("log")
        if bounds[y]["log"]:
            ax.set_yscale("log")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
    figure.suptitle(f"fitted parameters across {len(fitted)} subject(s)", fontsize="medium")
    return save_figure(figure, path, dpi=dpi)


def run_summary(settings: Mapping[str, Any], jobs: Sequence[str | os.PathLike],
                out_dir: str | os.PathLike, convergence: str | os.PathLike,
                parameters: str | os.PathLike) -> Path:
    """Write ``history.csv`` and ``best.csv`` under ``out_dir`` and both figures, each with
    a provenance sidecar."""
    options = validate_settings(settings)
    names = list(options["parameters"])
    history = read_history(jobs)
    history = history.sort_values(_ORDER, kind="stable", ignore_index=True)
    best = best_per_subject(history, names)
    record = provenance(inputs={f"job-{k}": path for k, path in enumerate(jobs)},
                        config=options, stage="optimise-summary", method=options["method"],
                        simulations=int(history["seeds"].sum()))
    out = Path(out_dir)
    for name, table in (("history.csv", history), ("best.csv", best)):
        with atomic_path(out / name) as tmp:
            table.to_csv(tmp, index=False)
        write_sidecar(out / name, record)
    drawn = plot_convergence(history, convergence, method=options["method"])
    write_sidecar(drawn, {**record, "figure": "optimise_convergence"})
    drawn = plot_parameters(best, names, options["parameters"], parameters)
    write_sidecar(drawn, {**record, "figure": "optimise_parameters"})
    return out


class Settings(CheckedSettings):
    """The summary's settings: the ``optimise:`` section."""

    @staticmethod
    def check(section):
        return validate_settings(section)


def run(settings: Settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Path:
    return run_summary(settings.as_dict(), inputs["jobs"], outputs["out_dir"],
                       outputs["convergence"], outputs["parameters"])
