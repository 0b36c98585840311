"""Bad input at the stage command lines: one `error:` line naming the file and the key, exit
status 2, no output. One case per row of docs/reliability.md ("bad input" and "unclear
messages"); the data are the shipped HCP files, copied and damaged where a case needs it."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import yaml
from faultcase import HCP, assert_refused, tiny_study

CORTICAL = {"preset": "aal2-cortical", "drop": []}


def hcp_copy(tmp_path, subjects=("101309", "102311")):
    """A study folder of two HCP subjects (links to the shipped files), to damage."""
    root = tmp_path / "hcp"
    for subject in subjects:
        for kind in ("structural", "functional"):
            folder = root / "subjects" / subject / kind
            folder.mkdir(parents=True)
            for file in (HCP / "subjects" / subject / kind).iterdir():
                (folder / file.name).symlink_to(file)
    return root


def settings(tmp_path, name, section) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(section))
    return str(path)


# ---- connectome and empirical: regions and subjects ------------------------------------------

def test_connectome_and_empirical_with_different_regions_of_the_same_count(tmp_path, cli):
    conn, emp = tmp_path / "c.npz", tmp_path / "e.npz"
    source = hcp_copy(tmp_path)
    assert cli("connectome", "--settings", json.dumps(
        {"source": str(source), "regions": {"preset": "aal2-cortical", "drop": [0]}}),
        "--out", conn).rc == 0
    outcome = cli("empirical", "--settings", json.dumps(
        {"source": str(source), "regions": {"preset": "aal2-cortical", "drop": [5]}}),
        "--connectome", conn, "--out", emp)
    # AAL2's first two regions (Precentral_L, Precentral_R) are kept by one selection and not
    # the other: the labels differ at position 0
    assert_refused(outcome, str(source), "[empirical.regions]", "'Precentral_L'",
                   "'Precentral_R'",
                   str(conn), absent=[emp])


def test_the_same_regions_pass_the_label_check(tmp_path, cli):
    conn, emp = tmp_path / "c.npz", tmp_path / "e.npz"
    source = hcp_copy(tmp_path)
    regions = {"preset": "aal2-cortical", "drop": [3]}
    assert cli("connectome", "--settings", json.dumps({"source": str(source),
               "regions": regions}), "--out", conn).rc == 0
    outcome = cli("empirical", "--settings", json.dumps({"source": str(source),
                  "regions": regions}), "--connectome", conn, "--out", emp)
    assert outcome.rc == 0, outcome.err
    with np.load(emp) as data, np.load(conn) as theirs:
        assert data["labels"].tolist() == theirs["labels"].tolist()
        assert data["labels"].size == 79


def test_a_subject_without_its_structural_file_is_an_error(tmp_path, cli):
    source = hcp_copy(tmp_path)
    (source / "subjects" / "102311" / "structural" / "DTI_CM.mat").unlink()
    out = tmp_path / "c.npz"
    outcome = cli("connectome", "--settings", json.dumps({"source": str(source),
                  "regions": CORTICAL}), "--out", out)
    assert_refused(outcome, "102311/structural/DTI_CM.mat", "[connectome.missing_subjects]",
                   absent=[out])


def test_a_skipped_subject_is_listed_in_the_log_and_the_sidecar(tmp_path, cli):
    source = hcp_copy(tmp_path)
    (source / "subjects" / "102311" / "structural" / "DTI_LEN.mat").unlink()
    out = tmp_path / "c.npz"
    outcome = cli("connectome", "--settings", json.dumps(
        {"source": str(source), "regions": CORTICAL, "missing_subjects": "skip"}),
        "--out", out)
    assert outcome.rc == 0, outcome.err
    assert outcome.lines[0].startswith("warning: subjects skipped") and "102311" in outcome.err
    load = json.loads((tmp_path / "c.npz.json").read_text())["steps"][0]
    assert load["subjects"] == ["101309"]
    assert load["skipped_subjects"] == {"102311": "102311/structural/DTI_LEN.mat"}
    # and the overview figure, which the study's report shows, names it
    from brainsweep.connectome.model import Connectome
    from brainsweep.connectome.plotting import skipped_note

    assert skipped_note(Connectome.from_npz(out)) == (
        "1 subject(s) skipped for missing files (connectome.missing_subjects: skip): 102311")


def test_a_subject_without_its_functional_file_is_an_error(tmp_path, cli):
    source = hcp_copy(tmp_path)
    for file in (source / "subjects" / "101309" / "functional").iterdir():
        file.unlink()
    out = tmp_path / "e.npz"
    outcome = cli("empirical", "--settings", json.dumps({"source": str(source)}), "--out", out)
    assert_refused(outcome, "101309", "functional/TC_", "[empirical.missing_subjects]",
                   absent=[out])
    outcome = cli("empirical", "--settings", json.dumps(
        {"source": str(source), "missing_subjects": "skip"}), "--out", out)
    assert outcome.rc == 0, outcome.err
    record = json.loads((tmp_path / "e.npz.json").read_text())
    assert record["n_subjects"] == 1
    assert list(record["skipped_subjects"]) == ["101309"]
    assert "101309" in outcome.err and outcome.err.startswith("warning: ")


# ---- empirical series ----------------------------------------------------------------------

def short_series(tmp_path, samples=30, regions=80, transpose=False):
    rng = np.random.default_rng(1)
    series = rng.standard_normal((samples, regions))
    path = tmp_path / "bold.npy"
    np.save(path, series.T if transpose else series)
    return path


def test_thirty_samples_of_eighty_regions_fc_rank(tmp_path, cli):
    path = short_series(tmp_path, samples=30, regions=80)
    out = tmp_path / "e.npz"
    outcome = cli("empirical", "--settings", json.dumps(
        {"source": str(path), "layout": "time-node", "regions": {"preset": None, "drop": []},
         "postprocess": {"bandpass": None, "transient_s": 0.0}}), "--out", out)
    assert outcome.rc == 0, outcome.err
    [warning] = json.loads((tmp_path / "e.npz.json").read_text())["warnings"]
    assert "30 samples for 80 regions" in warning and "rank at most 29 of 80" in warning
    with np.load(out) as data:  # the warning holds: 30 samples, rank <= 29 (mean removed;
        # the default linear detrend removes one more: 28)
        assert np.linalg.matrix_rank(data["fc_subjects"][0]) <= 29


def test_a_time_by_regions_matrix_read_the_wrong_way_names_the_layout(tmp_path, cli, chain):
    path = short_series(tmp_path, samples=30, regions=80)  # time x regions, fewer samples
    out = tmp_path / "e.npz"
    outcome = cli("empirical", "--settings", json.dumps(
        {"source": str(path), "regions": {"preset": None, "drop": []}}),
        "--connectome", chain["connectome"], "--out", out)
    assert_refused(outcome, str(path), "30 regions", "empirical.layout: time-node",
                   absent=[out])


@pytest.mark.parametrize("text", ["", "a,b,c\n", "\n\n"])
def test_an_empty_csv_is_one_error_line_without_a_numpy_warning(tmp_path, cli, text):
    path = tmp_path / "bold.csv"
    path.write_text(text)
    out = tmp_path / "e.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NumPy or pandas warning fails the case
        outcome = cli("empirical", "--settings", json.dumps({"source": str(path)}),
                      "--out", out)
    assert_refused(outcome, str(path), absent=[out])
    assert "Warning" not in outcome.err


# ---- connectome data the readers accept but a study cannot use ------------------------------

def test_all_zero_tract_lengths_are_refused(tmp_path, cli):
    weights = np.ones((4, 4)) - np.eye(4)
    np.savetxt(tmp_path / "w.csv", weights, delimiter=",")
    np.savetxt(tmp_path / "l.csv", np.zeros((4, 4)), delimiter=",")
    out = tmp_path / "c.npz"
    outcome = cli("connectome", "--settings", json.dumps(
        {"source": {"weights": str(tmp_path / "w.csv"), "lengths": str(tmp_path / "l.csv")},
         "format": "matrix"}), "--out", out)
    assert_refused(outcome, str(tmp_path / "l.csv"), "[lengths]", "tract length is 0",
                   absent=[out])


def tractography(tmp_path, inside: int, outside: int):
    """A two-parcel volume (2 mm voxels) and ``inside`` streamlines joining the parcels plus
    ``outside`` leaving the volume: a tractogram in the parcellation's space, or not."""
    import nibabel as nib
    from nibabel.streamlines import Field, Tractogram, TrkFile

    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    volume = np.zeros((10, 10, 10), dtype=np.int16)
    volume[:3] = 1
    volume[7:] = 2
    nib.save(nib.Nifti1Image(volume, affine), str(tmp_path / "parc.nii.gz"))
    across = np.linspace([2.0, 10.0, 10.0], [16.0, 10.0, 10.0], 6)
    away = np.linspace([2.0, 10.0, 10.0], [2.0, 10.0, 90.0], 6)
    lines = [across] * inside + [away] * outside
    header = {Field.VOXEL_TO_RASMM: affine, Field.DIMENSIONS: (10, 10, 10),
              Field.VOXEL_SIZES: (2.0, 2.0, 2.0), Field.VOXEL_ORDER: "RAS"}
    TrkFile(Tractogram(lines, affine_to_rasmm=np.eye(4)), header=header).save(
        str(tmp_path / "t.trk"))
    return str(tmp_path / "t.trk"), str(tmp_path / "parc.nii.gz")


