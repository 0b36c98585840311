"""Readers on the shipped real data (TVB zips, HCP subjects) and on plain matrix files.

Expectations come from the data README (facts read off the files) or from reading the files
here with plain zipfile/bz2/scipy, independently of the readers.
"""

from __future__ import annotations

import bz2
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from scipy.io import loadmat, savemat

from brainsweep import connectome
from brainsweep.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
TVB = ROOT / "resources" / "tvb-connectivity"
HCP = ROOT / "resources" / "hcp-aal2"
HCP_IDS = ("101309", "102311", "102816", "131217", "211619", "213522", "377451")


def tvb_member(n: int, name: str) -> np.ndarray:
    """A numeric member of a TVB zip read with zipfile and bz2 only."""
    with zipfile.ZipFile(TVB / f"connectivity_{n}.zip") as archive:
        member = next(m for m in archive.namelist() if m.rsplit("/", 1)[-1].startswith(name))
        raw = archive.read(member)
    if member.endswith(".bz2"):
        raw = bz2.decompress(raw)
    return np.loadtxt(io.BytesIO(raw))


# ---------------------------------------------------------------------------- TVB zips


@pytest.fixture(scope="module")
def tvb68():
    return connectome.load(TVB / "connectivity_68.zip")


def test_tvb68_facts_from_the_data_readme(tvb68):
    assert tvb68.weights.shape == tvb68.lengths.shape == (68, 68)
    np.testing.assert_array_equal(tvb68.weights, tvb68.weights.T)  # symmetric
    density = (tvb68.weights > 0).mean()
    assert abs(density - 0.27) < 0.005  # "27% non-zero"
    assert round(float(tvb68.lengths.max())) == 253  # "max tract length 253 mm"
    assert tvb68.labels[0] == "r_lateralorbitofrontal"
    assert tvb68.centres.shape == (68, 3)
    np.testing.assert_allclose(tvb68.centres[0], [55.964199, 86.828723, 26.615948])


def test_tvb68_bz2_members_equal_an_independent_read(tvb68):
    np.testing.assert_array_equal(tvb68.weights, tvb_member(68, "weights"))
    np.testing.assert_array_equal(tvb68.lengths, tvb_member(68, "tract_lengths"))
    assert tvb68.sources == (str(TVB / "connectivity_68.zip"),)


def test_tvb76_is_tvbs_directed_default():
    conn = connectome.load(TVB / "connectivity_76.zip", fmt="tvb-zip")
    assert conn.n_regions == 76
    assert not np.array_equal(conn.weights, conn.weights.T)  # "not symmetric"
    # no transpose on reading: rows stay as stored (TVB rows are targets too)
    np.testing.assert_array_equal(conn.weights, tvb_member(76, "weights"))
    assert conn.labels[:2] == ("rA1", "rA2")
    assert set(conn.region_data) == {"areas", "cortical", "average_orientations"}
    assert conn.region_data["cortical"].dtype == bool
    np.testing.assert_array_equal(conn.region_data["areas"], tvb_member(76, "areas"))


def test_tvb192_members_in_a_subfolder():
    conn = connectome.load(TVB / "connectivity_192.zip")
    assert conn.weights.shape == (192, 192)
    assert conn.labels[0] == "lAD"
    np.testing.assert_array_equal(conn.lengths, tvb_member(192, "tract_lengths"))


def write_zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def small_members() -> dict[str, str | bytes]:
    return {
        "weights": "0 1 2\n1 0 3\n2 3 0\n",
        "tract_lengths.txt": "0 10 20\n10 0 30\n20 30 0\n",
        "centres.txt.bz2": bz2.compress(b"A 0 0 0\nB 1 0 0\nC 0 1 0\n"),
        "hemispheres.txt": "1\n1\n0\n",
    }


def test_tvb_member_forms_plain_suffixless_and_bz2(tmp_path):
    conn = connectome.load(write_zip(tmp_path / "small.zip", small_members()))
    np.testing.assert_array_equal(conn.weights, [[0, 1, 2], [1, 0, 3], [2, 3, 0]])
    assert conn.labels == ("A", "B", "C")
    np.testing.assert_array_equal(conn.region_data["hemispheres"], [True, True, False])


@pytest.mark.parametrize("member", ["weights", "tract_lengths", "centres"])
def test_tvb_missing_member_names_zip_and_member(tmp_path, member):
    members = {k: v for k, v in small_members().items() if not k.startswith(member)}
    path = write_zip(tmp_path / "broken.zip", members)
    with pytest.raises(InputError, match=f"missing member '{member}'") as info:
        connectome.load(path)
    assert info.value.source == str(path)
    assert info.value.field == member


def test_tvb_centres_count_must_match(tmp_path):
    members = small_members()
    members["centres.txt.bz2"] = bz2.compress(b"A 0 0 0\nB 1 0 0\n")
    with pytest.raises(InputError, match="2 centres for 3 regions") as info:
        connectome.load(write_zip(tmp_path / "c.zip", members))
    assert info.value.field == "centres.txt.bz2"


