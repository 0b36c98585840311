"""The netCDF stage (``brainsweep netcdf``): one output of a study → its netCDF-4 twin.

The input's kind is read from the file: a ``.csv`` is one of the fit stage's tables, an
``.npz`` holding ``bold`` a simulation shard, one holding ``fc`` a bold shard. Each is read
through the reader the stages themselves use, so a malformed file is refused naming the file
and the key, and nothing is written.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from brainsweep.bold.shards import read_bold_shard, read_sim_shard
from brainsweep.errors import InputError
from brainsweep.export.datasets import bold_dataset, sim_dataset, table_dataset
from brainsweep.export.writing import write_netcdf
from brainsweep.io import provenance, sidecar_path, write_sidecar
from brainsweep.study.checked import CheckedSettings

__all__ = ["Settings", "export", "run"]


def _check(section: Mapping[str, Any] | None) -> dict[str, Any]:
    section = dict(section or {})
    unknown = sorted(set(section) - {"units"})
    if unknown:
        raise InputError(f"unknown key(s) {unknown}; known: ['units']", field=unknown[0])
    units = section.get("units") or {}
    if not isinstance(units, Mapping) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in units.items()):
        raise InputError(f"expected {{parameter: unit}} of strings, got {units!r}",
                         field="units")
    return {"units": dict(units)}


class Settings(CheckedSettings):
    """``{units: {parameter: unit}}``: the swept parameters' units (the workflow passes the
    study's, :meth:`brainsweep.study.Study.parameter_units`)."""

    @staticmethod
    def check(section):
        return _check(section)


def _npz_keys(source: str | os.PathLike) -> list[str]:
    """The arrays an ``.npz`` holds, read from its index (the arrays are read once, later)."""
    try:
        with zipfile.ZipFile(source) as archive:
            return [name.removesuffix(".npy") for name in archive.namelist()]
    except (OSError, zipfile.BadZipFile) as error:
        raise InputError(f"not a complete .npz archive ({error})", source=os.fspath(source)
                         ) from None


def _dataset(source: str | os.PathLike, units: Mapping[str, str]):
    where = os.fspath(source)
    if not Path(source).is_file():
        raise InputError("file not found", source=where)
    if Path(source).suffix == ".csv":
        try:
            table = pd.read_csv(source)
        except (OSError, ValueError, pd.errors.ParserError) as error:
            raise InputError(f"cannot read as CSV: {error}", source=where) from None
        return table_dataset(table, source=where, units=units), "table"
    keys = _npz_keys(source)
    if "bold" in keys:
        return sim_dataset(read_sim_shard(source), source=where, units=units), "simulate"
    if "fc" in keys:
        return bold_dataset(read_bold_shard(source), source=where, units=units), "bold"
    raise InputError(f"neither a simulation shard (key 'bold') nor a bold shard (key 'fc'); "
                     f"found {sorted(keys)}", source=where)


def export(source: str | os.PathLike, out: str | os.PathLike,
           units: Mapping[str, str] | None = None) -> Path:
    """Write ``source`` (a shard ``.npz`` or a fit table ``.csv``) as netCDF-4 at ``out``,
    with a provenance sidecar."""
    dataset, kind = _dataset(source, units or {})
    path = write_netcdf(dataset, out)
    write_sidecar(path, provenance(inputs={"source": source}, config={"units": units or {}},
                                   stage="netcdf", kind=kind, dims=dict(dataset.sizes),
                                   **_simulated_by(source)))
    return path


def _simulated_by(source: str | os.PathLike) -> dict[str, Any]:
    """How the source was simulated (seed, target, device), from its own sidecar: the netCDF
    file's provenance then says so without a second look-up."""
    try:
        record = json.loads(sidecar_path(source).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict):
        return {}
    return {key: record[key] for key in ("seed", "target", "device", "n_steps")
            if key in record}


def run(settings: Settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Path:
    """The stage contract: ``inputs["source"]`` -> ``outputs["out"]``."""
    return export(inputs["source"], outputs["out"], settings["units"])