def test_streamlines_mostly_outside_the_parcellation_are_refused(tmp_path, cli):
    lines, parc = tractography(tmp_path, inside=5, outside=8)
    out = tmp_path / "c.npz"
    outcome = cli("connectome", "--settings", json.dumps(
        {"source": {"streamlines": lines, "parcellation": parc}, "format": "tractography",
         "normalise": "none"}), "--out", out)
    assert_refused(outcome, lines, "[connectome.max_unassigned]", "62% of 13 streamlines",
                   absent=[out])
    # the threshold is the user's: raised, the same data are read, the counts kept
    outcome = cli("connectome", "--settings", json.dumps(
        {"source": {"streamlines": lines, "parcellation": parc}, "format": "tractography",
         "normalise": "none", "max_unassigned": 0.7}), "--out", out)
    assert outcome.rc == 0, outcome.err
    load = json.loads((tmp_path / "c.npz.json").read_text())["steps"][0]
    assert load["n_streamlines"] == 13 and load["assigned"] == 5


# ---- simulate-stage settings -----------------------------------------------------------------

def simulate_settings(tmp_path, **changes):
    study = tiny_study()
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        study[section][key] = value
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


@pytest.mark.parametrize(("change", "names"), [
    ({"sweep__global_coupling": [18.0, "fast"]}, ["[sweep.global_coupling]", "'fast'"]),
    ({"sweep__speed": {"linspace": [1, "x", 3]}}, ["[sweep.speed]", "linspace"]),
    ({"monitors__bold": {"preset": "friston2003", "tr": 0.72, "dt_s": 0.02}},
     ["[monitors.bold.dt_s]", "at most 0.01 s"]),
    ({"monitors__bold": {"preset": "friston2003", "tr": 0.72, "dt_s": 0.007}},
     ["[monitors.bold.dt_s]", "whole multiple"]),
    ({"shards__count": 0}, ["[shards]", "{'count': 0}"]),
])
def test_a_bad_simulate_setting_names_the_study_file_and_key(tmp_path, cli, change, names):
    path = simulate_settings(tmp_path, **change)
    out = tmp_path / "s.npz"
    outcome = cli("simulate", "--settings", path, "--connectome", tmp_path / "none.npz",
                  "--shard-id", 0, "--out", out)
    assert_refused(outcome, str(path), *names, absent=[out])


