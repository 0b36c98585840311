"""Faults on the tiny study: a run killed mid-shard, a shard killed and retried, a shard with
bad input.

1. The whole run (Snakemake and its jobs) is killed with SIGKILL while the shards simulate:
   no shard file may look complete, and Snakemake must know the shards were cut short.
2. `snakemake --unlock`, then `snakemake --rerun-incomplete --retries 1`; during that run one
   shard's process is killed again with SIGKILL: its job fails with a clear message, Snakemake
   retries it, the study finishes, and its results are bit-identical to
   `tests/checksums.sha256` (the same config run twice: see test_reproducibility.py).
3. A shard whose parameters are invalid fails its job with one `error:` line in its log,
   and leaves the other shards alone.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_reproducibility_checksums import (
    compare_checksums,
    mismatch_message,
    read_checksums,
    study_checksums,
)

SNAKEMAKE = shutil.which("snakemake")
pytestmark = pytest.mark.skipif(SNAKEMAKE is None, reason="snakemake is not installed")

# A shard's log gets a progress line ("shard 0 of 2 (2 simulations x 208 333 steps, numba):
# 40 % of ...") about a second into its kernel; one below 100 % means the simulation is under
# way and unfinished (a tiny shard's kernel runs for a few seconds on two cores).
PROGRESS = re.compile(r"^shard \d+ of \d+ \(\d+ simulations x [\d ]+ steps, numba\): (\d+) % of",
                      re.MULTILINE)


def processes_in(work: Path) -> dict[int, list[str]]:
    """pid -> argv of the processes working in ``work`` (only this test's runs use it)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "cwd") == str(work):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().decode().split("\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def shard_processes(work: Path) -> dict[int, int]:
    """pid -> shard id of the running `brainsweep simulate` processes in ``work``."""
    shards = {}
    for pid, argv in processes_in(work).items():
        # the Python process itself (`... bin/brainsweep simulate ... --shard-id i`), not the
        # shell around it (whose command line is one string)
        if "simulate" in argv and "--shard-id" in argv and any("brainsweep" in a for a in argv):
            shards[pid] = int(argv[argv.index("--shard-id") + 1])
    return shards


def start_snakemake(repo_root: Path, work: Path, *args: str, log: str) -> subprocess.Popen:
    with open(work / log, "w") as out:
        return subprocess.Popen(
            [SNAKEMAKE, "-s", str(repo_root / "Snakefile"), "-d", str(work), "-j2", *args,
             "--configfile", str(repo_root / "config" / "studies" / "tiny.yaml")],
            cwd=work, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_a_shard_mid_run(work: Path, run: subprocess.Popen, timeout: float) -> int:
    """Poll until a shard's log shows its kernel part-way through; return its pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert run.poll() is None, (work / "run.log").read_text()[-3000:]
        for pid, shard in shard_processes(work).items():
            log = work / "logs" / "simulate_shard" / f"tiny-{shard}.log"
            try:
                shares = [int(share) for share in PROGRESS.findall(log.read_text())]
            except OSError:
                continue
            if shares and shares[-1] < 100:
                return pid
        time.sleep(0.1)
    raise AssertionError(f"no shard was seen mid-simulation within {timeout} s")


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory, repo_root):
    """A tiny run killed with SIGKILL (Snakemake and every job) while a shard simulates."""
    work = tmp_path_factory.mktemp("tiny-killed")
    for name in ("resources", "config"):
        (work / name).symlink_to(repo_root / name)
    run = start_snakemake(repo_root, work, log="run.log")
    sims = work / "results" / "sims" / "tiny"
    try:
        wait_for_a_shard_mid_run(work, run, timeout=600)
        # Freeze everything first, so that no shard can finish between looking and killing;
        # a shard whose output is already in place at that moment had finished its work
        # (writing is the last thing it does) and is not one the kill interrupts.
        signal_all(run, work, signal.SIGSTOP)
        running_shards = sorted(shard for shard in shard_processes(work).values()
                                if not (sims / f"shard-{shard}.npz").exists())
    finally:
        # as a node failure would: Snakemake's process group, then any job left in `work`
        signal_all(run, work, signal.SIGKILL)
        run.wait()
    return work, running_shards


def signal_all(run: subprocess.Popen, work: Path, signum: int) -> None:
    """Send ``signum`` to Snakemake's process group and to every process working in ``work``."""
    try:
        os.killpg(run.pid, signum)
    except ProcessLookupError:
        pass
    for pid in processes_in(work):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def resumed_run(killed_run, repo_root):
    """`--unlock`, then `--rerun-incomplete --retries 1`, killing one shard once on the way."""
    work, _ = killed_run
    unlock = subprocess.run(
        [SNAKEMAKE, "-s", str(repo_root / "Snakefile"), "-d", str(work), "--unlock",
         "--configfile", str(repo_root / "config" / "studies" / "tiny.yaml")],
        capture_output=True, text=True, timeout=300)
    assert unlock.returncode == 0, unlock.stderr[-3000:]
    run = start_snakemake(repo_root, work, "--rerun-incomplete", "--retries", "1",
                          log="resume.log")
    try:
        victim = wait_for_a_shard_mid_run(work, run, timeout=600)
        killed_shard = shard_processes(work).get(victim)
        os.kill(victim, signal.SIGKILL)
        returncode = run.wait(timeout=900)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    return work, returncode, killed_shard, (work / "resume.log").read_text()


def test_killed_run_leaves_no_shard_that_looks_complete(killed_run):
    work, running_shards = killed_run
    assert running_shards, "the run was not killed while a shard was simulating"
    sims = work / "results" / "sims" / "tiny"
    for shard in running_shards:
        assert not (sims / f"shard-{shard}.npz").exists()
        assert not (sims / f"shard-{shard}.npz.json").exists()
    # whatever does carry an output's name (a stage that finished before the kill) is whole:
    # every array reads back (zip CRCs checked), and no partial file was renamed into place
    for path in (work / "results").rglob("*.npz"):
        if not path.name.startswith("."):
            with np.load(path, allow_pickle=False) as data:
                for key in data.files:
                    data[key]
    # Snakemake recorded that jobs were cut short: this is what --rerun-incomplete acts on
    assert any((work / ".snakemake" / "incomplete").iterdir())


def test_rerun_incomplete_retries_a_killed_shard_and_finishes(resumed_run):
    work, returncode, killed_shard, log = resumed_run
    assert returncode == 0, log[-4000:]
    assert killed_shard is not None
    # the killed shard's job failed visibly, naming its rule, shard and log file ...
    assert "Error in rule simulate_shard" in log
    assert f"logs/simulate_shard/tiny-{killed_shard}.log" in log
    # ... and was run again (attempt 2) rather than ending the study
    assert "Trying to restart job" in log
    assert (work / "results" / "sims" / "tiny" / f"shard-{killed_shard}.npz").is_file()


def test_resumed_study_gives_the_recorded_results(resumed_run):
    work, returncode, _, log = resumed_run
    assert returncode == 0, log[-4000:]
    problems = compare_checksums(study_checksums(work), read_checksums())
    assert not problems, mismatch_message(problems)


def test_a_shard_with_bad_parameters_fails_its_job_with_a_clear_log(resumed_run, repo_root):
    """A study in 4 shards of one simulation, where shard 0 has a zero conduction speed: that
    job fails, its log says why in one line, and it leaves no output; shard 1 (run with
    --keep-going) is unaffected."""
    work, returncode, _, _ = resumed_run
    assert returncode == 0  # tiny-bad builds its own connectome and kernel (its own study)
    config = yaml.safe_load((repo_root / "config" / "studies" / "tiny.yaml").read_text())
    config["study"] = "tiny-bad"
    config["sweep"]["speed"] = [0.0, 12.0]  # rows: (18, 0), (18, 12), (24, 0), (24, 12)
    config["shards"] = {"count": 4}
    (work / "bad.yaml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [SNAKEMAKE, "-s", str(repo_root / "Snakefile"), "-d", str(work), "-j2", "--keep-going",
         "results/sims/tiny-bad/shard-0.npz", "results/sims/tiny-bad/shard-1.npz",
         "--configfile", str(work / "bad.yaml")],
        capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Error in rule simulate_shard" in output
    job_log = work / "logs" / "simulate_shard" / "tiny-bad-0.log"
    assert str(job_log.relative_to(work)) in output
    text = job_log.read_text()
    assert "Traceback" not in text
    (line,) = [line for line in text.splitlines() if line.startswith("error:")]
    assert "speed" in line and "positive" in line
    sims = work / "results" / "sims" / "tiny-bad"
    assert not list(sims.glob("shard-0.npz*"))
    assert (sims / "shard-1.npz").is_file() and (sims / "shard-1.npz.json").is_file()
