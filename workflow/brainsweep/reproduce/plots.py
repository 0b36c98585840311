"""The reproduced figures, drawn from their CSV alone (and the machine record for captions).

Plotting never runs a simulation: the GPU machine writes the CSV, any machine redraws the
figure (``brainsweep reproduce --plot-only``). Rows whose ``status`` is not ``ok`` are left
out of the curves; rows with fewer steps than the figure's ``n_steps`` are drawn open and
labelled with their step count, never rescaled.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from brainsweep.errors import InputError
from brainsweep.figures.plots import save_figure
from brainsweep.reproduce.settings import ReproduceSettings

__all__ = ["machine_caption", "plot_figure", "read_rows"]

_GIB = 2**30


def read_rows(path: str | os.PathLike) -> pd.DataFrame:
    """A figure's CSV; InputError naming the file if it is missing or lacks columns."""
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise InputError("file not found: run `brainsweep reproduce` without --plot-only first",
                         source=source)
    try:
        rows = pd.read_csv(source)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read as CSV: {error}", source=source) from error
    missing = {"panel", "status", "n_sims"} - set(rows.columns)
    if missing:
        raise InputError(f"missing columns {sorted(missing)}", source=source)
    return rows


def machine_caption(machine: Mapping[str, Any], panel: str) -> str:
    """One line naming the machine a panel ran on."""
    record = (machine.get("panels") or {}).get(panel) or {}
    if not record:
        return "machine: not recorded"
    device = record.get("cuda_device")
    if record.get("target") == "cuda" and device:
        on_host = len(record.get("nvidia_smi") or []) or 1
        visible = (record.get("environment") or {}).get("CUDA_VISIBLE_DEVICES")
        used = len([g for g in visible.split(",") if g.strip()]) if visible else on_host
        driver = (record.get("nvidia_smi") or [{}])[0].get("driver_version", "?")
        memory = device["total_bytes"] / _GIB
        return (f"{used} of the host's {on_host} {device['name']} ({memory:.0f} GiB, "
                f"{device['multiprocessors']} SMs), driver {driver}, {record['date_utc'][:10]}")
    cores = record.get("cpu_cores_usable")
    threads = record.get("numba_threads")
    load = record.get("load_average")
    shared = f", load {load[0]:g} at the start (shared)" if load else ""
    return (f"{record.get('cpu', 'CPU')}, {cores} cores usable"
            f"{f', {threads} Numba threads' if threads else ''}{shared}, "
            f"host {record.get('host')}, {record.get('date_utc', '')[:10]}")


def _ok(rows: pd.DataFrame, panel: str) -> pd.DataFrame:
    return rows[(rows["panel"].astype(str) == panel) & (rows["status"] == "ok")]


def _series(axis, frame: pd.DataFrame, x: str, y: str, full_steps: int, label: str,
            scale: float = 1.0, annotate: bool = False) -> None:
    frame = frame.sort_values(x)
    line, = axis.plot(frame[x], frame[y] * scale, "-", lw=1, label=label)
    full = frame["n_steps"] == full_steps
    axis.plot(frame[x][full], frame[y][full] * scale, "o", color=line.get_color(), ms=4)
    axis.plot(frame[x][~full], frame[y][~full] * scale, "o", mfc="none",
              color=line.get_color(), ms=5)
    if annotate:
        for _, row in frame[~full].iterrows():
            axis.annotate(f"{int(row['n_steps']) / 1000:g}k", (row[x], row[y] * scale),
                          textcoords="offset points", xytext=(3, -9), fontsize=6,
                          color=line.get_color())


def _rateml_fig1(rows, settings: ReproduceSettings, machine) -> Figure:
    figure = Figure(figsize=(13, 4.2), layout="constrained")
    time_ax, rate_ax, memory_ax = figure.subplots(1, 3)
    data = _ok(rows, "a")
    for label, frame in data.groupby("model", sort=False):
        _series(time_ax, frame, "n_sims", "run_s", settings.n_steps, label, annotate=True)
        _series(rate_ax, frame, "n_sims", "sim_steps_per_s", settings.n_steps, label, 1e-6)
        frame = frame.sort_values("n_sims")
        line, = memory_ax.plot(frame["n_sims"], frame["planned_bytes"] / _GIB, "o-", ms=3,
                               lw=1, label=f"{label} (planned)")
        if frame["peak_used_bytes"].notna().any():
            memory_ax.plot(frame["n_sims"], frame["peak_used_bytes"] / _GIB, "x", ms=5,
                           color=line.get_color(), label=f"{label} (NVML peak)")
    totals = data["device_total_bytes"].dropna() if "device_total_bytes" in data else []
    if len(totals):
        memory_ax.axhline(float(totals.iloc[0]) / _GIB, color="k", ls=":", lw=1,
                          label="device memory")
    time_ax.set(xscale="log", yscale="log", xlabel="simulations (parameter-space size)",
                ylabel="run time of the steps run (s)")
    time_ax.set_title(f"run time: filled {settings.n_steps:,} steps; open: fewer (labelled)",
                      fontsize=9)
    rate_ax.set(xscale="log", yscale="log", xlabel="simulations",
                ylabel="model iterations (M sim-steps/s)")
    rate_ax.set_title("throughput", fontsize=9)
    memory_ax.set(xscale="log", yscale="log", xlabel="simulations", ylabel="GiB")
    memory_ax.set_title("device memory: planned allocations and NVML peak in use", fontsize=9)
    for axis in (time_ax, rate_ax, memory_ax):
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=6)
    refused = rows[rows["status"] == "refused"]
    extra = f"; planner refused {len(refused)} larger grid(s)" if len(refused) else ""
    figure.suptitle(f"RateML Fig. 1 reproduced: 68-region TVB connectome, dt {settings.dt} ms, "
                    f"{settings.integrator}, {settings.dtype}, {settings.target}\n"
                    f"{machine_caption(machine, 'a')}{extra}", fontsize=9)
    return figure


