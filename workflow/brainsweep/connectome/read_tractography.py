"""Build a connectome from a NIfTI parcellation and streamlines (``.trk`` or ``.tck``).

Each streamline connects the parcels under its two end points. Counts are undirected (a
streamline has no direction), so the matrix is symmetric: a streamline between parcels a and
b adds one to ``[a, b]`` and to ``[b, a]``; one that starts and ends in the same parcel adds
one to the diagonal. Lengths are the mean polyline length (mm) of the streamlines of a pair.
Streamlines with an end outside the volume or on label 0 are counted and reported in the load
step, never dropped silently.

nibabel returns streamlines of both formats in RAS+ world coordinates (mm), so an end point
maps to a voxel through the inverse of the NIfTI affine. A ``.trk`` header also records the
voxel-to-RAS affine and the grid it was tracked on: they must match the parcellation's, or the
end points would land in the wrong parcels. A ``.tck`` file carries no reference space; the
least we can check is that end points fall inside the volume at all.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from brainsweep.errors import InputError

from .checks import check_labels
from .labels import read_labels
from .model import Connectome

__all__ = ["STREAMLINE_SUFFIXES", "NIFTI_SUFFIXES", "read_parcellation", "read_tractography"]

STREAMLINE_SUFFIXES = (".trk", ".tck")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
# affines are written as float32 in .trk headers: compare to well under a voxel
AFFINE_ATOL_MM = 1e-3


def read_parcellation(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """``(integer label volume, voxel-to-RAS affine)`` of a NIfTI parcellation.

    Raises :class:`InputError` naming the file if it is unreadable, not 3-D, or holds
    non-integer or negative labels.
    """
    import nibabel as nib

    source = os.fspath(path)
    try:
        image = nib.load(source)
        data = np.asanyarray(image.dataobj)
    except FileNotFoundError:
        raise InputError("file not found", source=source, field="parcellation") from None
    except Exception as error:  # nibabel raises many types for damaged files
        raise InputError(f"cannot read as NIfTI ({type(error).__name__}: {error})",
                         source=source, field="parcellation") from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InputError(f"expected a 3-D label volume, got shape {data.shape}",
                         source=source, field="parcellation")
    values = np.asarray(data, dtype=np.float64)
    if not np.isfinite(values).all() or (values != np.rint(values)).any():
        raise InputError("labels must be whole numbers (a parcellation, not a probability map)",
                         source=source, field="parcellation")
    if (values < 0).any():
        raise InputError("negative labels; expected 0 for background and positive parcels",
                         source=source, field="parcellation")
    affine = np.asarray(image.affine, dtype=np.float64)
    if abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise InputError("singular voxel-to-world affine", source=source, field="affine")
    return values.astype(np.int64), affine


def _check_trk_space(tractogram_file, affine: np.ndarray, shape: tuple[int, ...], *,
                     source: str, reference: str) -> str:
    from nibabel.streamlines import Field

    header = tractogram_file.header
    trk_affine = np.asarray(header[Field.VOXEL_TO_RASMM], dtype=np.float64)
    trk_shape = tuple(int(d) for d in header[Field.DIMENSIONS])
    if not np.allclose(trk_affine, affine, atol=AFFINE_ATOL_MM):
        raise InputError(
            "the .trk header's voxel-to-RAS affine differs from the parcellation's, so the "
            f"streamlines were tracked in another space (or the header lacks one).\n"
            f".trk voxel_to_rasmm:\n{np.array2string(trk_affine, precision=4)}\n"
            f"{reference} affine:\n{np.array2string(affine, precision=4)}\n"
            "Register or resample one onto the other first.",
            source=source, field="voxel_to_rasmm",
        )
    if trk_shape != tuple(shape):
        raise InputError(f"the .trk header's grid {trk_shape} differs from the "
                         f"parcellation's {tuple(shape)} ({reference})", source=source,
                         field="dimensions")
    return "trk voxel_to_rasmm and dimensions match the parcellation"


def read_tractography(
    streamlines: str | os.PathLike,
    *,
    parcellation: str | os.PathLike,
    labels: str | os.PathLike | None = None,
) -> Connectome:
    """Count streamlines between parcels.

    Parameters
    ----------
    streamlines
        A ``.trk`` or ``.tck`` file (read with :mod:`nibabel.streamlines`).
    parcellation
        A NIfTI label volume: 0 is background, each positive integer one region.
    labels
        Optional labels file, one name per parcel in increasing label-value order;
        default ``parcel-<value>``.

    Returns
    -------
    Connectome
        Symmetric streamline counts, mean lengths (mm; 0 where no streamline), parcel
        centroids as centres (mm), and a load step with how many streamlines were assigned,
        how many had an end outside the volume or on label 0, and how the space was checked.
    """
    import nibabel as nib

    source = os.fspath(streamlines)
    parc_source = os.fspath(parcellation)
    volume, affine = read_parcellation(parcellation)
    parcels = np.unique(volume)
    parcels = parcels[parcels != 0]
    if parcels.size < 2:
        raise InputError(f"{parcels.size} labelled parcel(s); expected at least 2",
                         source=parc_source, field="parcellation")
    if not Path(source).is_file():
        raise InputError("file not found", source=source, field="streamlines")
    try:
        tractogram_file = nib.streamlines.load(source)
    except Exception as error:  # nibabel raises many types for damaged files
        raise InputError(f"cannot read streamlines ({type(error).__name__}: {error})",
                         source=source, field="streamlines") from None
    if isinstance(tractogram_file, nib.streamlines.TrkFile):
        space = _check_trk_space(tractogram_file, affine, volume.shape, source=source,
                                 reference=parc_source)
    else:
        space = ("tck holds RAS+ mm with no reference space; checked only that end points "
                 "fall inside the parcellation volume")
    lines = tractogram_file.streamlines
    n_points = np.fromiter((len(line) for line in lines), dtype=np.int64, count=len(lines))
    if n_points.size == 0:
        raise InputError("no streamlines in the file", source=source, field="streamlines")
    points = np.asarray(lines.get_data(), dtype=np.float64).reshape(-1, 3)
    if points.shape[0] == 0:
        raise InputError("the streamlines hold no points", source=source, field="streamlines")
    # clipped so that an empty streamline (reported as single_point) still indexes safely
    first = np.minimum(np.concatenate(([0], np.cumsum(n_points)[:-1])), len(points) - 1)
    last = np.minimum(first + np.maximum(n_points, 1) - 1, len(points) - 1)
    # arc length along the concatenated points; the jump between consecutive streamlines
    # lies outside every [first, last] range, so differences of this give each polyline length
    steps_mm = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.concatenate(([0.0], np.cumsum(steps_mm)))
    length_mm = arc[last] - arc[first]

    inverse = np.linalg.inv(affine)

    def parcel_of(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ijk = np.rint(xyz @ inverse[:3, :3].T + inverse[:3, 3]).astype(np.int64)
        inside = np.all((ijk >= 0) & (ijk < np.array(volume.shape)), axis=1)
        value = np.zeros(len(xyz), dtype=np.int64)
        value[inside] = volume[tuple(ijk[inside].T)]
        return value, inside

    start_value, start_inside = parcel_of(points[first])
    end_value, end_inside = parcel_of(points[last])
    if not (start_inside | end_inside).any():
        raise InputError(
            f"none of the {n_points.size} streamlines has an end inside the parcellation "
            f"volume {volume.shape} ({parc_source}): the streamlines are in another space",
            source=source, field="streamlines",
        )
    single_point = n_points < 2
    outside_volume = ~single_point & ~(start_inside & end_inside)
    unlabelled = ~single_point & ~outside_volume & ((start_value == 0) | (end_value == 0))
    assigned = ~single_point & ~outside_volume & ~unlabelled

    n = parcels.size
    a = np.searchsorted(parcels, start_value[assigned])
    b = np.searchsorted(parcels, end_value[assigned])
    counts = np.zeros((n, n))
    total_length = np.zeros((n, n))
    np.add.at(counts, (a, b), 1.0)
    np.add.at(total_length, (a, b), length_mm[assigned])
    off = a != b  # the reverse direction, once: a self-connection is one streamline
    np.add.at(counts, (b[off], a[off]), 1.0)
    np.add.at(total_length, (b[off], a[off]), length_mm[assigned][off])
    mean_length = np.divide(total_length, counts, out=np.zeros((n, n)), where=counts > 0)

    # parcel centroids in world mm: a useful default for plotting and distance checks
    index = np.searchsorted(parcels, volume[volume > 0])
    voxels = np.argwhere(volume > 0).astype(np.float64)
    size = np.bincount(index, minlength=n)
    centroid_vox = np.stack([np.bincount(index, weights=voxels[:, k], minlength=n) / size
                             for k in range(3)], axis=1)
    centres = centroid_vox @ affine[:3, :3].T + affine[:3, 3]

    sources = [source, parc_source]
    if labels is not None:
        names, _ = read_labels(labels)
        label_tuple = check_labels(names, n, source=labels)
        sources.append(os.fspath(labels))
    else:
        label_tuple = tuple(f"parcel-{int(v)}" for v in parcels)
    step = {
        "step": "load", "format": "tractography", "streamlines": source,
        "parcellation": parc_source, "n_regions": int(n),
        "parcel_values": [int(v) for v in parcels],
        "n_streamlines": int(n_points.size),
        "assigned": int(assigned.sum()),
        "self_connections": int((~off).sum()),
        "end_outside_volume": int(outside_volume.sum()),
        "end_on_label_0": int(unlabelled.sum()),
        "single_point": int(single_point.sum()),
        "counting": "undirected: each streamline adds 1 to [a, b] and [b, a]",
        "space": space,
    }
    return Connectome(weights=counts, lengths=mean_length, labels=label_tuple,
                      centres=centres, steps=(step,), sources=tuple(sources))