@pytest.mark.parametrize(("dt", "message"), [(0, "got 0"), (-0.1, "got -0.1")])
def test_a_step_of_zero_or_less_names_integration_dt(tmp_path, cli, dt, message):
    # as a JSON section (not validated by the schema first): the stage's own check
    section = {"model": {"name": "montbrio"}, "integration": {"dt": dt},
               "sweep": {"speed": [3.0]}}
    out = tmp_path / "s.npz"
    outcome = cli("simulate", "--settings", json.dumps(section), "--connectome",
                  tmp_path / "none.npz", "--shard-id", 0, "--out", out)
    assert_refused(outcome, "[integration.dt]", message, absent=[out])


def test_a_whole_study_file_with_dt_zero_names_the_file(tmp_path, cli):
    study = tiny_study()
    study["integration"]["dt"] = 0
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    outcome = cli("simulate", "--settings", path, "--connectome", tmp_path / "none.npz",
                  "--shard-id", 0, "--out", tmp_path / "s.npz")
    assert_refused(outcome, str(path), "[integration.dt]")


def test_a_shard_that_does_not_exist(tmp_path, cli, chain):
    out = tmp_path / "s.npz"
    outcome = cli("simulate", "--settings", chain["settings"], "--connectome",
                  chain["connectome"], "--shard-id", 3, "--out", out)
    assert_refused(outcome, "shard 3 does not exist", absent=[out])


