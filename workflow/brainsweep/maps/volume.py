"""A volumetric map (NIfTI) parcellated by an atlas image into one mean per region.

The map is a 3-D NIfTI image (or 4-D with one volume); the atlas a NIfTI image on the same
voxel grid (same shape and affine: nothing is resampled) whose voxels hold whole-number
labels, 0 the background; the label table names each label. A region's value is the mean of
the map's finite voxels that carry its label (NaN or inf voxels, a masked map's outside, are
left out).

A label table is a text file (``.txt``, ``.tsv``, ``.csv``, a FreeSurfer ``*LUT.txt``), one
label a line, in either of two layouts:

* ``index name [anything else]``, split at tabs, commas or spaces (Schaefer-2018's
  ``*_order.txt`` with its colour columns, FreeSurfer colour tables); a first line whose
  first field is not a whole number is a header; label 0, the background, is skipped;
* one name a line (no index): the labels 1, 2, 3, ... in the order of the lines.

Blank lines and ``#`` comments are skipped. Every nonzero label of the atlas must be in the
table and every label of the table must have a voxel: either is an error naming the label,
the region and the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from brainsweep.errors import InputError

__all__ = ["parcellate", "read_label_table"]

AFFINE_TOLERANCE_MM = 1e-3  # two grids whose affines differ by less are the same grid


def read_label_table(path: str | os.PathLike, *, field: str) -> dict[int, str]:
    """``{label: region name}`` of an atlas's label table (background 0 left out)."""
    source = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the label table ({error})", source=source,
                         field=field) from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            rows.append((number, [part.strip() for part in re.split(r"[\t,]| +", stripped)
                                  if part.strip()]))
    if not rows:
        raise InputError("the label table names no label", source=source, field=field)
    indexed = len(rows[0][1]) >= 2 and _is_whole(rows[0][1][0])
    if not indexed and len(rows) > 1 and len(rows[1][1]) >= 2 and _is_whole(rows[1][1][0]):
        rows, indexed = rows[1:], True  # a header row above "index name ..." rows
    table: dict[int, str] = {}
    for order, (number, parts) in enumerate(rows, start=1):
        if indexed:
            if len(parts) < 2 or not _is_whole(parts[0]):
                raise InputError(f"line {number}: expected 'index name ...', got "
                                 f"{' '.join(parts)!r}", source=source, field=field)
            label, name = int(float(parts[0])), parts[1]
        else:
            if len(parts) != 1:
                raise InputError(f"line {number}: expected one region name a line (the "
                                 f"labels 1, 2, ... in order), got {' '.join(parts)!r}",
                                 source=source, field=field)
            label, name = order, parts[0]
        if label == 0:
            continue  # the background, whatever the table calls it
        if label < 0:
            raise InputError(f"line {number}: label {label} is negative", source=source,
                             field=field)
        if label in table:
            raise InputError(f"line {number}: label {label} is named twice ({table[label]!r} "
                             f"and {name!r})", source=source, field=field)
        table[label] = name
    names = list(table.values())
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InputError(f"region {twice[0]!r} has more than one label", source=source,
                         field=field)
    if not table:
        raise InputError("the label table names no label but the background",
                         source=source, field=field)
    return table


