"""Region label files: one name per line, or TVB's centres format ``name x y z``."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from brainsweep.errors import InputError

__all__ = ["parse_labels", "read_labels"]

_SPLIT = re.compile(r"[\s,;]+")


def parse_labels(text: str, *, source: str | os.PathLike | None = None,
                 field: str = "labels") -> tuple[tuple[str, ...], np.ndarray | None]:
    """Labels (and centres, if every line is ``name x y z``) from the text of a labels file.

    A line that is not ``name x y z`` is one label as written (names may hold spaces), so a
    file mixing the two forms is read as plain names. Blank lines and ``#`` comments are
    skipped.
    """
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines:
        raise InputError("no labels found; expected one name per line", source=source,
                         field=field)
    rows = [_SPLIT.split(line) for line in lines]
    if all(len(row) == 4 and all(_is_number(v) for v in row[1:]) for row in rows):
        labels = tuple(row[0] for row in rows)
        centres = np.array([[float(v) for v in row[1:]] for row in rows])
        return labels, centres
    return tuple(lines), None


def read_labels(path: str | os.PathLike) -> tuple[tuple[str, ...], np.ndarray | None]:
    """Read a labels file; see :func:`parse_labels` for the accepted forms."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read labels file ({error})", source=os.fspath(path),
                         field="labels") from None
    return parse_labels(text, source=os.fspath(path))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
