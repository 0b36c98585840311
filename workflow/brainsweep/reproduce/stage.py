"""``brainsweep reproduce``: measure a published figure's numbers, then draw it.

Writes, in ``out_dir``: ``<study>.csv`` (one row per measurement, rewritten atomically after
every row so that an interrupted run keeps what it measured), ``machine.json`` (the machine
each panel ran on) and ``<study>.png``. With ``panels`` a subset of the figure's panels, the
rows of the other panels already in the CSV are kept (the tvb-hpc poster's panel c needs
several GPUs; a and b one). ``plot_only`` redraws the PNG from the CSV without running.
A row that failed on the device is kept with ``status: error`` and its message, and the run
ends with an error after writing everything, so a Snakemake target never passes silently.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from brainsweep.errors import BrainsweepError, InputError
from brainsweep.io import atomic_path, write_json
from brainsweep.reproduce.settings import ReproduceSettings, parse_settings

__all__ = ["Settings", "output_paths", "run", "run_stage"]

_FIRST_COLUMNS = ["panel", "model", "target", "n_sims", "n_steps", "run_s", "wall_s",
                  "sim_steps_per_s", "status"]


@dataclass(frozen=True)
class Settings:
    """A reproduce study's ``{study, reproduce}`` mapping, checked (``parse_settings``)."""

    mapping: Mapping[str, Any]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Settings:
        parse_settings(mapping)  # InputError naming the key, before anything runs
        return cls(dict(mapping))


def run(settings: Settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]
        ) -> dict[str, Path]:
    """The stage contract: ``inputs`` holds the options ``panels`` and ``plot_only``,
    ``outputs`` the folder ``out_dir``; prints and returns the paths written."""
    paths = run_stage(settings.mapping, outputs["out_dir"],
                      plot_only=bool(inputs.get("plot_only")), panels=inputs.get("panels"),
                      source=settings.mapping.get("_source"))
    for path in paths.values():
        print(path)
    return paths


def output_paths(study: str, out_dir: str | os.PathLike) -> dict[str, Path]:
    """The files a reproduce study writes."""
    folder = Path(out_dir)
    return {"csv": folder / f"{study}.csv", "png": folder / f"{study}.png",
            "machine": folder / "machine.json"}


def _write_rows(path: Path, kept: pd.DataFrame | None, rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(rows)
    if kept is not None and len(kept):
        frame = pd.concat([kept, frame], ignore_index=True)
    for column in ("n_sims", "n_steps", "diverged", "n_gpus", "sims_per_gpu"):
        if column in frame.columns:  # whole numbers stay whole beside empty cells
            frame[column] = pd.array(frame[column], dtype="Int64")
    order = [c for c in _FIRST_COLUMNS if c in frame.columns]
    frame = frame[order + [c for c in frame.columns if c not in order]]
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def run_stage(settings: Mapping[str, Any], out_dir: str | os.PathLike, *,
              plot_only: bool = False, panels: list[str] | None = None,
              source: str | None = None) -> dict[str, Path]:
    """Run (unless ``plot_only``) and plot one reproduce study; return the written paths.

    Parameters
    ----------
    settings
        ``{"study": name, "reproduce": {...}}`` (see ``config/schema.yaml``).
    panels
        Run only these panels (default: the study's ``reproduce.panels``, or all).
    """
    parsed = parse_settings(settings, source=source)
    if panels:
        parsed = parse_settings({**settings, "reproduce": {**settings["reproduce"],
                                                           "panels": list(panels)}},
                                source=source)
    paths = output_paths(parsed.study, out_dir)
    if not plot_only:
        _measure(parsed, paths)
    from brainsweep.reproduce.plots import plot_figure, read_rows

    rows = read_rows(paths["csv"])
    machine = json.loads(paths["machine"].read_text()) if paths["machine"].is_file() else {}
    plot_figure(rows, parsed, machine, paths["png"])
    failed = rows[rows["status"] == "error"]
    if len(failed):
        raise BrainsweepError(f"{len(failed)} measurement(s) failed (status 'error' in "
                              f"{paths['csv']}): {failed['note'].iloc[0]}")
    return paths


def _measure(parsed: ReproduceSettings, paths: dict[str, Path]) -> None:
    from brainsweep import connectome
    from brainsweep.reproduce.figures import MEASUREMENTS
    from brainsweep.reproduce.machine import machine_record

    if not Path(parsed.connectome).is_file():
        raise InputError("connectome file not found", source=parsed.source,
                         field="reproduce.connectome")
    conn = connectome.load(parsed.connectome)
    kept = None
    machine: dict[str, Any] = {"study": parsed.study, "figure": parsed.figure, "panels": {}}
    if set(parsed.panels) != set(parsed.all_panels) and paths["csv"].is_file():
        previous = pd.read_csv(paths["csv"])
        kept = previous[~previous["panel"].astype(str).isin(parsed.panels)]
        if paths["machine"].is_file():
            machine = json.loads(paths["machine"].read_text())
            machine["panels"] = {k: v for k, v in machine.get("panels", {}).items()
                                 if k not in parsed.panels}
    record = machine_record(parsed.target, parsed.device)
    record["settings"] = {"connectome": parsed.connectome, "dt": parsed.dt,
                          "integrator": parsed.integrator, "dtype": parsed.dtype,
                          "seed": parsed.seed, "n_steps": parsed.n_steps,
                          "speeds": parsed.speeds,
                          "models": [m.__dict__ for m in parsed.models]}
    for panel in parsed.panels:
        machine["panels"][panel] = record
    write_json(paths["machine"], machine)
    rows: list[dict[str, Any]] = []
    for row in MEASUREMENTS[parsed.figure](parsed, conn, parsed.panels):
        rows.append(row)
        _write_rows(paths["csv"], kept, rows)
    if not rows:
        _write_rows(paths["csv"], kept, rows)
