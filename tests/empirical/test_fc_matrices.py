"""``format: fc``: group FC matrices as the target, held-out groups scored beside them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainsweep.empirical.stage import run_stage
from brainsweep.errors import InputError

DATA = Path(__file__).resolve().parents[2] / "resources" / "hcp-schaefer100"
FC = DATA / "hcp" / "fc"
FCD = DATA / "hcp" / "fcd"


def fc_file(group: str, kind: str = "") -> str:
    return str(FC / group / "REST" / f"ctx_parc-schaefer-100{kind}_desc-fc.npz")


def settings(**overrides):
    base = {"name": "train706", "source": fc_file("group-train706"), "format": "fc",
            "regions": {"preset": None, "drop": []},
            "held_out": {"test303": fc_file("group-test303")},
            "fcd": str(FCD / "group-train706" / "REST" /
                       "ctx_parc-schaefer-100_window-30_step-5_desc-fcdtril.npz"),
            "labels": str(DATA / "labels.txt")}
    return {**base, **overrides}


def test_target_first_then_held_out(tmp_path):
    path = run_stage(settings(), tmp_path)
    data = np.load(path)
    train = np.load(fc_file("group-train706"))["arr_0"]
    test = np.load(fc_file("group-test303"))["arr_0"]
    assert data["subject_ids"].tolist() == ["train706", "test303"]
    np.testing.assert_array_equal(data["fc_group"], train)  # the target alone, not a mean
    np.testing.assert_array_equal(data["fc_subjects"][1], test)
    assert data["labels"][0] == "7Networks_LH_Vis_1"
    offsets = data["fcd_offsets"]
    assert offsets[0] == 0 and offsets[1] == data["fcd_values"].size == 13677
    upper = np.triu_indices(100, 1)
    assert 0.9 < np.corrcoef(train[upper], test[upper])[0, 1] < 1.0
    assert path.with_name(path.name + ".json").exists()


def test_fc_matrices_keep_all_their_regions_by_default(tmp_path):
    options = settings()
    del options["regions"]  # not the schema's AAL2 preset: the matrix's own regions
    assert np.load(run_stage(options, tmp_path))["fc_group"].shape == (100, 100)


def test_region_selection_applies_to_every_matrix(tmp_path):
    data = np.load(run_stage(settings(regions={"preset": None, "drop": [0, 99]}), tmp_path))
    assert data["fc_subjects"].shape == (2, 98, 98)
    assert data["labels"][0] == "7Networks_LH_Vis_2"


def test_a_matrix_with_excluded_pairs_is_refused(tmp_path):
    with pytest.raises(InputError) as error:
        run_stage(settings(held_out={"test303": fc_file("group-test303", "_exc-inter")}),
                  tmp_path)
    assert error.value.field == "empirical.held_out.test303" and "NaN" in str(error.value)
    assert "exc-inter" in str(error.value.source)
    assert not list(tmp_path.iterdir())  # nothing written


def test_held_out_needs_format_fc(tmp_path):
    with pytest.raises(InputError) as error:
        run_stage(settings(format="npy"), tmp_path)
    assert error.value.field == "empirical.held_out"


def test_a_subjects_bold_reads_as_one_node_by_time_array(tmp_path):
    bold = DATA / "hcp" / "bold" / "100206" / "REST1_LR" / "ctx_parc-schaefer-100_desc-bold.npz"
    data = np.load(run_stage({"name": "s", "source": str(bold), "format": "npy",
                              "regions": {"preset": None, "drop": []}}, tmp_path))
    assert data["fc_group"].shape == (100, 100)
    assert data["n_samples"][0] < 1200  # the transient dropped, as for simulations