def test_not_a_zip(tmp_path):
    path = tmp_path / "fake.zip"
    path.write_text("hello")
    with pytest.raises(InputError, match="zip") as info:
        connectome.load(path)
    assert info.value.source == str(path)


# ---------------------------------------------------------------------------- HCP


@pytest.fixture(scope="module")
def hcp_stack():
    return connectome.load(HCP)


def test_hcp_study_folder_loads_as_a_stack(hcp_stack):
    assert hcp_stack.weights.shape == hcp_stack.lengths.shape == (7, 94, 94)
    assert hcp_stack.subject_ids == HCP_IDS
    assert hcp_stack.labels[0] == "Precentral_L" and hcp_stack.labels[-1] == "Temporal_Inf_R"
    assert hcp_stack.region_data["waytotal"].shape == (7, 94)
    assert hcp_stack.region_data["nvoxel"].shape == (7, 94)
    assert len(hcp_stack.sources) == 7 * 4  # CM, LEN, waytotal, nvoxel per subject
    first = HCP / "subjects" / HCP_IDS[0] / "structural"
    np.testing.assert_array_equal(hcp_stack.weights[0], loadmat(first / "DTI_CM.mat")["sc"])
    np.testing.assert_array_equal(hcp_stack.lengths[0], loadmat(first / "DTI_LEN.mat")["len"])
    np.testing.assert_array_equal(hcp_stack.region_data["waytotal"][0],
                                  np.loadtxt(first / "waytotal.txt"))
    np.testing.assert_array_equal(hcp_stack.region_data["nvoxel"][0],
                                  np.loadtxt(first / "nvoxel.txt")[:, 0])


def test_hcp_cortical_preset_keeps_80_regions_and_their_labels(hcp_stack):
    conn = connectome.preprocess(hcp_stack, regions={"preset": "aal2-cortical", "drop": []})
    assert conn.weights.shape == (80, 80)
    dropped = {hcp_stack.labels[i] for i in (*range(40, 46), *range(74, 82))}
    assert set(conn.labels) == set(hcp_stack.labels) - dropped
    assert "Thalamus_L" in dropped and "Insula_R" in conn.labels
    assert conn.labels[39:41] == ("Cingulate_Post_R", "Calcarine_L")


def test_hcp_subject_list_and_single_subject_folder():
    two = connectome.load(HCP, subjects=["213522", "101309"])
    assert two.weights.shape == (2, 94, 94)
    assert two.subject_ids == ("213522", "101309")
    one = connectome.load(HCP / "subjects" / "102311")
    assert one.weights.shape == (94, 94) and one.subject_ids is None
    np.testing.assert_array_equal(
        one.weights, loadmat(HCP / "subjects/102311/structural/DTI_CM.mat")["sc"])


def test_hcp_unknown_subject(tmp_path):
    with pytest.raises(InputError, match="unknown subject") as info:
        connectome.load(HCP, subjects=["999999"])
    assert info.value.field == "subjects"


def fake_subject(folder: Path, sc: np.ndarray, length: np.ndarray) -> Path:
    structural = folder / "structural"
    structural.mkdir(parents=True)
    savemat(structural / "DTI_CM.mat", {"sc": sc})
    savemat(structural / "DTI_LEN.mat", {"len": length})
    return structural


def test_hcp_unreadable_mat_names_the_file(tmp_path):
    structural = fake_subject(tmp_path / "s1", np.ones((3, 3)), np.ones((3, 3)))
    (structural / "DTI_LEN.mat").write_bytes(b"garbage, not MATLAB")
    with pytest.raises(InputError, match="MATLAB") as info:
        connectome.load(tmp_path / "s1", fmt="hcp")
    assert info.value.source == str(structural / "DTI_LEN.mat")


def test_hcp_wrong_key_and_nan(tmp_path):
    structural = fake_subject(tmp_path / "s1", np.ones((3, 3)), np.ones((3, 3)))
    savemat(structural / "DTI_CM.mat", {"counts": np.ones((3, 3))})
    with pytest.raises(InputError, match="missing variable 'sc'") as info:
        connectome.load(tmp_path / "s1")
    assert info.value.field == "sc"
    sc = np.ones((3, 3))
    sc[1, 2] = np.nan
    savemat(structural / "DTI_CM.mat", {"sc": sc})
    with pytest.raises(InputError, match=r"non-finite.*\(1, 2\)") as info:
        connectome.load(tmp_path / "s1")
    assert info.value.source == str(structural / "DTI_CM.mat")


# ---------------------------------------------------------------------------- plain matrices


def random_pair(rng, n=5):
    weights = rng.random((n, n))
    lengths = 10 + 100 * rng.random((n, n))
    return weights, lengths


