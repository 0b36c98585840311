"""Volumetric NIfTI maps parcellated by an atlas image and its label table (nibabel files
written here), against parcel means computed independently with numpy."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from brainsweep.errors import InputError
from brainsweep.maps import Atlas, parcellate, read_label_table, read_map

nibabel = pytest.importorskip("nibabel")

LABELS = Path(__file__).resolve().parents[2] / "resources" / "hcp-schaefer100" / "labels.txt"
REGIONS = [line for line in LABELS.read_text().splitlines() if line and not line.startswith("#")]
SHAPE = (14, 12, 10)  # 1680 voxels, about 13 a region beside the background
AFFINE = np.array([[-2.0, 0, 0, 90], [0, 2.0, 0, -126], [0, 0, 2.0, -72], [0, 0, 0, 1]])


def _atlas_volume(rng: np.random.Generator) -> np.ndarray:
    """Labels 0 (background, about a fifth of the voxels) and 1..100, each label present."""
    labels = rng.integers(1, len(REGIONS) + 1, size=SHAPE)
    labels[rng.random(SHAPE) < 0.2] = 0
    labels.flat[rng.permutation(labels.size)[:len(REGIONS)]] = np.arange(1, len(REGIONS) + 1)
    return labels.astype(np.int16)


def _save(data: np.ndarray, path: Path, affine: np.ndarray = AFFINE, **header) -> Path:
    image = nibabel.Nifti1Image(data, affine)
    for key, value in header.items():
        image.header[key] = value
    nibabel.save(image, path)
    return path


def _schaefer_table(path: Path, order: np.ndarray) -> Path:
    """Schaefer-2018's *_order.txt layout (index, name, R, G, B, 0; tabs), rows in ``order``."""
    path.write_text("".join(f"{i + 1}\t{REGIONS[i]}\t{(7 * i) % 256}\t{(3 * i) % 256}\t120\t0\n"
                            for i in order))
    return path


