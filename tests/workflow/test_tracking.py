"""What the workflow tracks: a kernel is remade from exactly the files and settings it is made
of, shards run the file the kernel rule wrote, and every output that depends on a study's
settings lives under the study's name.

The rerun checks run Snakemake on a copy of the checkout (its package on PYTHONPATH, so the
copy's templates and model files are the ones rendered), with a two-simulation version of
the tiny study, and then touch one file at a time and dry-run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from brainsweep.codegen import template_files

SNAKEMAKE = shutil.which("snakemake")
needs_snakemake = pytest.mark.skipif(SNAKEMAKE is None, reason="snakemake is not installed")
COPIED = ("Snakefile", "rules", "config", "kernels", "envs", "docs/report")


def test_template_files_follow_every_include_of_the_main_template(repo_root):
    templates = repo_root / "kernels" / "templates"
    numba = template_files("numba")
    assert numba == sorted(numba) and len(set(numba)) == len(numba)
    # the Numba kernel is every template of its folder: the main one and all it pulls in
    assert {path.name for path in numba} == {
        path.name for path in (templates / "numba").glob("*.j2")}
    for target in ("cuda", "opencl"):
        files = template_files(target)
        assert all(path.is_file() for path in files)
        # the GPU prelude is imported under a computed name: every candidate is listed
        assert {"simulate.j2", "common.j2", "prelude_cuda.j2", "prelude_opencl.j2"} <= {
            path.name for path in files}
        assert not any(path.parent.name == "numba" for path in files)


def test_rules_read_target_facts_from_the_target_classes(repo_root):
    rules = "\n".join(path.read_text() for path in (repo_root / "rules").glob("*.smk"))
    for stale in ("KERNEL_SUFFIX", "CONDA_ENV", '"cuda"', "'cuda'"):
        assert stale not in rules, stale
    assert "TARGET_INFO.file_suffix" in rules and "TARGET_INFO.conda_env" in rules
    assert "TARGET_INFO.uses_gpu" in rules


def run_snakemake(copy: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(copy / "workflow")}
    return subprocess.run(
        [SNAKEMAKE, "-s", str(copy / "Snakefile"), "-d", str(work), *args,
         "--configfile", str(work / "study.yaml")],
        capture_output=True, text=True, timeout=900, env=env)


def planned(result: subprocess.CompletedProcess) -> dict[str, int]:
    """rule -> job count of a dry run's job table (empty: nothing to be done)."""
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    if "Nothing to be done" in output:
        return {}
    table = output.split("Job stats:", 1)[1]
    rows = re.findall(r"^(\w+)\s+(\d+)\s*$", table, re.MULTILINE)
    return {rule: int(count) for rule, count in rows if rule != "total"}


@pytest.fixture(scope="module")
def finished_copy(tmp_path_factory, repo_root):
    """A copy of the checkout and a finished two-simulation tiny study run from it."""
    copy = tmp_path_factory.mktemp("checkout")
    for name in COPIED:
        source = repo_root / name
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copy2(source, target)
    shutil.copytree(repo_root / "workflow" / "brainsweep", copy / "workflow" / "brainsweep",
                    symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "resources").symlink_to(repo_root / "resources")
    work = tmp_path_factory.mktemp("work")
    (work / "resources").symlink_to(repo_root / "resources")
    study = yaml.safe_load((repo_root / "config" / "studies" / "tiny.yaml").read_text())
    study["sweep"]["global_coupling"] = [18.0]  # two simulations, one per shard
    (work / "study.yaml").write_text(yaml.safe_dump(study))
    result = run_snakemake(copy, work, "-j2")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert planned(run_snakemake(copy, work, "-n", "-j1")) == {}
    return copy, work


def edited(path: Path):
    """Append a comment to ``path`` (a change of content: Snakemake reruns on changed inputs,
    not on touched ones); a context manager that restores the file."""
    import contextlib

    @contextlib.contextmanager
    def editing():
        assert path.is_file(), path
        original = path.read_text()
        comment = "{# edited #}\n" if path.suffix == ".j2" else "# edited\n"
        path.write_text(original + comment)
        try:
            yield path
        finally:
            path.write_text(original)

    return editing()


