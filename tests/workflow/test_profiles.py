"""The Snakemake profiles: `snakemake --profile slurm` submits what a cluster needs, and the
local profile schedules GPU shards by the `gpu` resource.

The SLURM test runs the real SLURM executor plugin against fake `sbatch`, `squeue`, `sacct`,
`scontrol`, `sinfo`, `sacctmgr` and `scancel` on PATH: they record their arguments and answer
as SLURM does, and `sacct` reports every job FAILED, so Snakemake stops right after the first
submissions and no job runs. The connectome and kernel are stand-in files, so that the first
submissions are the simulation shards (and the empirical stage, a CPU job).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SNAKEMAKE = shutil.which("snakemake")
pytestmark = pytest.mark.skipif(SNAKEMAKE is None, reason="snakemake is not installed")

try:
    import snakemake_executor_plugin_slurm  # noqa: F401

    HAVE_SLURM_PLUGIN = True
except ImportError:
    HAVE_SLURM_PLUGIN = False
needs_slurm_plugin = pytest.mark.skipif(
    not HAVE_SLURM_PLUGIN, reason='needs pip install -e ".[slurm]"')

ACCOUNT_ON_CLUSTER = "brainsweep-lab"

# One script answers for every SLURM command, by the name it was called with. It appends
# {"command", "argv", "stdin"} to $FAKE_SLURM_LOG as one JSON line per call.
FAKE_SLURM = r'''import fcntl
import json
import os
import re
import sys
from pathlib import Path

name, argv = sys.argv[1], sys.argv[2:]
log = Path(os.environ["FAKE_SLURM_LOG"])
ids = log.with_suffix(".ids")
stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
with log.open("a") as handle:
    fcntl.flock(handle, fcntl.LOCK_EX)  # the plugin submits from two threads at once
    handle.write(json.dumps({"command": name, "argv": argv, "stdin": stdin}) + "\n")
    known = ids.read_text().split() if ids.exists() else []
    if name == "sbatch":
        job_id = str(1000 + len(known))
        ids.write_text(" ".join([*known, job_id]))
        print(job_id)  # what `sbatch --parsable` prints
if name in ("sacct", "squeue"):  # the status of this run's jobs
    for job_id in known:  # every job ended in failure: Snakemake stops at once
        print(f"{job_id}|FAILED")
elif name == "sacctmgr":
    print(os.environ["FAKE_SLURM_ACCOUNTS"])
elif name == "sinfo":
    print("PARTITION\ncpu*\ngpu")
elif name == "scontrol":
    print("MaxArraySize = 1001\nMinJobAge = 300 sec")
'''
SLURM_COMMANDS = ("sbatch", "squeue", "sacct", "scontrol", "sinfo", "sacctmgr", "sshare",
                  "scancel")


@pytest.fixture(scope="module")
def fake_slurm_bin(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fake-slurm-bin")
    script = folder / "fake_slurm.py"
    script.write_text(FAKE_SLURM)
    for command in SLURM_COMMANDS:
        wrapper = folder / command
        # `sacct -j <job>.<step>` asks why a job failed, for 10 steps a job: answered here
        # with nothing (no step ever ran), without starting Python 30 times
        shortcut = '[ "$1" = "-j" ] && exit 0\n' if command == "sacct" else ""
        wrapper.write_text(f"#!/bin/sh\n{shortcut}exec {shlex.quote(sys.executable)} "
                           f'{shlex.quote(str(script))} {command} "$@"\n')
        wrapper.chmod(0o755)
    return folder


def slurm_profile_settings(repo_root: Path) -> dict:
    return yaml.safe_load((repo_root / "slurm" / "config.v8+.yaml").read_text())


def study_config(repo_root: Path, folder: Path, **simulation) -> Path:
    """The tiny study with some `simulation` keys replaced."""
    config = yaml.safe_load((repo_root / "config" / "studies" / "tiny.yaml").read_text())
    config["simulation"].update(simulation)
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def submit_with_fake_slurm(repo_root: Path, fake_bin: Path, work: Path, config: Path,
                           *extra: str) -> list[dict]:
    """Run `snakemake --profile slurm` as from the checkout; return the recorded SLURM calls.

    `work` stands in for the checkout (links to its data, config and `slurm` profile): the
    profile names its partition file relative to itself, which Snakemake resolves against
    the directory it was started in, so the test starts it there rather than using -d.
    """
    for name in ("resources", "config", "slurm"):
        (work / name).symlink_to(repo_root / name)
    # stand-ins for the connectome and both kernels: the first jobs are then the shards
    study = yaml.safe_load(config.read_text())["study"]
    for stub in (f"results/connectome/{study}/hcp-aal2-cortical.npz",
                 f"results/connectome/{study}/hcp-aal2-cortical.npz.json",
                 f"results/connectome/{study}/hcp-aal2-cortical.png",
                 f"results/connectome/{study}/hcp-aal2-cortical.png.json",
                 f"results/kernels/{study}/montbrio.py", f"results/kernels/{study}/montbrio.cu"):
        (work / stub).parent.mkdir(parents=True, exist_ok=True)
        (work / stub).write_text("stand-in\n")
    log = work / "slurm-calls.jsonl"
    account = slurm_profile_settings(repo_root)["default-resources"]["slurm_account"]
    env = {**os.environ, "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}",
           "FAKE_SLURM_LOG": str(log), "FAKE_SLURM_ACCOUNTS": f"{account}\n{ACCOUNT_ON_CLUSTER}"}
    env.pop("SLURM_JOB_ID", None)
    result = subprocess.run(
        [SNAKEMAKE, "--profile", "slurm", "-s", str(repo_root / "Snakefile"),
         "--configfile", str(config),
         # the failures sacct reports are the end of this test: no retry, no waiting
         "--retries", "0", "--slurm-init-seconds-before-status-checks", "1",
         *extra],
        cwd=work, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    # fails because sacct says so, not before submitting
    assert result.returncode != 0, output[-3000:]
    assert log.exists(), f"nothing was submitted:\n{output[-3000:]}"
    return [json.loads(line) for line in log.read_text().splitlines()]


def sbatch_calls(calls: list[dict]) -> dict[str, list[list[str]]]:
    """sbatch argument lists by rule name (read from the --comment Snakemake sets)."""
    by_rule: dict[str, list[list[str]]] = {}
    for call in calls:
        if call["command"] != "sbatch":
            continue
        argv = call["argv"]
        comment = argv[argv.index("--comment") + 1]
        rule = comment.removeprefix("rule_").split("_wildcards_")[0]
        by_rule.setdefault(rule, []).append(argv)
    return by_rule


def option(argv: list[str], *names: str) -> str | None:
    """The value of an sbatch option given as `-x v`, `--xx v` or `--xx=v`."""
    for index, arg in enumerate(argv):
        for name in names:
            if arg == name:
                return argv[index + 1]
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return None


@pytest.fixture(scope="module")
def cpu_submission(repo_root, fake_slurm_bin, tmp_path_factory):
    work = tmp_path_factory.mktemp("slurm-cpu")
    config = study_config(repo_root, work)
    return sbatch_calls(submit_with_fake_slurm(repo_root, fake_slurm_bin, work, config))


@pytest.fixture(scope="module")
def gpu_array_submission(repo_root, fake_slurm_bin, tmp_path_factory):
    work = tmp_path_factory.mktemp("slurm-gpu")
    config = study_config(repo_root, work, target="cuda")
    return sbatch_calls(submit_with_fake_slurm(repo_root, fake_slurm_bin, work, config,
                                               "--slurm-array-jobs=simulate_shard"))


def test_profile_is_reachable_from_the_checkout(repo_root):
    link = repo_root / "slurm"
    assert link.is_symlink()
    assert (link / "config.v8+.yaml").resolve() == (
        repo_root / "config" / "profiles" / "slurm" / "config.v8+.yaml")
    settings = slurm_profile_settings(repo_root)
    assert settings["executor"] == "slurm"
    # partitions come from the plugin's partition file, never from a rule or a default that
    # would pin GPU shards to a CPU partition (or the reverse)
    assert "slurm_partition" not in settings["default-resources"]
    partitions = yaml.safe_load((link / settings["slurm-partition-config"]).read_text())
    assert partitions["partitions"]["gpu"]["max_gpu"] > 0
    assert partitions["partitions"]["cpu"].get("max_gpu", 0) == 0


@needs_slurm_plugin
def test_cpu_jobs_go_to_the_cpu_partition_with_account_runtime_and_memory(
        cpu_submission, repo_root):
    account = slurm_profile_settings(repo_root)["default-resources"]["slurm_account"]
    assert set(cpu_submission) == {"build_empirical", "simulate_shard"}, cpu_submission
    (empirical,) = cpu_submission["build_empirical"]
    assert option(empirical, "-p", "--partition") == "cpu"
    assert option(empirical, "-A", "--account") == account
    assert option(empirical, "-t", "--time") == "10"  # the rule's runtime (minutes)
    assert option(empirical, "--mem") == "2000"  # the rule's mem_mb
    assert option(empirical, "--gpus") is None
    shards = cpu_submission["simulate_shard"]
    assert len(shards) == 2  # one sbatch per shard without array jobs
    for shard in shards:
        assert option(shard, "-p", "--partition") == "cpu"  # target numba: no GPU
        assert option(shard, "-A", "--account") == account
        assert option(shard, "-t", "--time") == "120"  # the profile's shard runtime
        assert option(shard, "--mem") == "4000"
        assert option(shard, "--cpus-per-task") == "1"  # simulation.threads of tiny.yaml
        assert option(shard, "--gpus") is None
        assert option(shard, "--array") is None


@needs_slurm_plugin
def test_gpu_shards_go_to_the_gpu_partition_as_one_array_job(gpu_array_submission, repo_root):
    account = slurm_profile_settings(repo_root)["default-resources"]["slurm_account"]
    (array,) = gpu_array_submission["simulate_shard"]  # both shards in one sbatch
    assert option(array, "--array") == "1-2"
    assert option(array, "-p", "--partition") == "gpu"
    assert option(array, "--gpus") == "1"  # per array task
    assert option(array, "-A", "--account") == account
    assert option(array, "-t", "--time") == "120"
    # the plugin adds a little memory for the array payload on top of the rule's 4000 MB
    assert 4000 <= int(option(array, "--mem")) < 4100
    # the CPU job beside it stays on the CPU partition
    (empirical,) = gpu_array_submission["build_empirical"]
    assert option(empirical, "-p", "--partition") == "cpu"
    assert option(empirical, "--gpus") is None


def shard_gpu_requests(dry_run_output: str) -> list[str]:
    """The `gpu=` value of every simulate_shard job in a dry run's job listing."""
    blocks = re.split(r"\n(?=(?:local)?rule \w+:)", dry_run_output)
    return [re.search(r"\bgpu=(\d+)", block).group(1)
            for block in blocks if block.startswith("rule simulate_shard:")]


def test_local_profile_schedules_gpu_shards_by_the_gpu_resource(repo_root, tmp_path):
    """`snakemake --profile config/profiles/local`: 8 cores and a `gpu` pool; each shard of a
    GPU target takes one unit of it, so at most `gpu` shards run at once. (CPU shards take
    none: see the SLURM test, where they ask for no GPU.)"""
    settings = yaml.safe_load(
        (repo_root / "config" / "profiles" / "local" / "config.v8+.yaml").read_text())
    assert settings["cores"] == 8 and settings["resources"]["gpu"] >= 1
    config = study_config(repo_root, tmp_path, target="cuda")
    for name in ("resources", "config"):
        (tmp_path / name).symlink_to(repo_root / name)
    result = subprocess.run(
        [SNAKEMAKE, "--profile", "config/profiles/local", "-s", "Snakefile",
         "-d", str(tmp_path), "--configfile", str(config), "-n"],
        cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert shard_gpu_requests(result.stdout + result.stderr) == ["1", "1"]
