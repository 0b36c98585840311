"""Cortical maps keyed by region label, and the regional parametrisations built on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainsweep.errors import InputError
from brainsweep.maps import RegionalParameter, read_groups, read_map, zscore

DATA = Path(__file__).resolve().parents[2] / "resources" / "hcp-schaefer100"
LABELS = DATA / "labels.txt"
MYELIN = DATA / "maps" / "ctx_parc-schaefer-100_desc-myelinmap_zscore.txt"
YEO7 = DATA / "maps" / "ctx_parc-schaefer-100_desc-yeo7.txt"
REGIONS = [line for line in LABELS.read_text().splitlines() if not line.startswith("#")]


def test_a_map_follows_the_connectomes_order_whatever_its_own():
    values = np.loadtxt(MYELIN)
    np.testing.assert_array_equal(read_map(MYELIN, REGIONS, labels=LABELS), values)
    reordered = REGIONS[::-1]  # a connectome listing the regions the other way round
    np.testing.assert_array_equal(read_map(MYELIN, reordered, labels=LABELS), values[::-1])


def test_label_value_csv_in_any_order(tmp_path):
    values = np.loadtxt(MYELIN)
    order = np.random.default_rng(0).permutation(100)
    csv = tmp_path / "map.csv"
    csv.write_text("label,value\n" + "".join(f"{REGIONS[i]},{float(values[i])!r}\n" for i in order))
    np.testing.assert_array_equal(read_map(csv, REGIONS), values)


def test_a_missing_or_extra_region_is_named(tmp_path):
    values = np.loadtxt(MYELIN)
    with pytest.raises(InputError) as error:
        read_map(MYELIN, REGIONS + ["Extra_Region"], labels=LABELS, field="model.regional.w")
    assert "'Extra_Region'" in str(error.value) and error.value.field == "model.regional.w"
    assert str(MYELIN) in str(error.value.source)
    csv = tmp_path / "map.csv"
    rows = zip(REGIONS, values, strict=True)
    csv.write_text("".join(f"{name},{float(v)!r}\n" for name, v in rows)
                   + "7Networks_LH_Nowhere_1,0.5\n")
    with pytest.raises(InputError) as error:
        read_map(csv, REGIONS)
    assert "'7Networks_LH_Nowhere_1' is not in the connectome" in str(error.value)
    with pytest.raises(InputError) as error:
        read_map(MYELIN, REGIONS[:80])  # no labels: the count must match
    assert "100 values for a connectome of 80 regions" in str(error.value)


def test_a_parcellated_cifti_is_keyed_by_its_parcel_names(tmp_path):
    nibabel = pytest.importorskip("nibabel")
    from nibabel import cifti2

    values = np.loadtxt(MYELIN)
    parcels = cifti2.ParcelsAxis(
        name=np.array(REGIONS[::-1]),  # the file's own order, reversed
        voxels=[np.zeros((0, 3), int)] * len(REGIONS),
        vertices=[{"CIFTI_STRUCTURE_CORTEX_LEFT": np.array([i])} for i in range(len(REGIONS))],
        nvertices={"CIFTI_STRUCTURE_CORTEX_LEFT": len(REGIONS)})
    scalars = cifti2.ScalarAxis(["myelin"])
    image = cifti2.Cifti2Image(values[::-1][None, :], header=(scalars, parcels))
    path = tmp_path / "myelin.pscalar.nii"
    nibabel.save(image, path)
    np.testing.assert_allclose(read_map(path, REGIONS), values, rtol=1e-7)  # float32 file


def test_groups_are_numbered_by_value():
    index, names = read_groups(YEO7, REGIONS, labels=LABELS)
    assert names == ("0", "1", "2", "3", "4", "5", "6")
    assert index[0] == 0 and index[-1] == 6 and np.bincount(index).tolist() == [
        17, 14, 15, 12, 5, 13, 24]  # Schaefer-100's regions per Yeo-7 network


def test_scaled_shifted_and_grouped_values():
    x = zscore(np.array([1.0, 2.0, 3.0, 6.0]))
    assert abs(x.mean()) < 1e-15 and abs(x.std() - 1.0) < 1e-15
    y = zscore(np.array([0.0, 1.0, 0.0, 1.0]))
    scaled = RegionalParameter("w", "scaled", maps=np.stack([x, y]), map_names=("x", "y"))
    out = scaled.values(np.array([1.0, 2.0]), {"w.x": np.array([0.1, 0.0]),
                                              "w.y": np.array([0.0, 0.2])})
    np.testing.assert_allclose(out, [1.0 * (1 + 0.1 * x), 2.0 * (1 + 0.2 * y)], rtol=1e-15)
    shifted = RegionalParameter("w", "shifted", maps=x[None, :], map_names=("x",))
    np.testing.assert_allclose(shifted.values(np.array([1.0]), {"w.x": np.array([0.5])}),
                               [1.0 + 0.5 * x], rtol=1e-15)
    # an unswept coefficient is 0: the homogeneous value
    np.testing.assert_array_equal(shifted.values(np.array([1.5]), {}), np.full((1, 4), 1.5))
    groups = RegionalParameter("w", "groups", maps=np.zeros((0, 4)), map_names=(),
                               groups=np.array([0, 1, 1, 0]), group_names=("L", "R"))
    assert groups.coefficient_names == ("w.L", "w.R")
    np.testing.assert_array_equal(groups.values(np.array([1.0]), {"w.R": np.array([3.0])}),
                                  [[1.0, 3.0, 3.0, 1.0]])


def test_values_outside_the_range_are_refused_naming_the_region():
    x = np.array([-2.0, 0.0, 2.0])
    scaled = RegionalParameter("w_p", "scaled", maps=x[None, :], map_names=("myelin",),
                               bounds=(0.0, 2.0), regions=("A", "B", "C"))
    scaled.values(np.array([1.4]), {"w_p.myelin": np.array([0.2])})  # 0.84 .. 1.96: fine
    with pytest.raises(InputError) as error:
        scaled.values(np.array([1.4]), {"w_p.myelin": np.array([0.3])})  # 2.24 at C
    assert error.value.field == "sweep.w_p" and " at C " in str(error.value)
    assert "[0, 2]" in str(error.value)