@needs_snakemake
def test_files_the_kernel_is_not_made_of_rerun_nothing(finished_copy):
    copy, work = finished_copy
    with edited(copy / "kernels" / "templates" / "gpu" / "philox.j2"), \
            edited(copy / "kernels" / "models" / "kuramoto.yaml"):  # another target, model
        assert planned(run_snakemake(copy, work, "-n", "-j1")) == {}


@needs_snakemake
@pytest.mark.parametrize("name", ["kernels/templates/numba/philox.py.j2",
                                  "kernels/templates/numba/simulate.py.j2",
                                  "kernels/models/montbrio.yaml", "kernels/couplings.yaml"])
def test_editing_a_file_of_the_kernel_regenerates_it_and_reruns_its_shards(finished_copy,
                                                                          name):
    copy, work = finished_copy
    with edited(copy / name):
        jobs = planned(run_snakemake(copy, work, "-n", "-j1"))
    assert jobs.get("generate_kernel") == 1 and jobs.get("simulate_shard") == 2, jobs
    # what does not depend on the kernel stays as it is
    assert "build_connectome" not in jobs and "build_empirical" not in jobs, jobs
    assert planned(run_snakemake(copy, work, "-n", "-j1")) == {}  # restored: up to date


@needs_snakemake
def test_kernel_settings_are_its_settings_only(finished_copy):
    """A new duration reruns the shards but not the kernel; a new integrator (a kernel
    setting) regenerates the kernel."""
    copy, work = finished_copy
    study = yaml.safe_load((work / "study.yaml").read_text())
    original = (work / "study.yaml").read_text()
    try:
        study["simulation"]["duration_s"] = 20.0
        (work / "study.yaml").write_text(yaml.safe_dump(study))
        jobs = planned(run_snakemake(copy, work, "-n", "-j1"))
        assert jobs.get("simulate_shard") == 2 and "generate_kernel" not in jobs, jobs
        study["simulation"]["duration_s"] = 25.0
        study["integration"]["method"] = "euler"
        (work / "study.yaml").write_text(yaml.safe_dump(study))
        jobs = planned(run_snakemake(copy, work, "-n", "-j1"))
        assert jobs.get("generate_kernel") == 1 and jobs.get("simulate_shard") == 2, jobs
        assert "build_connectome" not in jobs and "build_empirical" not in jobs, jobs
    finally:
        (work / "study.yaml").write_text(original)


@needs_snakemake
def test_shards_run_the_kernel_file_the_kernel_rule_wrote(finished_copy):
    _, work = finished_copy
    kernel = work / "results" / "kernels" / "tiny" / "montbrio.py"
    assert "Spec hash" in kernel.read_text()
    log = (work / "logs" / "simulate_shard" / "tiny-0.log").read_text()
    assert "Traceback" not in log
    import json

    record = json.loads((work / "results" / "sims" / "tiny" / "shard-0.npz.json").read_text())
    assert record["kernel"] == "results/kernels/tiny/montbrio.py"


@needs_snakemake
def test_another_study_plans_only_its_own_outputs(finished_copy):
    """The same connectome and empirical names in a second study: it builds its own, under
    its name, and plans to write nothing of the first study's."""
    copy, work = finished_copy
    study = yaml.safe_load((work / "study.yaml").read_text())
    study["study"] = "other"
    study["bold"]["fcd"] = {"window_s": 20.0, "step_s": 2.0}  # other empirical settings
    other = work / "other.yaml"
    other.write_text(yaml.safe_dump(study))
    env = {**os.environ, "PYTHONPATH": str(copy / "workflow")}
    result = subprocess.run(
        [SNAKEMAKE, "-s", str(copy / "Snakefile"), "-d", str(work), "-n", "-j1",
         "--configfile", str(other)], capture_output=True, text=True, timeout=300, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    outputs = re.findall(r"^\s+output: (.*)$", output, re.MULTILINE)
    assert outputs
    for line in outputs:
        for path in line.split(", "):
            assert "/other/" in path or "/other." in path or "other-" in path, path
    assert planned(result)["build_empirical"] == 1
