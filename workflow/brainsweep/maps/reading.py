"""Reading a cortical map keyed by region label, in the connectome's region order.

A map file is one of

* ``.txt`` / ``.npy`` / one-column ``.csv``: one value a region, in the order of a labels file
  given beside it (``labels``), else in the connectome's own order (then it must have exactly
  as many values as the connectome has regions);
* two-column ``.csv`` / ``.tsv`` (``label,value``): keyed by label, in any order;
* a parcellated CIFTI (``.pscalar.nii``, read with nibabel): keyed by its parcel names;
* a volumetric NIfTI (``.nii``, ``.nii.gz``) with an atlas image on the same voxel grid and
  the atlas's label table (``atlas``, ``atlas_labels``): the mean over each atlas region,
  keyed by the table's names (:mod:`brainsweep.maps.volume`).

Every region of the connectome must have a value and every labelled value a region: a missing
or an extra region is an error naming it (and the file).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from brainsweep.errors import InputError

__all__ = ["Atlas", "read_groups", "read_map", "read_region_labels", "zscore"]


def read_region_labels(path: str | os.PathLike, *, field: str) -> tuple[str, ...]:
    """Region names, one a line (blank lines and ``#`` comments skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the labels file ({error})", source=os.fspath(path),
                         field=field) from None
    names = tuple(line.strip() for line in text.splitlines()
                  if line.strip() and not line.strip().startswith("#"))
    if len(set(names)) != len(names):
        raise InputError("the labels file names a region twice", source=os.fspath(path),
                         field=field)
    return names


def _values_and_keys(path: Path, field: str, atlas: Atlas | None
                     ) -> tuple[np.ndarray, tuple[str, ...] | None, str]:
    """The file's values, their region labels where the file (or its atlas) names them,
    and the file that names them when it is not the map itself ("" otherwise)."""
    source = os.fspath(path)
    name = path.name.lower()
    try:
        if name.endswith(".nii") or name.endswith(".nii.gz"):
            return _read_nifti(path, field, atlas)
        if name.endswith(".npy"):
            return np.asarray(np.load(path, allow_pickle=False), dtype=np.float64), None, ""
        if name.endswith((".csv", ".tsv")):
            delimiter = "," if name.endswith(".csv") else "\t"
            rows = [line.split(delimiter) for line in path.read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
            if rows and all(len(row) == 2 for row in rows):
                if not _is_number(rows[0][1]):
                    rows = rows[1:]  # a header row
                return (np.array([float(row[1]) for row in rows]),
                        tuple(row[0].strip() for row in rows), "")
            return np.array([float(row[0]) for row in rows]), None, ""
        return np.loadtxt(path, dtype=np.float64, ndmin=1), None, ""
    except InputError:
        raise
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read a map ({error})", source=source, field=field) from None


@dataclass(frozen=True)
class Atlas:
    """The parcellation of volumetric maps: a label image and its label table, with the
    config keys they came from (for error messages)."""

    image: str | os.PathLike
    labels: str | os.PathLike
    image_field: str = "atlas"
    labels_field: str = "atlas_labels"


def _read_nifti(path: Path, field: str, atlas: Atlas | None
                ) -> tuple[np.ndarray, tuple[str, ...], str]:
    import nibabel

    try:
        image = nibabel.load(path)
    except Exception as error:  # nibabel raises several types for files it cannot read
        raise InputError(f"cannot read the map as NIfTI or CIFTI ({error})",
                         source=os.fspath(path), field=field) from None
    header = getattr(image, "header", None)
    if getattr(header, "get_axis", None) is None:  # not a CIFTI: a volume to parcellate
        if atlas is None:
            raise InputError("a volumetric NIfTI map needs an atlas image and its label "
                             "table (atlas, atlas_labels) to be parcellated into regions",
                             source=os.fspath(path), field=field)
        from brainsweep.maps.volume import parcellate

        values, names = parcellate(path, atlas.image, atlas.labels, field=field,
                                   atlas_field=atlas.image_field,
                                   table_field=atlas.labels_field)
        return values, names, os.fspath(atlas.labels)
    parcels = header.get_axis(1)
    if not isinstance(parcels, nibabel.cifti2.ParcelsAxis):
        raise InputError("the CIFTI's columns are not parcels (expected a .pscalar.nii)",
                         source=os.fspath(path), field=field)
    data = np.asarray(image.get_fdata(), dtype=np.float64)
    if data.shape[0] != 1:
        raise InputError(f"expected one map, the CIFTI holds {data.shape[0]}",
                         source=os.fspath(path), field=field)
    return data[0], tuple(str(name) for name in parcels.name), ""


def read_map(path: str | os.PathLike, regions: Sequence[str], *,
             labels: str | os.PathLike | None = None, field: str = "map",
             atlas: Atlas | None = None) -> np.ndarray:
    """The (N,) values of the map ``path`` for the connectome's ``regions``, in their order.

    ``labels``: the labels file naming the regions of a plain list of values; ``atlas``: the
    label image and table that parcellate a volumetric NIfTI map.
    """
    path = Path(path)
    source = os.fspath(path)
    if not path.is_file():
        raise InputError("map file not found", source=source, field=field)
    values, keys, named_in = _values_and_keys(path, field, atlas)
    named_by = f" (regions named by {named_in})" if named_in else ""
    if values.ndim != 1:
        raise InputError(f"a map is one value a region, got shape {values.shape}",
                         source=source, field=field)
    if keys is None and labels is not None:
        keys = read_region_labels(labels, field=f"{field}.labels")
        if len(keys) != values.size:
            raise InputError(f"{values.size} values for the {len(keys)} regions of "
                             f"{os.fspath(labels)}", source=source, field=field)
    if keys is None:
        if values.size != len(regions):
            raise InputError(f"{values.size} values for a connectome of {len(regions)} "
                             f"regions; give the map's labels file", source=source,
                             field=field)
        ordered = values
    else:
        by_label = dict(zip(keys, values, strict=True))
        missing = [name for name in regions if name not in by_label]
        extra = [name for name in keys if name not in set(regions)]
        if missing:
            raise InputError(f"no value for region {missing[0]!r} of the connectome"
                             f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}"
                             f"{named_by}", source=source, field=field)
        if extra:
            raise InputError(f"region {extra[0]!r} is not in the connectome"
                             f"{f' (and {len(extra) - 1} more)' if len(extra) > 1 else ''}"
                             f"{named_by}", source=source, field=field)
        ordered = np.array([by_label[name] for name in regions])
    if not np.all(np.isfinite(ordered)):
        raise InputError("the map holds NaN or inf", source=source, field=field)
    return ordered


def read_groups(path: str | os.PathLike, regions: Sequence[str], *,
                labels: str | os.PathLike | None = None, field: str = "groups",
                atlas: Atlas | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """A group label per region (a map of whole numbers, such as Yeo-7 networks):
    ``(index (N,), group names)``, groups numbered in ascending order of their values."""
    values = read_map(path, regions, labels=labels, field=field, atlas=atlas)
    if not np.all(values == np.round(values)):
        raise InputError("group labels must be whole numbers", source=os.fspath(path),
                         field=field)
    groups, index = np.unique(values.astype(np.int64), return_inverse=True)
    return index, tuple(str(g) for g in groups)


def zscore(values: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` (population std), so coefficients act on one scale."""
    spread = values.std()
    if spread == 0:
        raise InputError("a constant map cannot be z-scored", field="map")
    return (values - values.mean()) / spread


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