# ---- damaged inputs of later stages ------------------------------------------------------------

def truncated(path, tmp_path):
    copy = tmp_path / f"truncated-{path.name}"
    copy.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return copy


def test_a_truncated_connectome_given_to_the_simulate_stage(tmp_path, cli, chain):
    bad = truncated(chain["connectome"], tmp_path)
    out = tmp_path / "s.npz"
    outcome = cli("simulate", "--settings", chain["settings"], "--connectome", bad,
                  "--shard-id", 0, "--out", out)
    assert_refused(outcome, str(bad), "truncated or corrupt", absent=[out])


def test_a_truncated_empirical_file_given_to_the_fit_stage(tmp_path, cli, chain):
    bad = truncated(chain["empirical"], tmp_path)
    out = tmp_path / "fit"
    outcome = cli("fit", "--settings", chain["settings"], "--empirical", bad, chain["bold"],
                  "--out-dir", out)
    assert_refused(outcome, str(bad), "truncated or corrupt", absent=[out / "scores.csv"])
    assert not out.exists() or not any(out.iterdir())


def test_a_truncated_bold_shard_given_to_the_fit_stage(tmp_path, cli, chain):
    bad = truncated(chain["bold"], tmp_path)
    out = tmp_path / "fit"
    outcome = cli("fit", "--settings", chain["settings"], "--empirical", chain["empirical"],
                  bad, "--out-dir", out)
    assert_refused(outcome, str(bad), absent=[out / "scores.csv", out / "best.json"])


def test_a_missing_input_file(tmp_path, cli, chain):
    out = tmp_path / "b.npz"
    outcome = cli("bold", "--settings", chain["settings"], "--shard-file", tmp_path / "none.npz",
                  "--out", out)
    assert_refused(outcome, str(tmp_path / "none.npz"), "file not found", absent=[out])


def test_a_single_array_npy_renamed_npz(tmp_path, cli, chain):
    bad = tmp_path / "c.npz"
    with open(bad, "wb") as handle:
        np.save(handle, np.ones((3, 3)))
    out = tmp_path / "s.npz"
    outcome = cli("simulate", "--settings", chain["settings"], "--connectome", bad,
                  "--shard-id", 0, "--out", out)
    assert_refused(outcome, str(bad), absent=[out])


def test_settings_that_are_not_json(tmp_path, cli):
    outcome = cli("bold", "--settings", "{not json", "--shard-file", "x", "--out", tmp_path / "b")
    assert outcome.rc == 2 and "Traceback" not in outcome.err
    assert outcome.lines[-1].startswith("brainsweep bold: error: argument --settings")


def test_a_region_mismatch_of_a_file_read_the_right_way_gets_no_layout_hint(tmp_path, cli,
                                                                            chain):
    path = short_series(tmp_path, samples=200, regions=30)  # time x regions, read rightly
    out = tmp_path / "e.npz"
    outcome = cli("empirical", "--settings", json.dumps(
        {"source": str(path), "regions": {"preset": None, "drop": []}}),
        "--connectome", chain["connectome"], "--out", out)
    assert_refused(outcome, "30 regions selected", "has 80", absent=[out])
    assert "layout" not in outcome.err


def test_a_time_by_regions_file_of_all_94_regions_names_the_layout(tmp_path, cli):
    path = short_series(tmp_path, samples=40, regions=94)
    out = tmp_path / "e.npz"
    outcome = cli("empirical", "--settings", json.dumps({"source": str(path)}), "--out", out)
    assert_refused(outcome, "[regions.preset]", "applies to 94 regions, the input has 40",
                   "read 94 samples of 40 regions", "empirical.layout: time-node",
                   absent=[out])
