"""config/studies/heterogeneous-rww.yaml end to end on the CPU, at 2 x 2 simulations of 20 s,
and its homogeneous counterpart homogeneous-rww.yaml at the same 2 G values, in the same
folder, then the comparison of their best fits (benchmarks/heterogeneity_comparison.py).

The study files as shipped but for their size (the sweep, the duration, the target): the
Schaefer-100 train group's connectome, w_p along the myelin map (heterogeneous) or one w_p
(homogeneous), FIC, FC scored on the train and on the held-out test group.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

SNAKEMAKE = shutil.which("snakemake")
pytestmark = pytest.mark.skipif(SNAKEMAKE is None, reason="snakemake is not installed")
STUDY = "heterogeneous-rww"


HOMOGENEOUS = "homogeneous-rww"


def _run_tiny(work: Path, repo_root: Path, study: str, sweep: dict, shards: int) -> None:
    config = yaml.safe_load((repo_root / "config" / "studies" / f"{study}.yaml").read_text())
    config["sweep"] = sweep
    config["integration"]["dt"] = 0.2
    config["simulation"].update(transient_s=2.0, duration_s=18.0, target="numba", threads=1)
    config["shards"] = {"count": shards}
    config["bold"].update(transient_s=2.0, fcd={"window_s": 7.2, "step_s": 1.44})
    # 18 s of BOLD is a test of the plumbing, not a fit: the degenerate checks (which judge
    # the dynamics and would leave no best point to draw) are off at this size
    config.setdefault("fit", {})["degenerate"] = {
        "max_mean_fc_excess": None, "max_mean_fc_deficit": None,
        "min_bold_std": None, "max_global_step": None}
    tiny = work / f"tiny-{study}.yaml"
    tiny.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [SNAKEMAKE, "-s", str(repo_root / "Snakefile"), "-d", str(work), "-j2",
         "--configfile", str(tiny)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, repo_root) -> Path:
    work = tmp_path_factory.mktemp("heterogeneous")
    for name in ("resources", "config"):
        (work / name).symlink_to(repo_root / name)
    _run_tiny(work, repo_root, STUDY, {"G": [1.0, 3.0], "w_p.myelin": [0.0, 0.15]}, 2)
    return work


@pytest.fixture(scope="module")
def both_runs(tiny_run, repo_root) -> Path:
    """The homogeneous study at the same G values, in the same folder (its outputs live
    under its own name)."""
    _run_tiny(tiny_run, repo_root, HOMOGENEOUS, {"G": [1.0, 3.0]}, 1)
    return tiny_run


def test_scores_on_train_and_held_out_test_fc(tiny_run):
    scores = pd.read_csv(tiny_run / "results" / "fit" / STUDY / "scores.csv")
    assert len(scores) == 4 and not scores["diverged"].any()
    assert {"G", "w_p.myelin", "fc_corr", "fc_corr_test303"} <= set(scores.columns)
    # the target is the train group alone: its column is fc_corr itself
    np.testing.assert_allclose(scores[f"fc_corr_{'schaefer100-train706'}"], scores["fc_corr"])
    assert scores["fc_corr_test303"].between(-1, 1).all()
    assert not np.allclose(scores["fc_corr_test303"], scores["fc_corr"])


def test_shards_record_w_p_along_the_map_and_fic(tiny_run):
    myelin = np.loadtxt(tiny_run / "resources" / "hcp-schaefer100" / "maps" /
                        "ctx_parc-schaefer-100_desc-myelinmap_zscore.txt")
    z = (myelin - myelin.mean()) / myelin.std()
    for shard in sorted((tiny_run / "results" / "sims" / STUDY).glob("shard-*.npz")):
        with np.load(shard) as data:
            assert data["regional_names"].tolist() == ["w_p", "J_i"]
            values = data["regional_values"].astype(np.float64)
            for row, (_g, b) in enumerate(data["param_values"]):
                np.testing.assert_allclose(values[row, 0], 1.4 * (1 + b * z), rtol=1e-6)
                j_i = values[row, 1]
                assert np.all(j_i > 0) and np.ptp(j_i) > 0  # one inhibition per region


def test_schaefer_names_in_every_output(tiny_run):
    """The 100 names of resources/hcp-schaefer100/labels.txt, in their order, in every output
    that names regions: connectome, empirical FC, shards, their netCDF files and the
    landscape page (whose FC panels draw the left hemisphere first, then the right); the FC
    figure takes them from the empirical file."""
    import json
    import re

    import xarray as xr

    text = (tiny_run / "resources" / "hcp-schaefer100" / "labels.txt").read_text()
    names = [line.strip() for line in text.splitlines()
             if line.strip() and not line.startswith("#")]
    assert len(names) == 100 and names[0] == "7Networks_LH_Vis_1"
    results = tiny_run / "results"
    found = {}
    for stage, key in (("connectome", "labels"), ("empirical", "labels")):
        with np.load(results / stage / STUDY / "schaefer100-train706.npz") as data:
            found[stage] = data[key].tolist()
    for stage in ("sims", "bold"):
        for shard in (0, 1):
            with np.load(results / stage / STUDY / f"shard-{shard}.npz") as data:
                found[f"{stage}-{shard}.npz"] = data["region_labels"].tolist()
            with xr.open_dataset(results / stage / STUDY / f"shard-{shard}.nc") as data:
                found[f"{stage}-{shard}.nc"] = data["region"].values.tolist()
    for where, labels in found.items():
        assert labels == names, where
    page = (results / "figures" / STUDY / "landscape.html").read_text()
    drawn = json.loads(re.search(r'"regions":(\[.*?\])', page).group(1))
    left = [name for name in names if "_LH_" in name]
    assert drawn == left + [name for name in names if name not in left]


def test_homogeneous_counterpart_and_the_comparison_table(both_runs, repo_root):
    """homogeneous-rww: one w_p for every region (no regional w_p, J_i from FIC), the same
    G values, data and scores; the comparison prints each study's best cell and its scores
    as scores.csv holds them."""
    results = both_runs / "results"
    homogeneous = pd.read_csv(results / "fit" / HOMOGENEOUS / "scores.csv")
    assert homogeneous["G"].tolist() == [1.0, 3.0] and "w_p.myelin" not in homogeneous
    assert {"fc_corr", "fc_corr_test303", "fcd_ks", "mean_fc"} <= set(homogeneous.columns)
    with np.load(results / "sims" / HOMOGENEOUS / "shard-0.npz") as data:
        assert data["regional_names"].tolist() == ["J_i"]
        assert np.ptp(data["regional_values"][:, 0], axis=1).min() > 0  # FIC per region
    result = subprocess.run(
        [sys.executable, str(repo_root / "benchmarks" / "heterogeneity_comparison.py"),
         "--results", str(results), "--json", str(both_runs / "comparison.json")],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-4000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert [line.split("|")[1].strip() for line in lines[1:]] == [HOMOGENEOUS, STUDY]
    rows = json.loads((both_runs / "comparison.json").read_text())
    for row, study in zip(rows, (HOMOGENEOUS, STUDY), strict=True):
        scores = pd.read_csv(results / "fit" / study / "scores.csv")
        usable = scores[~scores["diverged"] & ~scores["degenerate"]]
        # best.json's full precision against scores.csv's ten significant digits
        best = usable.loc[usable["fc_corr"].idxmax()]
        assert row["train fc_corr"] == pytest.approx(best["fc_corr"], rel=1e-8)
        assert row["test fc_corr"] == pytest.approx(best["fc_corr_test303"], rel=1e-8)
        assert row["FCD KS"] == pytest.approx(best["fcd_ks"], rel=1e-8)
        assert row["mean FC"] == pytest.approx(best["mean_fc"], rel=1e-8)
        assert f"G = {best['G']:.4g}" in row["best cell"]
        assert f"{row['train fc_corr']:.3f} | {row['test fc_corr']:.3f}" in lines[
            1 + (study == STUDY)]
