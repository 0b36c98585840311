"""Checks on matrices and label lists, shared by every reader.

Each reader calls these where it first sees a value, with the file and the field (matrix key,
zip member, column) it came from, so that the error message alone says what to fix.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from brainsweep.errors import InputError

__all__ = ["check_labels", "check_matrix", "check_same_shape", "check_vector"]

Source = str | os.PathLike | None


def check_matrix(
    value: object,
    *,
    source: Source,
    field: str,
    stacked: bool = False,
    nonnegative: bool = True,
) -> np.ndarray:
    """Return ``value`` as a float64 square matrix, or raise :class:`InputError`.

    Parameters
    ----------
    value
        Anything :func:`numpy.asarray` accepts.
    source, field
        Where the value came from (named in errors).
    stacked
        Accept a stack of square matrices ``(S, N, N)`` instead of one ``(N, N)``.
    nonnegative
        Refuse negative entries (weights and lengths are never negative).

    Returns
    -------
    numpy.ndarray
        A new float64 array.
    """
    source = None if source is None else os.fspath(source)
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(f"not a numeric matrix ({error})", source=source, field=field) from None
    ndim = 3 if stacked else 2
    if array.ndim != ndim or array.shape[-1] != array.shape[-2]:
        expected = "a stack of square matrices (S, N, N)" if stacked else "a square (N, N) matrix"
        raise InputError(f"expected {expected}, got shape {array.shape}", source=source,
                         field=field)
    if array.shape[-1] < 2:
        raise InputError(f"expected at least 2 regions, got shape {array.shape}",
                         source=source, field=field)
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{int(bad.sum())} non-finite value(s) (NaN or inf), first at index {where}; "
            "expected finite numbers", source=source, field=field,
        )
    if nonnegative and (array < 0).any():
        where = tuple(int(i) for i in np.argwhere(array < 0)[0])
        raise InputError(
            f"{int((array < 0).sum())} negative value(s), first {array[where]:g} at index "
            f"{where}; expected values >= 0", source=source, field=field,
        )
    return array


def check_same_shape(a: np.ndarray, b: np.ndarray, *, source: Source, field: str,
                     what: str = "weights") -> None:
    """Raise :class:`InputError` unless ``b`` has the shape of ``a``."""
    if a.shape != b.shape:
        raise InputError(
            f"shape {b.shape} does not match the {what}' shape {a.shape}",
            source=None if source is None else os.fspath(source), field=field,
        )


def check_vector(value: object, n: int, *, source: Source, field: str,
                 positive: bool = False) -> np.ndarray:
    """Return ``value`` as a finite float64 vector of length ``n``, or raise."""
    source = None if source is None else os.fspath(source)
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(f"not numeric ({error})", source=source, field=field) from None
    if array.shape != (n,):
        raise InputError(f"expected {n} values (one per region), got shape {array.shape}",
                         source=source, field=field)
    if not np.isfinite(array).all():
        raise InputError("non-finite value(s) (NaN or inf); expected finite numbers",
                         source=source, field=field)
    if positive and (array <= 0).any():
        index = int(np.argmax(array <= 0))
        raise InputError(f"value {array[index]:g} at region {index}; expected values > 0",
                         source=source, field=field)
    return array


def check_labels(labels: Sequence[object], n: int, *, source: Source,
                 field: str = "labels") -> tuple[str, ...]:
    """Return ``labels`` as a tuple of ``n`` non-empty, unique strings, or raise."""
    source = None if source is None else os.fspath(source)
    out = tuple(str(label).strip() for label in labels)
    if len(out) != n:
        raise InputError(f"{len(out)} labels for a matrix of {n} regions; expected {n}",
                         source=source, field=field)
    if any(not label for label in out):
        raise InputError("empty label; expected one name per region", source=source,
                         field=field)
    seen: set[str] = set()
    for label in out:
        if label in seen:
            raise InputError(f"label {label!r} appears twice; expected unique names",
                             source=source, field=field)
        seen.add(label)
    return out
