"""config/studies/heterogeneous-rww.yaml end to end on the CPU, at 2 x 2 simulations of 20 s.

The study file as shipped but for its size (the sweep, the duration, the target): the
Schaefer-100 train group's connectome, w_p along the myelin map, FIC, FC scored on the train
and on the held-out test group.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

SNAKEMAKE = shutil.which("snakemake")
pytestmark = pytest.mark.skipif(SNAKEMAKE is None, reason="snakemake is not installed")
STUDY = "heterogeneous-rww"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, repo_root) -> Path:
    work = tmp_path_factory.mktemp("heterogeneous")
    for name in ("resources", "config"):
        (work / name).symlink_to(repo_root / name)
    config = yaml.safe_load((repo_root / "config" / "studies" / f"{STUDY}.yaml").read_text())
    config["sweep"] = {"G": [1.0, 3.0], "w_p.myelin": [0.0, 0.15]}
    config["integration"]["dt"] = 0.2
    config["simulation"].update(transient_s=2.0, duration_s=18.0, target="numba", threads=1)
    config["shards"] = {"count": 2}
    config["bold"].update(transient_s=2.0, fcd={"window_s": 7.2, "step_s": 1.44})
    # 18 s of BOLD is a test of the plumbing, not a fit: the degenerate checks (which judge
    # the dynamics and would leave no best point to draw) are off at this size
    config.setdefault("fit", {})["degenerate"] = {
        "max_mean_fc_excess": None, "min_bold_std": None, "max_global_step": None}
    tiny = work / "tiny.yaml"
    tiny.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [SNAKEMAKE, "-s", str(repo_root / "Snakefile"), "-d", str(work), "-j2",
         "--configfile", str(tiny)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return work


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