def parcellate(image: str | os.PathLike, atlas: str | os.PathLike,
               label_table: str | os.PathLike, *, field: str = "map",
               atlas_field: str | None = None,
               table_field: str | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """The mean of the map ``image`` over each labelled region of ``atlas``:
    ``(values (L,), region names (L,))`` in the label table's order of labels."""
    atlas_field = atlas_field or f"{field}.atlas"
    table_field = table_field or f"{field}.atlas_labels"
    image, atlas, label_table = Path(image), Path(atlas), Path(label_table)
    for path, where, what in ((atlas, atlas_field, "atlas image"),
                              (label_table, table_field, "label table")):
        if not path.is_file():
            raise InputError(f"{what} not found", source=os.fspath(path), field=where)
    table = read_label_table(label_table, field=table_field)
    map_image = _load_volume(image, field, "map")
    atlas_image = _load_volume(atlas, atlas_field, "atlas")
    data = _one_volume(np.asarray(map_image.get_fdata(dtype=np.float64)), image, field,
                       "map")
    labels = _one_volume(np.asanyarray(atlas_image.dataobj), atlas, atlas_field, "atlas")
    if data.shape != labels.shape:
        raise InputError(f"the map's voxel grid {data.shape} is not the atlas's "
                         f"{labels.shape} ({os.fspath(atlas)}); resample one onto the other "
                         f"first", source=os.fspath(image), field=field)
    offset = np.abs(np.asarray(map_image.affine) - np.asarray(atlas_image.affine)).max()
    if not offset < AFFINE_TOLERANCE_MM:
        raise InputError(f"the map and the atlas ({os.fspath(atlas)}) have the same shape but "
                         f"not the same voxel-to-world affine (largest difference "
                         f"{offset:.3g}); resample one onto the other first",
                         source=os.fspath(image), field=field)
    labels = _whole_labels(labels, atlas, atlas_field)
    present = np.unique(labels)
    unnamed = [int(value) for value in present if value != 0 and int(value) not in table]
    if unnamed:
        count = int(np.count_nonzero(labels == unnamed[0]))
        raise InputError(f"atlas label {unnamed[0]} ({count} voxels) is not in the label table "
                         f"{os.fspath(label_table)}"
                         f"{f' (and {len(unnamed) - 1} more labels)' if len(unnamed) > 1 else ''}",
                         source=os.fspath(atlas), field=atlas_field)
    absent = [label for label in table if label not in set(present.tolist())]
    if absent:
        raise InputError(f"label {absent[0]} ({table[absent[0]]!r}) of the label table "
                         f"{os.fspath(label_table)} has no voxel in the atlas"
                         f"{f' (and {len(absent) - 1} more)' if len(absent) > 1 else ''}",
                         source=os.fspath(atlas), field=atlas_field)
    order = np.array(sorted(table), dtype=np.int64)
    finite = np.isfinite(data) & (labels != 0)
    index = np.searchsorted(order, labels[finite])
    sums = np.bincount(index, weights=data[finite], minlength=order.size)
    counts = np.bincount(index, minlength=order.size)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        label = int(order[empty[0]])
        raise InputError(f"region {table[label]!r} (atlas label {label}) has no finite voxel "
                         f"in the map (all NaN or inf)", source=os.fspath(image), field=field)
    return sums / counts, tuple(table[int(label)] for label in order)


def _load_volume(path: Path, field: str, what: str):
    import nibabel

    try:
        image = nibabel.load(path)
    except Exception as error:  # nibabel raises several types for files it cannot read
        raise InputError(f"cannot read the {what} as NIfTI ({error})", source=os.fspath(path),
                         field=field) from None
    if not isinstance(image, nibabel.Nifti1Image | nibabel.Nifti2Image) or isinstance(
            image, nibabel.Cifti2Image):
        raise InputError(f"the {what} is not a volumetric NIfTI image "
                         f"({type(image).__name__})", source=os.fspath(path), field=field)
    return image


def _one_volume(data: np.ndarray, path: Path, field: str, what: str) -> np.ndarray:
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim == 4:
        raise InputError(f"the {what} holds {data.shape[3]} volumes; expected one",
                         source=os.fspath(path), field=field)
    if data.ndim != 3:
        raise InputError(f"the {what} is {data.ndim}-D (shape {data.shape}); expected a 3-D "
                         f"volume", source=os.fspath(path), field=field)
    return data


def _whole_labels(labels: np.ndarray, path: Path, field: str) -> np.ndarray:
    if labels.dtype.kind in "iub":
        return labels.astype(np.int64)
    values = np.asarray(labels, dtype=np.float64)
    bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        voxel = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(f"the atlas's voxels must hold whole-number labels; voxel {voxel} "
                         f"holds {values[voxel]!r}", source=os.fspath(path), field=field)
    return values.astype(np.int64)


def _is_whole(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return np.isfinite(value) and value == int(value)
