"""Parameter recovery in CI: the whole Snakefile on config/studies/recovery-ci.yaml.

A ground truth (ReducedWongWang, global coupling 0.7, speed 1 m/s, noise seed 7) is simulated
on the 80-region HCP connectome and its FC is treated as empirical data; a 5 x 4 grid swept
with seed 42 must put its best fit within one grid step of the truth on both axes. About 1.5
minutes on two cores (the kernel's first Numba compilation included).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainsweep import bold
from brainsweep.bold.connectivity import upper_triangle
from brainsweep.fit.metrics import fc_correlation

SNAKEMAKE = shutil.which("snakemake")
pytestmark = pytest.mark.skipif(SNAKEMAKE is None, reason="snakemake is not installed")
STUDY = "recovery-ci"


@pytest.fixture(scope="module")
def recovery_run(tmp_path_factory, repo_root) -> Path:
    work = tmp_path_factory.mktemp("recovery")
    for name in ("resources", "config"):
        (work / name).symlink_to(repo_root / name)
    # the study file alone is the config: nothing of the default (MontbrioPazoRoxin) study
    # leaks into this ReducedWongWang one
    result = subprocess.run(
        [SNAKEMAKE, "-s", str(repo_root / "Snakefile"), "-d", str(work), "-j2",
         "--configfile", str(repo_root / "config" / "studies" / f"{STUDY}.yaml")],
        capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return work


def test_best_fit_lies_within_one_grid_step_of_the_truth(recovery_run):
    report = json.loads((recovery_run / "results" / "fit" / STUDY / "recovery.json").read_text())
    assert report["truth"] == {"global_coupling": 0.7, "speed": 1.0}
    for axis in ("global_coupling", "speed"):
        assert report["axes"][axis]["error_steps"] <= 1.0, (axis, report["best"])
    assert report["recovered"] is True
    # the coupling is recovered exactly, and not by a flat landscape: the best score over the
    # grid's edges in coupling is clearly lower (measured: 0.81 at 0.4 and 1.0, 0.95 at 0.7)
    coupling = report["axes"]["global_coupling"]
    assert coupling["error_steps"] == 0.0
    profile = coupling["profile"]
    assert max(profile[0], profile[-1]) < profile[2] - 0.1


def test_report_agrees_with_the_scores_and_the_truth_shard(recovery_run):
    results = recovery_run / "results"
    report = json.loads((results / "fit" / STUDY / "recovery.json").read_text())
    scores = pd.read_csv(results / "fit" / STUDY / "scores.csv")
    assert len(scores) == 20 and not scores["diverged"].any()
    best = scores.loc[scores["fc_corr"].idxmax()]
    assert report["best"]["sim_index"] == int(best["sim_index"])
    assert report["best"]["fc_corr"] == pytest.approx(best["fc_corr"])
    best_json = json.loads((results / "fit" / STUDY / "best.json").read_text())
    assert best_json["best_fit"]["sim_index"] == int(best["sim_index"])

    # the "empirical" FC is the truth simulation's own FC, recomputed here from its shard
    with np.load(results / "truth" / f"{STUDY}.npz") as shard:
        np.testing.assert_array_equal(shard["param_values"], [[0.7, 1.0]])
        truth_bold = shard["bold"][0].astype(np.float64)
    record = json.loads((results / "truth" / f"{STUDY}.npz.json").read_text())
    assert record["seed"] == 7 and record["seed"] != 42
    clean = bold.postprocess(truth_bold, tr=0.72, transient_s=10.0, detrend=True,
                             bandpass=(0.01, 0.1), zscore=True, gsr=False)
    with np.load(results / "empirical" / STUDY / "recovery-ci-truth.npz") as emp:
        np.testing.assert_allclose(emp["fc_group"], bold.fc(clean), rtol=0, atol=1e-6)
        emp_upper = upper_triangle(emp["fc_group"])
    # the grid's simulation at the truth has other noise: same parameters, not the same FC
    at_truth = scores[(scores["global_coupling"] == 0.7) & (scores["speed"] == 1.0)]
    assert report["landscape"]["score_at_truth"] == pytest.approx(at_truth["fc_corr"].iloc[0])
    grid_fc = None
    for path in sorted((results / "bold" / STUDY).glob("shard-*.npz")):
        with np.load(path) as shard:
            hit = np.flatnonzero(shard["sim_index"] == at_truth["sim_index"].iloc[0])
            if hit.size:
                grid_fc = shard["fc"][hit[0]].astype(np.float64)
    assert grid_fc is not None
    r = fc_correlation(upper_triangle(grid_fc)[None], emp_upper)[0]
    assert r == pytest.approx(at_truth["fc_corr"].iloc[0], abs=1e-6) and r < 0.999


def test_landscape_figure_is_written(recovery_run):
    figure = recovery_run / "results" / "figures" / STUDY / "recovery_landscape.png"
    assert figure.stat().st_size > 5000
    sidecar = json.loads(Path(f"{figure}.json").read_text())
    assert sidecar["figure"] == "recovery_landscape" and sidecar["recovered"] is True
    assert {"scores", "empirical"} <= set(sidecar["inputs"])
