"""The optimise workflow in CI: the whole Snakefile on config/studies/optimise-ci.yaml (two HCP
subjects, CMA-ES, two jobs of one subject each), and the same study killed (SIGKILL, Snakemake
and its jobs) once job 0 has finished two of its four generations, then rerun with
``--rerun-incomplete``: it resumes from its checkpoint and its history equals the
uninterrupted run's."""

from __future__ import annotations

import json
import pickle
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from test_faults import signal_all

SNAKEMAKE = shutil.which("snakemake")
pytestmark = pytest.mark.skipif(SNAKEMAKE is None, reason="snakemake is not installed")
STUDY = "optimise-ci"


def snakemake(repo_root: Path, work: Path, *args: str) -> list[str]:
    return [SNAKEMAKE, "-s", str(repo_root / "Snakefile"), "-d", str(work), "-j2", *args,
            "--configfile", str(repo_root / "config" / "studies" / f"{STUDY}.yaml")]


def workdir(tmp_path_factory, repo_root, name: str) -> Path:
    work = tmp_path_factory.mktemp(name)
    for item in ("resources", "config"):
        (work / item).symlink_to(repo_root / item)
    return work


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory, repo_root) -> Path:
    work = workdir(tmp_path_factory, repo_root, "optimise")
    done = subprocess.run(snakemake(repo_root, work), capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return work


def test_outputs_hold_every_candidate_and_each_subjects_best(whole_run):
    root = whole_run / "results" / "optimise" / STUDY
    history = pd.read_csv(root / "history.csv", dtype={"subject": str})
    # 2 subjects x 1 restart x 4 generations x 4 candidates, one seed each
    assert len(history) == 32
    assert history.groupby("subject").size().to_dict() == {"101309": 16, "102311": 16}
    assert history["sim_index"].is_unique  # noise keys never shared across jobs
    assert history["global_coupling"].between(0.2, 1.5).all()
    assert history["speed"].between(1.0, 16.0).all()
    for job, subject in enumerate(["101309", "102311"]):
        mine = pd.read_csv(root / "jobs" / f"job-{job}.csv", dtype={"subject": str})
        assert set(mine["subject"]) == {subject}
    best = pd.read_csv(root / "best.csv", dtype={"subject": str}).set_index("subject")
    for subject, frame in history.groupby("subject"):
        top = frame.loc[frame["objective"].idxmax()]
        assert best.loc[subject, "objective"] == top["objective"]
        assert best.loc[subject, "global_coupling"] == top["global_coupling"]
        assert best.loc[subject, "simulations"] == 16
        assert best.loc[subject, "objective"] == pytest.approx(best.loc[subject, "fc_corr"])
    figures = whole_run / "results" / "figures" / STUDY
    for name in ("optimise_convergence.png", "optimise_parameters.png"):
        assert (figures / name).stat().st_size > 0
        assert json.loads((figures / f"{name}.json").read_text())["stage"] == \
            "optimise-summary"


def test_killed_study_resumes_and_equals_the_uninterrupted_one(whole_run, tmp_path_factory,
                                                                repo_root):
    work = workdir(tmp_path_factory, repo_root, "optimise-killed")
    root = work / "results" / "optimise" / STUDY
    checkpoint = root / "state" / "job-0.pkl"
    with open(work / "run.log", "w") as log:
        run = subprocess.Popen(snakemake(repo_root, work), cwd=work, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while True:
            assert run.poll() is None, (work / "run.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "job 0 did not finish two generations"
            try:
                reached = pickle.loads(checkpoint.read_bytes())["generation"]
            except (OSError, EOFError, pickle.UnpicklingError):
                reached = 0
            if reached >= 2:
                break
            time.sleep(0.05)
        signal_all(run, work, signal.SIGSTOP)
        assert not (root / "jobs" / "job-0.csv").exists()
        reached = pickle.loads(checkpoint.read_bytes())["generation"]
    finally:
        signal_all(run, work, signal.SIGKILL)
        run.wait()
    assert 2 <= reached < 4

    unlock = subprocess.run(snakemake(repo_root, work, "--unlock"), capture_output=True,
                            text=True, timeout=300)
    assert unlock.returncode == 0, unlock.stderr[-3000:]
    rerun = subprocess.run(snakemake(repo_root, work, "--rerun-incomplete"),
                           capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    log = (work / "logs" / "optimise_job" / f"{STUDY}-0.log").read_text()
    assert f"resuming job 0 at generation {reached} of 4" in log
    resumed = pd.read_csv(root / "history.csv")
    whole = pd.read_csv(whole_run / "results" / "optimise" / STUDY / "history.csv")
    pd.testing.assert_frame_equal(resumed, whole, check_exact=True)