def _expected(data: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The mean of each label's finite voxels, label 1 first, by a plain loop."""
    out = []
    for label in range(1, len(REGIONS) + 1):
        voxels = data[labels == label]
        out.append(np.mean(voxels[np.isfinite(voxels)]))
    return np.array(out)


@pytest.fixture
def volume(tmp_path):
    rng = np.random.default_rng(11)
    labels = _atlas_volume(rng)
    data = rng.normal(1.5, 0.3, size=SHAPE)
    atlas = _save(labels, tmp_path / "atlas.nii.gz")
    table = _schaefer_table(tmp_path / "Schaefer2018_100Parcels_7Networks_order.txt",
                            rng.permutation(len(REGIONS)))
    return tmp_path, labels, data, atlas, table


def test_parcel_means_follow_the_connectomes_order(volume):
    tmp_path, labels, data, atlas, table = volume
    path = _save(data.astype(np.float32), tmp_path / "myelin.nii.gz")
    stored = np.asarray(nibabel.load(path).get_fdata(), dtype=np.float64)  # float32 values
    expected = _expected(stored, labels)
    got = read_map(path, REGIONS, atlas=Atlas(atlas, table))
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    reordered = REGIONS[::-1]  # a connectome listing the regions the other way round
    np.testing.assert_allclose(read_map(path, reordered, atlas=Atlas(atlas, table)),
                               expected[::-1], rtol=1e-13)
    values, names = parcellate(path, atlas, table)
    assert names == tuple(REGIONS)  # label order, whatever the table's row order
    np.testing.assert_allclose(values, expected, rtol=1e-13)


def test_scaled_integers_nan_voxels_and_a_single_volume_4d_map(volume):
    tmp_path, labels, data, atlas, table = volume
    raw = np.round(data * 1000).astype(np.int16)  # stored as integers, scaled on reading
    # slope and intercept exact in the header's float32, so the expected values are exact
    path = _save(raw, tmp_path / "scaled.nii", scl_slope=2.0**-10, scl_inter=0.25)
    expected = _expected(raw * 2.0**-10 + 0.25, labels)
    np.testing.assert_allclose(read_map(path, REGIONS, atlas=Atlas(atlas, table)), expected,
                               rtol=1e-12)
    masked = data.copy()
    masked[np.random.default_rng(3).random(SHAPE) < 0.3] = np.nan  # a masked map's outside
    masked[labels == 0] = np.inf  # the background is never read
    for label in range(1, len(REGIONS) + 1):  # every region keeps a finite voxel
        if not np.isfinite(masked[labels == label]).any():
            masked[tuple(np.argwhere(labels == label)[0])] = 2.0
    path = _save(masked[..., None], tmp_path / "masked4d.nii.gz")  # 4-D, one volume
    np.testing.assert_allclose(read_map(path, REGIONS, atlas=Atlas(atlas, table)),
                               _expected(masked, labels), rtol=1e-13)


def test_label_table_layouts(tmp_path):
    plain = tmp_path / "names.txt"
    plain.write_text("# one name a line: labels 1, 2, 3\nA\nB\n\nC\n")
    assert read_label_table(plain, field="t") == {1: "A", 2: "B", 3: "C"}
    lut = tmp_path / "FreeSurferColorLUT.txt"
    lut.write_text("#No. Label Name:  R G B A\n0   Unknown  0 0 0 0\n17  Left-Hippocampus  220 216 "
                   "20 0\n53  Right-Hippocampus  220 216 20 0\n")
    assert read_label_table(lut, field="t") == {17: "Left-Hippocampus", 53: "Right-Hippocampus"}
    csv = tmp_path / "table.csv"
    csv.write_text("index,name\n2,B\n1,A\n")
    assert read_label_table(csv, field="t") == {2: "B", 1: "A"}
    twice = tmp_path / "twice.tsv"
    twice.write_text("1\tA\n2\tB\n1\tC\n")
    with pytest.raises(InputError) as error:
        read_label_table(twice, field="model.regional.w_p.atlas_labels")
    assert "line 3: label 1 is named twice ('A' and 'C')" in str(error.value)
    assert str(twice) in str(error.value) and error.value.field.endswith("atlas_labels")


def test_the_connectomes_names_are_the_parcellation_table(volume):
    """Schaefer-100's labels.txt, one name a line, is the table of an atlas numbered 1..100."""
    tmp_path, labels, data, atlas, _table = volume
    path = _save(data, tmp_path / "map.nii.gz")
    np.testing.assert_allclose(read_map(path, REGIONS, atlas=Atlas(atlas, LABELS)),
                               _expected(data, labels), rtol=1e-13)


def test_a_shape_or_affine_mismatch_is_refused(volume):
    tmp_path, _labels, data, atlas, table = volume
    wrong = _save(data[:, :, :-1], tmp_path / "cropped.nii.gz")
    with pytest.raises(InputError) as error:
        read_map(wrong, REGIONS, atlas=Atlas(atlas, table), field="model.regional.w_p.maps.m")
    message = str(error.value)
    assert "voxel grid (14, 12, 9) is not the atlas's (14, 12, 10)" in message
    assert str(wrong) in message and str(atlas) in message
    assert error.value.field == "model.regional.w_p.maps.m"
    shifted = AFFINE.copy()
    shifted[0, 3] += 2.0  # the same grid one voxel to the side
    moved = _save(data, tmp_path / "moved.nii.gz", affine=shifted)
    with pytest.raises(InputError) as error:
        read_map(moved, REGIONS, atlas=Atlas(atlas, table))
    assert "not the same voxel-to-world affine (largest difference 2)" in str(error.value)
    several = _save(np.stack([data, data], axis=-1), tmp_path / "two.nii.gz")
    with pytest.raises(InputError) as error:
        read_map(several, REGIONS, atlas=Atlas(atlas, table))
    assert "the map holds 2 volumes; expected one" in str(error.value)


def test_a_label_missing_from_the_atlas_or_the_table_is_named(volume):
    tmp_path, labels, data, _atlas, table = volume
    path = _save(data, tmp_path / "map.nii.gz")
    holed = labels.copy()
    holed[holed == 42] = 0  # region 42 of the table has no voxel
    holed_path = _save(holed, tmp_path / "holed.nii.gz")
    with pytest.raises(InputError) as error:
        read_map(path, REGIONS, atlas=Atlas(holed_path, table, image_field="model.regional.w_p"
                                            ".atlas"))
    message = str(error.value)
    assert f"label 42 ({REGIONS[41]!r}) of the label table {table} has no voxel" in message
    assert str(holed_path) in message and error.value.field == "model.regional.w_p.atlas"
    extra = labels.copy()
    extra[0, 0, :3] = 101  # a label the table does not name
    extra_path = _save(extra, tmp_path / "extra.nii.gz")
    with pytest.raises(InputError) as error:
        read_map(path, REGIONS, atlas=Atlas(extra_path, table))
    assert f"atlas label 101 (3 voxels) is not in the label table {table}" in str(error.value)


def test_a_region_missing_or_extra_against_the_connectome_is_named(volume):
    tmp_path, labels, data, atlas, table = volume
    path = _save(data, tmp_path / "map.nii.gz")
    with pytest.raises(InputError) as error:  # the connectome has a region the atlas lacks
        read_map(path, REGIONS + ["7Networks_RH_Nowhere_9"], atlas=Atlas(atlas, table))
    message = str(error.value)
    assert "no value for region '7Networks_RH_Nowhere_9' of the connectome" in message
    assert str(path) in message and f"regions named by {table}" in message
    with pytest.raises(InputError) as error:  # the atlas has a region the connectome lacks
        read_map(path, REGIONS[1:], atlas=Atlas(atlas, table))
    assert f"region {REGIONS[0]!r} is not in the connectome" in str(error.value)


def test_bad_volumes_are_refused(volume, tmp_path):
    _tmp, labels, data, atlas, table = volume
    path = _save(data, tmp_path / "map.nii.gz")
    with pytest.raises(InputError) as error:
        read_map(path, REGIONS)  # a volume without an atlas cannot be parcellated
    assert "needs an atlas image and its label table" in str(error.value)
    fractional = _save(labels.astype(np.float32) + 0.5 * (labels == 7), tmp_path / "frac.nii")
    with pytest.raises(InputError) as error:
        read_map(path, REGIONS, atlas=Atlas(fractional, table))
    assert "whole-number labels" in str(error.value) and "7.5" in str(error.value)
    empty = data.copy()
    empty[labels == 5] = np.nan
    empty_path = _save(empty, tmp_path / "empty.nii.gz")
    with pytest.raises(InputError) as error:
        read_map(empty_path, REGIONS, atlas=Atlas(atlas, table))
    assert f"region {REGIONS[4]!r} (atlas label 5) has no finite voxel" in str(error.value)
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(gzip.compress(b"not a NIfTI header"))
    with pytest.raises(InputError) as error:
        read_map(broken, REGIONS, atlas=Atlas(atlas, table))
    assert str(broken) in str(error.value) and "cannot read" in str(error.value)
    with pytest.raises(InputError) as error:
        read_map(path, REGIONS, atlas=Atlas(tmp_path / "absent.nii.gz", table))
    assert "atlas image not found" in str(error.value)


def test_a_study_reads_a_volumetric_map_through_its_atlas_keys(volume):
    """model.regional.<p>.atlas / atlas_labels as the shard stage reads them."""
    from brainsweep.study.settings import ModelSettings

    tmp_path, labels, data, atlas, table = volume
    path = _save(data, tmp_path / "myelin.nii.gz")
    how = {"form": "scaled", "maps": {"myelin": str(path)}, "atlas": str(atlas),
           "atlas_labels": str(table), "zscore": True}
    settings = ModelSettings.from_section({"name": "rww_exc_inh", "regional": {"w_p": how}})
    assert {str(atlas), str(table), str(path)} <= set(settings.regional_files())
    regional = settings.regional_parameters(REGIONS)["w_p"]
    expected = _expected(data, labels)
    np.testing.assert_allclose(regional.maps[0], (expected - expected.mean()) / expected.std(),
                               rtol=1e-12)
    half = ModelSettings.from_section({"name": "rww_exc_inh", "regional": {
        "w_p": {**how, "atlas_labels": None}}})
    with pytest.raises(InputError) as error:
        half.regional_parameters(REGIONS)
    assert error.value.field == "model.regional.w_p.atlas_labels"
