"""run_stage, save/from_npz, delay_summary and plot."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.io import loadmat

from brainsweep import connectome
from brainsweep.connectome import Connectome
from brainsweep.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
TVB68 = ROOT / "resources" / "tvb-connectivity" / "connectivity_68.zip"
HCP = ROOT / "resources" / "hcp-aal2"
RTOL = 8 * np.finfo(np.float64).eps


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_run_stage_hcp_two_subjects_against_a_hand_computation(tmp_path):
    out = tmp_path / "results" / "connectome" / "hcp.npz"
    settings = {
        "source": str(HCP), "format": "auto", "subjects": ["101309", "377451"],
        "regions": {"preset": "aal2-cortical", "drop": []}, "symmetrise": "mean",
        "normalise": "waytotal", "threshold": None, "average": "mean", "labels": None,
    }
    assert connectome.run_stage(settings, out) == out
    keep = [i for i in range(94) if not (40 <= i <= 45 or 74 <= i <= 81)]
    weights, lengths, exists = [], [], []
    for subject in ("101309", "377451"):
        folder = HCP / "subjects" / subject / "structural"
        sc = loadmat(folder / "DTI_CM.mat")["sc"][np.ix_(keep, keep)]
        ln = loadmat(folder / "DTI_LEN.mat")["len"][np.ix_(keep, keep)]
        way = np.loadtxt(folder / "waytotal.txt")[keep]
        sc = (sc + sc.T) / 2
        np.fill_diagonal(sc, 0)
        weights.append(sc / way[None, :])
        lengths.append(ln)
        exists.append(sc > 0)
    saved = np.load(out)
    np.testing.assert_allclose(saved["weights"], np.mean(weights, axis=0), rtol=RTOL)
    n_exist = np.sum(exists, axis=0)
    summed = np.sum(np.where(exists, lengths, 0), axis=0)
    expected_len = np.where(n_exist > 0, summed / np.maximum(n_exist, 1),
                            np.mean(lengths, axis=0))
    np.fill_diagonal(expected_len, 0)
    np.testing.assert_allclose(saved["lengths"], expected_len, rtol=RTOL)
    assert saved["labels"].shape == (80,) and "centres" not in saved.files

    sidecar = json.loads(Path(f"{out}.json").read_text())
    assert len(sidecar["inputs"]) == 8  # CM, LEN, waytotal, nvoxel for each subject
    cm = str(HCP / "subjects" / "377451" / "structural" / "DTI_CM.mat")
    assert sidecar["inputs"][cm]["sha256"] == sha256(cm)
    assert sidecar["output"]["sha256"] == sha256(out)
    assert sidecar["config"]["normalise"] == "waytotal"
    assert [s["step"] for s in sidecar["steps"]] == [
        "load", "select_regions", "symmetrise", "zero_diagonal", "normalise", "average"]
    assert not list(out.parent.glob(".*tmp*"))  # no temporary files left


def test_run_stage_tvb68_defaults(tmp_path):
    out = tmp_path / "tvb68.npz"
    connectome.run_stage({"source": str(TVB68)}, out)
    conn = Connectome.from_npz(out)
    assert conn.n_regions == 68 and conn.centres.shape == (68, 3)
    assert conn.weights.max() == 1.0 and np.all(np.diag(conn.weights) == 0)
    assert conn.steps[0]["format"] == "tvb-zip"  # steps come back from the sidecar
    assert json.loads(Path(f"{out}.json").read_text())["inputs"][str(TVB68)]["sha256"] \
        == sha256(TVB68)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"normalise": "zscore"}, "connectome.normalise"),
        ({"symmetrise": True}, "connectome.symmetrise"),
        ({"threshold": {"density": 2}}, "connectome.threshold.density"),
        ({"average": {"consistency": 1.5}}, "connectome.average.consistency"),
        ({"format": "gifti"}, "connectome.format"),
        ({"subjects": "some"}, "connectome.subjects"),
        ({"colour": "red"}, "connectome.colour"),
        ({"source": None}, "connectome.source"),
        ({"source": "no/such/folder"}, "connectome.source"),
        ({"regions": {"preset": "aal3"}}, "connectome.regions.preset"),
        ({"normalise": "waytotal", "source": str(TVB68), "subjects": "all"},
         "connectome.normalise"),
        ({"source": str(TVB68)}, "connectome.subjects"),  # subject lists are for HCP
    ],
)
def test_run_stage_bad_settings_leave_no_output(tmp_path, change, field):
    out = tmp_path / "out.npz"
    settings = {"source": str(HCP), "subjects": ["101309"], **change}
    with pytest.raises(InputError) as info:
        connectome.run_stage(settings, out)
    assert info.value.field == field
    assert list(tmp_path.iterdir()) == []


def test_run_stage_bad_data_leaves_no_output(tmp_path):
    bad = np.ones((4, 4))
    bad[2, 3] = np.nan
    np.save(tmp_path / "weights.npy", bad)
    np.save(tmp_path / "lengths.npy", np.ones((4, 4)))
    out = tmp_path / "results" / "bad.npz"
    with pytest.raises(InputError, match="non-finite") as info:
        connectome.run_stage({"source": str(tmp_path)}, out)
    assert info.value.source == str(tmp_path / "weights.npy")
    assert not out.exists() and not Path(f"{out}.json").exists()


def test_run_stage_keeps_a_previous_output_when_failing(tmp_path):
    out = tmp_path / "c.npz"
    connectome.run_stage({"source": str(TVB68)}, out)
    before = sha256(out)
    with pytest.raises(InputError):
        connectome.run_stage({"source": str(TVB68), "threshold": {"density": 0}}, out)
    assert sha256(out) == before


def test_save_and_from_npz_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    w = rng.random((3, 4, 4))
    conn = Connectome(w, 10 + rng.random((3, 4, 4)), ("a", "b", "c", "d"),
                      centres=rng.random((4, 3)), subject_ids=("x", "y", "z"),
                      steps=({"step": "load", "format": "test"},))
    back = Connectome.from_npz(conn.save(tmp_path / "c.npz"))
    np.testing.assert_array_equal(back.weights, conn.weights)
    np.testing.assert_array_equal(back.lengths, conn.lengths)
    np.testing.assert_array_equal(back.centres, conn.centres)
    assert back.labels == conn.labels and back.subject_ids == conn.subject_ids
    assert back.steps == conn.steps


def test_from_npz_missing_key(tmp_path):
    np.savez(tmp_path / "x.npz", weights=np.ones((2, 2)))
    with pytest.raises(InputError, match="missing array 'lengths'") as info:
        Connectome.from_npz(tmp_path / "x.npz")
    assert info.value.source == str(tmp_path / "x.npz")


def test_delay_summary_by_hand():
    w = np.array([[0, 1, 0], [1, 0, 2], [0, 2, 0]], dtype=float)
    # 250 mm at 5 m/s = 50 ms -> 500 steps of 0.1 ms; the 999 mm length has no weight
    lengths = np.array([[0, 30, 999], [30, 0, 250], [999, 250, 0]], dtype=float)
    summary = connectome.delay_summary(Connectome(w, lengths, ("a", "b", "c")),
                                       speed=5.0, dt=0.1)
    assert summary["max_delay_steps"] == 500
    assert summary["mean_delay_steps"] == pytest.approx((60 + 60 + 500 + 500) / 4)
    assert summary["n_connections"] == 4
    assert summary["history_bytes"] == 501 * 3 * 4  # float32, one variable


def test_delay_summary_tvb68_max():
    conn = connectome.load(TVB68)
    summary = connectome.delay_summary(conn, speed=3.0, dt=0.1, dtype="float64")
    # 252.90276 mm / 3 mm/ms / 0.1 ms = 843.0092 -> 843 steps
    assert summary["max_delay_steps"] == 843
    assert summary["history_bytes"] == 844 * 68 * 8


@pytest.mark.parametrize("kwargs, field", [({"speed": 0.0, "dt": 0.1}, "speed"),
                                           ({"speed": 3.0, "dt": -1}, "dt")])
def test_delay_summary_refuses_nonpositive(kwargs, field):
    conn = Connectome(np.ones((2, 2)), np.ones((2, 2)), ("a", "b"))
    with pytest.raises(InputError) as info:
        connectome.delay_summary(conn, **kwargs)
    assert info.value.field == field


def test_plot_writes_a_png_atomically(tmp_path):
    conn = connectome.preprocess(connectome.load(TVB68))
    path = connectome.plot(conn, tmp_path / "figs" / "tvb68.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert [p.name for p in path.parent.iterdir()] == ["tvb68.png"]