def _rateml_fig2(rows, settings: ReproduceSettings, machine) -> Figure:
    figure = Figure(figsize=(10, 4.2), layout="constrained")
    time_ax, rate_ax = figure.subplots(1, 2)
    data = _ok(rows, "a")
    for (label, steps), frame in data.groupby(["model", "n_steps"], sort=False):
        frame = frame.sort_values("n_sims")
        name = f"{label}, {int(steps):,} steps"
        time_ax.plot(frame["n_sims"], frame["run_s"], "o-", ms=4, lw=1, label=name)
        rate_ax.plot(frame["n_sims"], frame["sim_steps_per_s"] / 1e3, "o-", ms=4, lw=1,
                     label=name)
    time_ax.set(xscale="log", yscale="log", xlabel="parameter-space size (simulations)",
                ylabel="run time (s)", title="run time")
    rate_ax.set(xscale="log", xlabel="parameter-space size (simulations)",
                ylabel="k sim-steps/s", title="throughput")
    rate_ax.set_ylim(bottom=0)
    for axis in (time_ax, rate_ax):
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    figure.suptitle(f"RateML Fig. 2 reproduced: Numba CPU target, 68 nodes, delays at "
                    f"{settings.speeds[0]:g} m/s, dt {settings.dt} ms, noise\n"
                    f"{machine_caption(machine, 'a')}", fontsize=9)
    return figure


def _tvbhpc_fig2(rows, settings: ReproduceSettings, machine) -> Figure:
    figure = Figure(figsize=(13, 4.2), layout="constrained")
    time_ax, occupancy_ax, scaling_ax = figure.subplots(1, 3)
    timed = _ok(rows, "a")
    if len(timed):
        timed = timed.sort_values("n_sims")
        time_ax.plot(timed["n_sims"], timed["run_s"], "o-", ms=4, lw=1)
        time_ax.set_title(f"(a) {int(timed['n_steps'].iloc[0]):,} steps on one GPU",
                          fontsize=9)
    time_ax.set(xscale="log", yscale="log", xlabel="parallel simulations",
                ylabel="simulation time (s)")
    occupancy = _ok(rows, "b")
    if len(occupancy):
        occupancy = occupancy.sort_values("n_sims")
        occupancy_ax.plot(occupancy["n_sims"], occupancy["occupancy"] * 100, "o-", ms=4, lw=1,
                          label="resident warps / device warp slots")
        occupancy_ax.plot(occupancy["n_sims"], occupancy["theoretical"] * 100, ":", lw=1,
                          label="kernel's theoretical occupancy")
        occupancy_ax.legend(fontsize=6)
    occupancy_ax.set(xscale="log", xlabel="parallel simulations", ylabel="occupancy (%)")
    occupancy_ax.set_title("(b) occupancy, computed (CUDA occupancy calculation)", fontsize=9)
    scaling = _ok(rows, "c")
    if len(scaling):
        scaling = scaling.sort_values("n_gpus")
        rates = scaling["sim_steps_per_s"] / 1e6
        scaling_ax.plot(scaling["n_gpus"], rates, "o-", ms=5, lw=1, label="measured")
        one = scaling[scaling["n_gpus"] == 1]
        if len(one):
            ideal = float(one["sim_steps_per_s"].iloc[0]) / 1e6 * scaling["n_gpus"]
            scaling_ax.plot(scaling["n_gpus"], ideal, "k:", lw=1, label="linear")
        for _, row in scaling.iterrows():
            if pd.notna(row.get("speedup")):
                scaling_ax.annotate(f"{row['speedup']:.2f}x", (row["n_gpus"],
                                                               row["sim_steps_per_s"] / 1e6),
                                    textcoords="offset points", xytext=(4, -10), fontsize=7)
        scaling_ax.set_xticks(np.asarray(scaling["n_gpus"], dtype=int))
        scaling_ax.legend(fontsize=7)
    scaling_ax.set(xlabel="GPUs (one process and shard each)",
                   ylabel="aggregate M sim-steps/s")
    scaling_ax.set_title(f"(c) weak scaling, {settings.sims_per_gpu:,} sims/GPU, "
                         f"{settings.scaling_steps:,} steps", fontsize=9)
    for axis in (time_ax, occupancy_ax, scaling_ax):
        axis.grid(True, which="both", alpha=0.3)
    figure.suptitle(f"tvb-hpc poster Fig. 2 reproduced: Kuramoto, global coupling x speed, "
                    f"68-region TVB connectome, dt {settings.dt} ms, {settings.dtype}\n"
                    f"(a, b) {machine_caption(machine, 'a')}; "
                    f"(c) {machine_caption(machine, 'c')}", fontsize=9)
    return figure


_PLOTS = {"rateml-fig1": _rateml_fig1, "rateml-fig2": _rateml_fig2,
          "tvbhpc-fig2": _tvbhpc_fig2}


def plot_figure(rows: pd.DataFrame, settings: ReproduceSettings, machine: Mapping[str, Any],
                path: str | os.PathLike, *, dpi: int = 150):
    """Draw the figure of ``settings.figure`` from its rows and write it to ``path``."""
    figure = _PLOTS[settings.figure](rows, settings, machine)
    return save_figure(figure, path, dpi=dpi)