def test_csv_tsv_npy_npz_read_the_same_numbers(tmp_path):
    rng = np.random.default_rng(11)
    weights, lengths = random_pair(rng)
    np.savetxt(tmp_path / "w.csv", weights, delimiter=",", fmt="%.17g")
    np.savetxt(tmp_path / "l.tsv", lengths, delimiter="\t", fmt="%.17g")
    conn = connectome.load(tmp_path / "w.csv", lengths=tmp_path / "l.tsv")
    np.testing.assert_array_equal(conn.weights, weights)
    np.testing.assert_array_equal(conn.lengths, lengths)
    assert conn.labels[0] == "region-000"

    np.save(tmp_path / "weights.npy", weights)
    np.save(tmp_path / "tract_lengths.npy", lengths)
    (tmp_path / "labels.txt").write_text("\n".join(f"Area {i}" for i in range(5)))
    conn = connectome.load(tmp_path, labels=tmp_path / "labels.txt")  # a matrix folder
    np.testing.assert_array_equal(conn.lengths, lengths)
    assert conn.labels[4] == "Area 4"  # names may hold spaces

    np.savez(tmp_path / "both.npz", weights=weights, lengths=lengths,
             labels=np.array(list("abcde")))
    conn = connectome.load(tmp_path / "both.npz")
    np.testing.assert_array_equal(conn.weights, weights)
    assert conn.labels == tuple("abcde")


def test_centres_file_gives_euclidean_lengths(tmp_path):
    np.savetxt(tmp_path / "w.txt", np.ones((3, 3)))
    (tmp_path / "centres.txt").write_text("a 0 0 0\nb 3 4 0\nc 0 0 12\n")
    conn = connectome.load(tmp_path / "w.txt", labels=tmp_path / "centres.txt")
    np.testing.assert_allclose(conn.lengths, [[0, 5, 12], [5, 0, 13], [12, 13, 0]])
    assert conn.steps[0]["lengths"] == "euclidean distance between centres"


@pytest.mark.parametrize(
    "weights, lengths, match, field",
    [
        (np.ones((3, 4)), np.ones((3, 4)), "square", "weights"),
        (np.full((3, 3), np.inf), np.ones((3, 3)), "non-finite", "weights"),
        (-np.ones((3, 3)), np.ones((3, 3)), "negative", "weights"),
        (np.ones((3, 3)), -np.ones((3, 3)), "negative", "lengths"),
        (np.ones((3, 3)), np.ones((4, 4)), "does not match", "lengths"),
    ],
)
def test_bad_matrices_name_file_and_field(tmp_path, weights, lengths, match, field):
    np.save(tmp_path / "w.npy", weights)
    np.save(tmp_path / "l.npy", lengths)
    with pytest.raises(InputError, match=match) as info:
        connectome.load(tmp_path / "w.npy", lengths=tmp_path / "l.npy")
    assert info.value.field == field
    expected_file = "w.npy" if field == "weights" else "l.npy"
    assert info.value.source == str(tmp_path / expected_file)


def test_labels_count_must_match(tmp_path):
    np.save(tmp_path / "w.npy", np.ones((3, 3)))
    np.save(tmp_path / "l.npy", np.ones((3, 3)))
    (tmp_path / "labels.txt").write_text("a\nb\n")
    with pytest.raises(InputError, match="2 labels for a matrix of 3") as info:
        connectome.load(tmp_path / "w.npy", lengths=tmp_path / "l.npy",
                        labels=tmp_path / "labels.txt")
    assert info.value.source == str(tmp_path / "labels.txt")


def test_labels_on_a_tvb_zip_count_checked(tmp_path):
    (tmp_path / "labels.txt").write_text("a\nb\n")
    with pytest.raises(InputError, match="2 labels") as info:
        connectome.load(TVB / "connectivity_68.zip", labels=tmp_path / "labels.txt")
    assert info.value.source == str(tmp_path / "labels.txt")


def test_csv_with_a_header_row_is_refused(tmp_path):
    (tmp_path / "w.csv").write_text("a,b\n1,2\n3,4\n")
    np.save(tmp_path / "l.npy", np.ones((2, 2)))
    with pytest.raises(InputError, match="numeric") as info:
        connectome.load(tmp_path / "w.csv", lengths=tmp_path / "l.npy")
    assert info.value.source == str(tmp_path / "w.csv")


def test_unknown_source_and_format():
    with pytest.raises(InputError, match="no such file") as info:
        connectome.load("does/not/exist.zip")
    assert info.value.field == "connectome.source"
    with pytest.raises(InputError, match="unknown format") as info:
        connectome.load(TVB / "connectivity_68.zip", fmt="gifti")
    assert info.value.field == "connectome.format"


def test_repr_is_one_short_line(hcp_stack):
    text = repr(hcp_stack)
    assert len(text) < 400 and "\n" not in text
    assert text.startswith("Connectome(94 regions, 7 subjects")
    assert "Precentral_L" in text and "Temporal_Inf_R" in text and "mm" in text
