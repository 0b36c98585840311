"""Read The Virtual Brain's connectivity zip (``connectivity_76.zip`` and friends).

Members are found by base name whatever their folder and suffix: ``weights``,
``weights.txt``, ``weights.txt.bz2`` and ``connectivity_192/weights.txt`` are all the weights.
TVB stores weights with rows as targets, the convention brainsweep uses, so nothing is
transposed.
"""

from __future__ import annotations

import bz2
import io
import os
import zipfile
from pathlib import Path

import numpy as np

from brainsweep.errors import InputError

from .checks import check_matrix, check_same_shape, check_vector
from .labels import parse_labels
from .model import Connectome

__all__ = ["read_tvb_zip"]

REQUIRED = ("weights", "tract_lengths", "centres")
OPTIONAL = ("areas", "cortical", "hemispheres", "average_orientations")


def _member_key(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    for suffix in (".bz2", ".txt"):
        base = base.removesuffix(suffix)
    return base


def read_tvb_zip(path: str | os.PathLike) -> Connectome:
    """Read a TVB connectivity zip.

    Parameters
    ----------
    path
        A zip holding ``weights``, ``tract_lengths`` and ``centres`` (``label x y z``), and
        optionally ``areas``, ``cortical``, ``hemispheres`` and ``average_orientations``;
        each plain or ``.bz2``, with or without ``.txt``.

    Returns
    -------
    Connectome
        Labels from the centres' first column; the optional members in ``region_data``.

    Raises
    ------
    InputError
        The zip is unreadable, a required member is missing, or a member holds bad values.
    """
    path = Path(path)
    source = os.fspath(path)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise InputError(f"cannot read as a zip file ({error})", source=source) from None
    with archive:
        members: dict[str, str] = {}
        for name in archive.namelist():
            if not name.endswith("/"):
                members.setdefault(_member_key(name), name)
        for key in REQUIRED:
            if key not in members:
                raise InputError(
                    f"missing member {key!r} (as {key}, {key}.txt or {key}.txt.bz2); "
                    f"the zip holds {sorted(archive.namelist())}", source=source, field=key,
                )

        def text(key: str) -> str:
            name = members[key]
            try:
                raw = archive.read(name)
                if name.endswith(".bz2"):
                    raw = bz2.decompress(raw)
                return raw.decode("utf-8")
            except (OSError, ValueError, zipfile.BadZipFile) as error:
                raise InputError(f"cannot read member ({error})", source=source,
                                 field=name) from None

        def matrix(key: str) -> np.ndarray:
            try:
                values = np.loadtxt(io.StringIO(text(key)), dtype=np.float64, ndmin=2)
            except ValueError as error:
                raise InputError(f"not a numeric matrix ({error})", source=source,
                                 field=members[key]) from None
            return values

        weights = check_matrix(matrix("weights"), source=source, field=members["weights"])
        lengths = check_matrix(matrix("tract_lengths"), source=source,
                               field=members["tract_lengths"])
        check_same_shape(weights, lengths, source=source, field=members["tract_lengths"])
        n = weights.shape[0]
        labels, centres = parse_labels(text("centres"), source=source, field=members["centres"])
        if centres is None:
            raise InputError("expected lines 'label x y z'", source=source,
                             field=members["centres"])
        if len(labels) != n:
            raise InputError(f"{len(labels)} centres for {n} regions in the weights",
                             source=source, field=members["centres"])
        region_data: dict[str, np.ndarray] = {}
        for key in OPTIONAL:
            if key not in members:
                continue
            values = matrix(key)
            if key == "average_orientations":
                if values.shape != (n, 3) or not np.isfinite(values).all():
                    raise InputError(f"expected finite ({n}, 3) values, got {values.shape}",
                                     source=source, field=members[key])
            else:
                values = check_vector(values.ravel(), n, source=source, field=members[key])
                if key in ("cortical", "hemispheres"):
                    values = values.astype(bool)
            region_data[key] = values
    step = {"step": "load", "format": "tvb-zip", "path": source, "n_regions": n,
            "members": sorted(members[k] for k in (*REQUIRED, *region_data))}
    return Connectome(weights=weights, lengths=lengths, labels=labels, centres=centres,
                      steps=(step,), sources=(source,), region_data=region_data)
