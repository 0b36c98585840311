"""Reading and checking the shard files that pass between stages.

A simulation shard (``results/sims/{study}/shard-{i}.npz``, written by the simulate stage)
and a bold shard (``results/bold/{study}/shard-{i}.npz``, written here) share the parameter
rows; each reader checks every key and shape it relies on and names the file and key when one
is missing or wrong, so a bad shard fails at the stage that reads it.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from brainsweep.errors import InputError
from brainsweep.io import load_npz

__all__ = ["read_bold_shard", "read_sim_shard"]

_PARAM_KEYS = ("param_names", "param_values", "sim_index", "diverged")


def _load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    if not Path(path).is_file():
        raise InputError("file not found", source=os.fspath(path))
    try:
        return load_npz(path)
    except InputError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise InputError(f"cannot read as .npz: {error}", source=os.fspath(path)) from error


def _require(data: dict[str, np.ndarray], keys: tuple[str, ...], source: str) -> None:
    missing = [key for key in keys if key not in data]
    if missing:
        raise InputError(
            f"missing key(s) {missing}; found {sorted(data)}", source=source, field=missing[0]
        )


def _check_params(data: dict[str, np.ndarray], source: str) -> int:
    names = data["param_names"]
    values = data["param_values"]
    if names.ndim != 1 or names.dtype.kind not in "US":
        raise InputError(
            f"expected a 1-D string array, got {names.dtype} {names.shape}",
            source=source,
            field="param_names",
        )
    if values.ndim != 2 or values.shape[1] != names.shape[0]:
        raise InputError(
            f"expected shape (S, {names.shape[0]}), got {values.shape}",
            source=source,
            field="param_values",
        )
    n_sims = values.shape[0]
    for key in ("sim_index", "diverged"):
        if data[key].shape != (n_sims,):
            raise InputError(
                f"expected shape ({n_sims},), got {data[key].shape}", source=source, field=key
            )
    if data["sim_index"].dtype.kind not in "iu":
        raise InputError(
            f"expected integers, got {data['sim_index'].dtype}", source=source, field="sim_index"
        )
    if data["diverged"].dtype.kind != "b":
        raise InputError(
            f"expected booleans, got {data['diverged'].dtype}", source=source, field="diverged"
        )
    if len(set(names.tolist())) != names.shape[0]:
        raise InputError(
            f"repeated parameter names {names.tolist()}", source=source, field="param_names"
        )
    return n_sims


def read_sim_shard(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load and check a simulation shard.

    Returns
    -------
    dict
        ``param_names`` (P,) str, ``param_values`` (S, P) float64, ``sim_index`` (S,) int64,
        ``diverged`` (S,) bool, ``bold`` (S, T, N) as stored, ``bold_period_s`` float.
    """
    source = os.fspath(path)
    data = _load(path)
    _require(data, (*_PARAM_KEYS, "bold", "bold_period_s"), source)
    n_sims = _check_params(data, source)
    bold = data["bold"]
    if bold.ndim != 3 or bold.shape[0] != n_sims:
        raise InputError(
            f"expected shape ({n_sims}, time, node), got {bold.shape}", source=source, field="bold"
        )
    if bold.dtype.kind != "f":
        raise InputError(f"expected floats, got {bold.dtype}", source=source, field="bold")
    period = data["bold_period_s"]
    if period.size != 1 or not np.isfinite(period).all() or float(period.ravel()[0]) <= 0:
        raise InputError(
            f"expected one positive number of seconds, got {period!r}",
            source=source,
            field="bold_period_s",
        )
    data["bold_period_s"] = float(period.ravel()[0])
    data["param_values"] = data["param_values"].astype(np.float64, copy=False)
    data["sim_index"] = data["sim_index"].astype(np.int64, copy=False)
    return data


def read_bold_shard(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load and check a bold shard written by :func:`brainsweep.bold.run_stage`.

    Returns
    -------
    dict
        The parameter keys as in :func:`read_sim_shard`, ``fc`` (S, N, N), optionally
        ``fcd_values`` (S, M), ``bold_std`` and ``global_step`` (S,), plus ``tr`` and
        ``postprocess_json`` when present.
    """
    source = os.fspath(path)
    data = _load(path)
    _require(data, (*_PARAM_KEYS, "fc"), source)
    n_sims = _check_params(data, source)
    matrix = data["fc"]
    if matrix.ndim != 3 or matrix.shape[0] != n_sims or matrix.shape[1] != matrix.shape[2]:
        raise InputError(
            f"expected shape ({n_sims}, node, node), got {matrix.shape}", source=source, field="fc"
        )
    if "fcd_values" in data:
        values = data["fcd_values"]
        if values.ndim != 2 or values.shape[0] != n_sims:
            raise InputError(
                f"expected shape ({n_sims}, values), got {values.shape}",
                source=source,
                field="fcd_values",
            )
    for key in ("bold_std", "global_step"):
        if key in data and data[key].shape != (n_sims,):
            raise InputError(
                f"expected shape ({n_sims},), got {data[key].shape}", source=source, field=key
            )
    data["sim_index"] = data["sim_index"].astype(np.int64, copy=False)
    return data
