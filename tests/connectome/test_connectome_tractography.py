"""Tractography reader: a tiny parcellation and straight streamlines whose answer is known.

The parcellation is a 10×10×10 grid of 2 mm voxels with a flipped x axis (so a wrong
affine convention would put ends in the wrong parcels). Straight streamlines run between
voxel centres, so their lengths are Euclidean distances computed here independently of
the reader.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from nibabel.streamlines import Field, TckFile, Tractogram, TrkFile

from brainsweep import connectome
from brainsweep.errors import InputError

AFFINE = np.array([[-2.0, 0, 0, 9], [0, 2.0, 0, -10], [0, 0, 2.0, -10], [0, 0, 0, 1]])
SHAPE = (10, 10, 10)
# float32 storage in .trk/.tck: lengths agree to ~1e-6 relative; k = 50 eps(float32)
RTOL = 50 * np.finfo(np.float32).eps


def world(ijk) -> np.ndarray:
    ijk = np.asarray(ijk, dtype=float)
    return ijk @ AFFINE[:3, :3].T + AFFINE[:3, 3]


def straight(start_ijk, end_ijk, n_points: int = 6) -> np.ndarray:
    return world(np.linspace(start_ijk, end_ijk, n_points))


def parcellation_volume() -> np.ndarray:
    # parcel values 3, 7 and 12 (not 1..N) to check that values map to sorted regions
    volume = np.zeros(SHAPE, dtype=np.int16)
    volume[0:3, :, :] = 7  # region index 1
    volume[7:10, :, :] = 3  # region index 0
    volume[4:6, 0:2, :] = 12  # region index 2
    return volume


# (start voxel, end voxel) and what each is by construction
STREAMLINES = [
    ((1, 5, 5), (8, 5, 5)),  # 7 -> 3
    ((2, 3, 4), (7, 6, 2)),  # 7 -> 3, oblique
    ((9, 1, 1), (0, 8, 8)),  # 3 -> 7 (reverse direction: same undirected pair)
    ((1, 5, 5), (5, 1, 5)),  # 7 -> 12
    ((8, 2, 2), (9, 9, 9)),  # 3 -> 3 (self)
    ((1, 5, 5), (5, 5, 5)),  # 7 -> background (label 0)
]
OUTSIDE = (world((1, 5, 5)), world((1, 5, 5)) + np.array([0.0, 0.0, 60.0]))  # leaves volume


def expected() -> tuple[np.ndarray, np.ndarray]:
    """Counts and mean lengths by hand: region order is sorted values (3, 7, 12)."""
    index = {3: 0, 7: 1, 12: 2}
    volume = parcellation_volume()
    counts = np.zeros((3, 3))
    sums = np.zeros((3, 3))
    for start, end in STREAMLINES:
        a, b = volume[start], volume[end]
        if a == 0 or b == 0:
            continue
        i, j = index[int(a)], index[int(b)]
        length = float(np.linalg.norm(world(end) - world(start)))
        counts[i, j] += 1
        sums[i, j] += length
        if i != j:
            counts[j, i] += 1
            sums[j, i] += length
    lengths = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return counts, lengths


def write_parcellation(path, affine=AFFINE) -> str:
    nib.save(nib.Nifti1Image(parcellation_volume(), affine), str(path))
    return str(path)


def tractogram(extra=()) -> Tractogram:
    lines = [straight(a, b) for a, b in STREAMLINES]
    lines.append(np.linspace(*OUTSIDE, 5))
    lines.extend(extra)
    return Tractogram(lines, affine_to_rasmm=np.eye(4))


def write_trk(path, affine=AFFINE, shape=SHAPE, extra=()) -> str:
    header = {
        Field.VOXEL_TO_RASMM: affine,
        Field.DIMENSIONS: shape,
        Field.VOXEL_SIZES: tuple(np.abs(np.diag(affine)[:3])),
        Field.VOXEL_ORDER: "".join(nib.aff2axcodes(affine)),
    }
    TrkFile(tractogram(extra), header=header).save(str(path))
    return str(path)


def write_tck(path, extra=()) -> str:
    TckFile(tractogram(extra)).save(str(path))
    return str(path)


@pytest.mark.parametrize("kind", ["trk", "tck"])
def test_counts_and_lengths_match_construction(tmp_path, kind):
    parc = write_parcellation(tmp_path / "parc.nii.gz")
    lines = write_trk(tmp_path / "t.trk") if kind == "trk" else write_tck(tmp_path / "t.tck")
    conn = connectome.load(lines, parcellation=parc)
    counts, lengths = expected()
    assert conn.labels == ("parcel-3", "parcel-7", "parcel-12")
    np.testing.assert_array_equal(conn.weights, counts)
    np.testing.assert_allclose(conn.lengths, lengths, rtol=RTOL, atol=0)
    # the two 7->3 lines and one 3->7 line: three streamlines in the pair, both directions
    assert conn.weights[0, 1] == conn.weights[1, 0] == 3
    step = conn.steps[0]
    assert step["format"] == "tractography"
    assert step["n_streamlines"] == len(STREAMLINES) + 1
    assert step["assigned"] == 5
    assert step["end_on_label_0"] == 1
    assert step["end_outside_volume"] == 1
    assert step["self_connections"] == 1
    assert conn.sources == (lines, parc)


def test_centres_are_parcel_centroids(tmp_path):
    parc = write_parcellation(tmp_path / "parc.nii")
    conn = connectome.load(write_tck(tmp_path / "t.tck"), parcellation=parc)
    volume = parcellation_volume()
    for row, value in enumerate((3, 7, 12)):
        centroid = world(np.argwhere(volume == value).mean(axis=0))
        np.testing.assert_allclose(conn.centres[row], centroid, rtol=1e-12)


def test_folder_source_and_labels_file(tmp_path):
    write_parcellation(tmp_path / "parc.nii.gz")
    write_trk(tmp_path / "t.trk")
    (tmp_path / "names.txt").write_text("occipital\nfrontal\nventral\n")
    conn = connectome.load(tmp_path, labels=tmp_path / "names.txt")
    assert conn.labels == ("occipital", "frontal", "ventral")
    np.testing.assert_array_equal(conn.weights, expected()[0])


def test_single_point_streamline_is_reported_not_counted(tmp_path):
    parc = write_parcellation(tmp_path / "parc.nii.gz")
    lines = write_tck(tmp_path / "t.tck", extra=[world([[1, 5, 5]])])
    conn = connectome.load(lines, parcellation=parc)
    assert conn.steps[0]["single_point"] == 1
    np.testing.assert_array_equal(conn.weights, expected()[0])


def test_trk_affine_mismatch_is_refused(tmp_path):
    parc = write_parcellation(tmp_path / "parc.nii.gz")
    shifted = AFFINE.copy()
    shifted[:3, 3] += 4.0
    lines = write_trk(tmp_path / "t.trk", affine=shifted)
    with pytest.raises(InputError, match="voxel-to-RAS affine differs") as info:
        connectome.load(lines, parcellation=parc)
    assert info.value.source == lines
    assert info.value.field == "voxel_to_rasmm"


def test_trk_grid_mismatch_is_refused(tmp_path):
    parc = write_parcellation(tmp_path / "parc.nii.gz")
    lines = write_trk(tmp_path / "t.trk", shape=(12, 10, 10))
    with pytest.raises(InputError, match="grid") as info:
        connectome.load(lines, parcellation=parc)
    assert info.value.field == "dimensions"


def test_tck_in_another_space_is_refused(tmp_path):
    parc = write_parcellation(tmp_path / "parc.nii.gz")
    far = [line + 500.0 for line in tractogram().streamlines]
    path = str(tmp_path / "far.tck")
    TckFile(Tractogram(far, affine_to_rasmm=np.eye(4))).save(path)
    with pytest.raises(InputError, match="another space") as info:
        connectome.load(path, parcellation=parc)
    assert info.value.source == path


def test_unreadable_nifti_names_the_file(tmp_path):
    bad = tmp_path / "parc.nii.gz"
    bad.write_bytes(b"this is not a NIfTI file at all")
    lines = write_tck(tmp_path / "t.tck")
    with pytest.raises(InputError, match="cannot read as NIfTI") as info:
        connectome.load(lines, parcellation=bad)
    assert info.value.source == str(bad)
    assert info.value.field == "parcellation"


def test_probability_map_is_not_a_parcellation(tmp_path):
    path = str(tmp_path / "prob.nii.gz")
    nib.save(nib.Nifti1Image(np.full(SHAPE, 0.5, dtype=np.float32), AFFINE), path)
    with pytest.raises(InputError, match="whole numbers"):
        connectome.load(write_tck(tmp_path / "t.tck"), parcellation=path)


def test_streamlines_need_a_parcellation(tmp_path):
    with pytest.raises(InputError, match="parcellation"):
        connectome.load(write_tck(tmp_path / "t.tck"))
