"""The whole Snakefile on the tiny study (2 x 2 simulations of 30 s), as CI runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SNAKEMAKE = shutil.which("snakemake")
pytestmark = pytest.mark.skipif(SNAKEMAKE is None, reason="snakemake is not installed")


def snakemake(repo: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SNAKEMAKE, "-s", str(repo / "Snakefile"), "-d", str(work), *args],
        capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, repo_root) -> Path:
    work = tmp_path_factory.mktemp("tiny")
    for name in ("resources", "config"):
        (work / name).symlink_to(repo_root / name)
    return work


@pytest.fixture(scope="module")
def tiny_run(workdir, repo_root):
    result = snakemake(repo_root, workdir, "-j2", "--configfile",
                       str(repo_root / "config" / "studies" / "tiny.yaml"))
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir


def test_tiny_study_produces_scores_best_fit_and_figures(tiny_run):
    fit = tiny_run / "results" / "fit" / "tiny"
    scores = pd.read_csv(fit / "scores.csv")
    assert list(scores["sim_index"]) == [0, 1, 2, 3]
    assert {"global_coupling", "speed", "fc_corr", "diverged"} <= set(scores.columns)
    assert sorted(zip(scores["global_coupling"], scores["speed"], strict=True)) == [
        (18.0, 4.0), (18.0, 12.0), (24.0, 4.0), (24.0, 12.0)]
    finite = scores.loc[~scores["diverged"], "fc_corr"]
    assert finite.notna().all() and finite.between(-1, 1).all()
    best = json.loads((fit / "best.json").read_text())
    assert best["best_fit"]["fc_corr"] == pytest.approx(finite.max())
    for name in ("heatmap_fc_corr_speed_global_coupling.png", "fc_comparison.png"):
        assert (tiny_run / "results" / "figures" / "tiny" / name).stat().st_size > 1000


def test_every_output_has_a_provenance_sidecar(tiny_run):
    shard = tiny_run / "results" / "sims" / "tiny" / "shard-0.npz"
    record = json.loads(Path(f"{shard}.json").read_text())
    assert record["seed"] == 42 and record["target"] == "numba"
    assert len(record["config_sha256"]) == 64
    assert record["inputs"]["connectome"]["sha256"]
    assert record["output"]["sha256"]
    for stage in ("connectome/hcp-aal2-cortical.npz", "empirical/hcp-aal2-rest1.npz",
                  "bold/tiny/shard-1.npz", "fit/tiny/scores.csv"):
        assert Path(tiny_run / "results" / f"{stage}.json").is_file(), stage


def test_shards_hold_bold_at_the_tr(tiny_run):
    with np.load(tiny_run / "results" / "sims" / "tiny" / "shard-1.npz") as shard:
        assert shard["bold"].dtype == np.float32
        # 30 s at TR 0.72 s: 41 samples of 80 regions, 2 simulations in this shard
        assert shard["bold"].shape == (2, 41, 80)
        assert float(shard["bold_period_s"]) == pytest.approx(0.72)
        np.testing.assert_array_equal(shard["sim_index"], [2, 3])


def test_rerun_has_nothing_to_do(tiny_run, repo_root):
    result = snakemake(repo_root, tiny_run, "-n", "-j1", "--configfile",
                       str(repo_root / "config" / "studies" / "tiny.yaml"))
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_dry_run_of_every_study_config(workdir, repo_root):
    configs = [repo_root / "config" / "config.yaml",
               *sorted((repo_root / "config" / "studies").glob("*.yaml"))]
    for config in configs:
        result = snakemake(repo_root, workdir, "-n", "-j1", "--configfile", str(config))
        assert result.returncode == 0, f"{config.name}: {result.stderr[-2000:]}"


def test_config_failing_the_schema_is_refused(workdir, repo_root, tmp_path):
    bad = tmp_path / "bad.yaml"
    text = (repo_root / "config" / "studies" / "tiny.yaml").read_text()
    bad.write_text(text.replace("dt: 0.144", "dt: -0.1"))
    result = snakemake(repo_root, workdir, "-n", "-j1", "--configfile", str(bad))
    assert result.returncode != 0
    assert "dt" in result.stderr and "-0.1" in result.stderr


def test_cli_help_lists_every_stage():
    result = subprocess.run([sys.executable, "-m", "brainsweep.cli", "--help"],
                            capture_output=True, text=True, check=True)
    for command in ("connectome", "empirical", "kernels", "simulate", "bold", "fit",
                    "figures", "models", "info"):
        assert command in result.stdout
