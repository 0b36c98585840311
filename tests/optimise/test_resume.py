"""A killed optimise job resumes from its last finished generation and ends where an
uninterrupted job ends: `brainsweep optimise` is killed (SIGKILL) once its checkpoint holds
two finished generations, rerun, and its history compared with an uninterrupted run's, for
CMA-ES (pickled strategy) and for TPE (trials in the SQLite file, the killed run's unfinished
trials marked failed)."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from optimise_problem import settings

from brainsweep.optimise.stage import run_job, state_paths

CLI = [sys.executable, "-c", "import sys; from brainsweep.cli import main; sys.exit(main())"]


def optimise_command(settings_file, connectome, empirical, out):
    return [*CLI, "optimise", "--settings", str(settings_file), "--connectome",
            str(connectome), "--empirical", str(empirical), "--job", "0", "--out", str(out)]


def finished_generations(checkpoint) -> int:
    try:
        with open(checkpoint, "rb") as handle:
            return pickle.load(handle)["generation"]
    except (OSError, EOFError, pickle.UnpicklingError):
        return 0


@pytest.mark.parametrize("method", ["cmaes", "tpe"])
def test_killed_job_resumes_and_equals_an_uninterrupted_one(method, problem_files, tmp_path):
    connectome, empirical = problem_files
    options = settings(method=method, budget=16, seeds=1)  # 4 generations of 4
    whole = run_job(options, connectome, empirical, 0, tmp_path / "whole" / "jobs" / "job-0.csv")

    settings_file = tmp_path / "settings.json"
    settings_file.write_text(json.dumps(options))
    out = tmp_path / "killed" / "jobs" / "job-0.csv"
    checkpoint = state_paths(out, 0)["checkpoint"]
    command = optimise_command(settings_file, connectome, empirical, out)
    run = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while finished_generations(checkpoint) < 2:
        assert run.poll() is None, run.stderr.read()
        assert time.monotonic() < deadline, "no second generation within 120 s"
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    reached = finished_generations(checkpoint)
    assert not out.exists() and 2 <= reached < 4  # killed before the job finished

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"resuming job 0 at generation {reached} of 4" in rerun.stderr
    resumed, uninterrupted = pd.read_csv(out), pd.read_csv(whole)
    pd.testing.assert_frame_equal(resumed, uninterrupted, check_exact=True)
    if method == "tpe":  # the file holds each finished trial once, complete
        import optuna

        storage = f"sqlite:///{state_paths(out, 0)['optuna']}"
        (summary,) = optuna.get_all_study_summaries(storage)
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
        assert len(complete) == 16
        assert sorted(t.user_attrs["generation"] for t in complete) == sorted(
            uninterrupted["generation"].tolist())
