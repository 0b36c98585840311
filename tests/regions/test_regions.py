"""Region names and hemisphere order (brainsweep.regions)."""

from __future__ import annotations

import numpy as np

from brainsweep.regions import (
    AAL2_LABELS,
    PRESETS,
    hemisphere,
    hemisphere_order,
    region_labels,
    select_regions,
)


def test_aal2_names_agree_with_the_cortical_preset():
    """The preset's sub-cortical indices were written from the data's README, the names from
    the atlas: the dropped regions must be exactly the sub-cortical names."""
    assert len(AAL2_LABELS) == 94 and len(set(AAL2_LABELS)) == 94
    dropped = {AAL2_LABELS[i].rsplit("_", 1)[0] for i in PRESETS["aal2-cortical"][1]}
    assert dropped == {"Hippocampus", "ParaHippocampal", "Amygdala", "Caudate", "Putamen",
                       "Pallidum", "Thalamus"}
    # left and right alternate, and each pair names one structure
    assert all(AAL2_LABELS[i].endswith("_L") and AAL2_LABELS[i + 1].endswith("_R")
               and AAL2_LABELS[i][:-2] == AAL2_LABELS[i + 1][:-2] for i in range(0, 94, 2))


def test_files_without_names_get_one_spelling():
    assert region_labels(94) == AAL2_LABELS
    assert region_labels(3) == ("region-000", "region-001", "region-002")


def test_hemisphere_of_each_atlas_spelling():
    assert [hemisphere(name) for name in ("Precentral_L", "Insula_R", "7Networks_LH_Vis_1",
                                          "17Networks_RH_DefaultA_PFCm_1", "lA1", "rPFCM",
                                          "region-004", "Vermis_3")] == \
        ["left", "right", "left", "right", "left", "right", None, None]


def test_hemisphere_order_puts_left_then_right_in_file_order():
    labels = [AAL2_LABELS[i] for i in select_regions(94, preset="aal2-cortical")]
    order = hemisphere_order(labels)
    assert sorted(order.tolist()) == list(range(80))
    ordered = [labels[i] for i in order]
    assert all(name.endswith("_L") for name in ordered[:40])
    assert all(name.endswith("_R") for name in ordered[40:])
    # within a hemisphere, the file's order is kept: homotopic regions line up
    assert [name[:-2] for name in ordered[:40]] == [name[:-2] for name in ordered[40:]]
    np.testing.assert_array_equal(hemisphere_order(["a", "b_R", "c_L"]), [2, 1, 0])
