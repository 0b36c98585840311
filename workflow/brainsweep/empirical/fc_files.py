"""Empirical FC given as matrices (``format: fc``): group FCs computed elsewhere, such as
HCP-YA's 706-subject train and 303-subject test groups of ``resources/hcp-schaefer100``.

The study's FC target is ``source``; each ``held_out`` matrix is kept beside it as one more
"subject", so the fit stage scores every simulation on it too (``fc_corr_<name>`` in
``scores.csv``) without fitting to it. An FCD given as values (``fcd``) is the target's FCD
distribution; matrices are read as they are, with no post-processing, since their BOLD is
not here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from brainsweep.errors import InputError

__all__ = ["FcMatrices", "load_fc_matrices", "read_array"]


@dataclass(frozen=True)
class FcMatrices:
    """The target FC, the held-out FCs (one per name) and the target's FCD values."""

    names: tuple[str, ...]  # the target's name first, then the held-out names
    fc: np.ndarray  # (G, N, N): the target, then every held-out FC
    fcd_values: np.ndarray  # (K,) the target's FCD values, empty when not given
    files: dict[str, Path]


def read_array(path: str | os.PathLike, *, field: str) -> np.ndarray:
    """A float64 array from ``.npy``, a one-array ``.npz``, ``.csv``/``.tsv``/``.txt``."""
    path = Path(path)
    source = os.fspath(path)
    if not path.is_file():
        raise InputError("file not found", source=source, field=field)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            values = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                if len(data.files) != 1:
                    raise InputError(f"expected one array, the file holds {sorted(data.files)}",
                                     source=source, field=field)
                values = data[data.files[0]]
        elif suffix in (".csv", ".tsv", ".txt"):
            values = np.loadtxt(path, delimiter={".csv": ",", ".tsv": "\t"}.get(suffix))
        else:
            raise InputError(f"unknown file type {suffix!r}; expected .npy, .npz, .csv, .tsv "
                             f"or .txt", source=source, field=field)
    except InputError:
        raise
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read a numeric array ({error})", source=source,
                         field=field) from None
    return np.asarray(values, dtype=np.float64)


def _fc_matrix(path: str | os.PathLike, field: str) -> np.ndarray:
    fc = read_array(path, field=field)
    source = os.fspath(path)
    if fc.ndim != 2 or fc.shape[0] != fc.shape[1]:
        raise InputError(f"an FC must be a square (N, N) matrix, got {fc.shape}",
                         source=source, field=field)
    if not np.all(np.isfinite(fc)):
        raise InputError(f"the FC holds {int(np.sum(~np.isfinite(fc)))} NaN or inf entries "
                         f"(a matrix with excluded pairs cannot be a target)",
                         source=source, field=field)
    if not np.allclose(fc, fc.T, atol=1e-8) or np.any(np.abs(fc) > 1.0 + 1e-8):
        raise InputError("an FC must be symmetric with correlations in [-1, 1]",
                         source=source, field=field)
    return fc


def load_fc_matrices(source: str | os.PathLike, *, held_out: Mapping[str, str],
                     fcd: str | None, name: str) -> FcMatrices:
    """Read the target FC ``source``, the ``held_out`` FCs and the target's FCD values."""
    matrices = [_fc_matrix(source, "empirical.source")]
    files = {"fc:" + name: Path(source)}
    for held, path in held_out.items():
        fc = _fc_matrix(path, f"empirical.held_out.{held}")
        if fc.shape != matrices[0].shape:
            raise InputError(f"held-out FC {fc.shape} does not match the target's "
                             f"{matrices[0].shape}", source=os.fspath(path),
                             field=f"empirical.held_out.{held}")
        matrices.append(fc)
        files[f"fc:{held}"] = Path(path)
    values = np.zeros(0)
    if fcd is not None:
        values = read_array(fcd, field="empirical.fcd").reshape(-1)
        if values.size == 0 or not np.all(np.isfinite(values)):
            raise InputError("the FCD values must be finite and not empty", source=fcd,
                             field="empirical.fcd")
        files["fcd"] = Path(fcd)
    return FcMatrices(names=(name, *held_out), fc=np.stack(matrices), fcd_values=values,
                      files=files)
