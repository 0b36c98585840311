"""The whole Snakefile on the tiny study (2 x 2 simulations of 30 s), as CI runs it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from brainsweep.study import load_study
from brainsweep.study.schema import fill_defaults

SNAKEMAKE = shutil.which("snakemake")
pytestmark = pytest.mark.skipif(SNAKEMAKE is None, reason="snakemake is not installed")
FIGURES = ("heatmap_fc_corr_speed_global_coupling.png", "fc_comparison.png",
           "fcd_distribution.png")


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
    # the uncertainty across the 7 HCP subjects, at the best fit and of the best parameters
    subjects = [column for column in scores.columns if column.startswith("fc_corr_")]
    assert len(subjects) == 7 and best["per_subject_fc_corr"]["n"] == 7
    at_best = scores.loc[scores["sim_index"] == best["best_fit"]["sim_index"], subjects]
    assert best["per_subject_fc_corr"]["std"] == pytest.approx(
        float(at_best.iloc[0].std(ddof=1)), rel=1e-6)
    chosen = best["best_per_subject"]["parameters"]["global_coupling"]
    assert chosen["n"] == 7 and {chosen["min"], chosen["max"]} <= {18.0, 24.0}
    for name in FIGURES:
        figure = tiny_run / "results" / "figures" / "tiny" / name
        assert figure.stat().st_size > 1000
        sidecar = json.loads(Path(f"{figure}.json").read_text())
        assert sidecar["output"]["sha256"] and sidecar["config_sha256"]
        assert sidecar["best"]["sim_index"] == best["best_fit"]["sim_index"]


def test_every_output_has_a_provenance_sidecar(tiny_run):
    shard = tiny_run / "results" / "sims" / "tiny" / "shard-0.npz"
    record = json.loads(Path(f"{shard}.json").read_text())
    assert record["seed"] == 42 and record["target"] == "numba"
    assert len(record["config_sha256"]) == 64
    assert record["inputs"]["connectome"]["sha256"]
    assert record["output"]["sha256"]
    for stage in ("connectome/tiny/hcp-aal2-cortical.npz", "empirical/tiny/hcp-aal2-rest1.npz",
                  "bold/tiny/shard-1.npz", "fit/tiny/scores.csv"):
        assert Path(tiny_run / "results" / f"{stage}.json").is_file(), stage


def test_shards_hold_bold_at_the_tr(tiny_run):
    with np.load(tiny_run / "results" / "sims" / "tiny" / "shard-1.npz") as shard:
        assert shard["bold"].dtype == np.float32
        # 30 s at TR 0.72 s: 41 samples of 80 regions, 2 simulations in this shard
        assert shard["bold"].shape == (2, 41, 80)
        assert float(shard["bold_period_s"]) == pytest.approx(0.72)
        np.testing.assert_array_equal(shard["sim_index"], [2, 3])
        np.testing.assert_allclose(shard["bold_time_s"], 0.72 * np.arange(1, 42))
        labels = shard["region_labels"].tolist()
    # one spelling of every region in every file: the connectome's, the empirical data's and
    # the shards' names are the same AAL2 names, in the same order
    results = tiny_run / "results"
    with np.load(results / "bold" / "tiny" / "shard-1.npz") as bold, \
            np.load(results / "connectome" / "tiny" / "hcp-aal2-cortical.npz") as conn, \
            np.load(results / "empirical" / "tiny" / "hcp-aal2-rest1.npz") as emp:
        assert bold["region_labels"].tolist() == labels == conn["labels"].tolist() \
            == emp["labels"].tolist()
    assert labels[:2] == ["Precentral_L", "Precentral_R"] and len(labels) == 80


def test_netcdf_files_open_with_xarray_and_hold_the_npz_values(tiny_run):
    """The default target writes a netCDF-4 twin of every shard and fit table: it opens with
    xarray.open_dataset, its values are those of the .npz/.csv, its labels the study's."""
    import xarray as xr

    results = tiny_run / "results"
    for shard in (0, 1):
        with np.load(results / "sims" / "tiny" / f"shard-{shard}.npz") as npz, \
                xr.open_dataset(results / "sims" / "tiny" / f"shard-{shard}.nc") as nc:
            assert nc["bold"].dims == ("simulation", "time", "state", "region")
            np.testing.assert_array_equal(nc["bold"].values[:, :, 0, :], npz["bold"])
            np.testing.assert_array_equal(nc["simulation"].values, npz["sim_index"])
            assert nc["region"].values.tolist() == npz["region_labels"].tolist()
            np.testing.assert_array_equal(nc["time"].values, npz["bold_time_s"])
            for k, name in enumerate(npz["param_names"].tolist()):
                np.testing.assert_array_equal(nc[name].values, npz["param_values"][:, k])
            assert nc["speed"].attrs["units"] == "m/s" and nc.attrs["seed"] == 42
            # tiny.yaml: 5 s of transient at TR 0.72 s, ceil(5 / 0.72) = 7 samples
            assert int(nc["transient"].sum()) == 7 and nc.attrs["tr_s"] == pytest.approx(0.72)
        with np.load(results / "bold" / "tiny" / f"shard-{shard}.npz") as npz, \
                xr.open_dataset(results / "bold" / "tiny" / f"shard-{shard}.nc") as nc:
            np.testing.assert_array_equal(nc["fc"].values, npz["fc"])
            np.testing.assert_array_equal(nc["fcd"].values, npz["fcd_values"])
            assert nc["region_b"].values.tolist() == npz["region_labels"].tolist()
    scores = pd.read_csv(results / "fit" / "tiny" / "scores.csv")
    assert (scores["seed"] == 42).all()
    units = json.loads((results / "fit" / "tiny" / "scores.csv.json").read_text())["columns"]
    with xr.open_dataset(results / "fit" / "tiny" / "scores.nc") as nc:
        np.testing.assert_array_equal(nc["fc_corr"].values, scores["fc_corr"].to_numpy())
        np.testing.assert_array_equal(nc["global_coupling"].values, scores["global_coupling"])
        assert nc["fc_corr"].attrs["units"] == units["fc_corr"] == "Pearson r"
    assert units["speed"] == "m/s"
    with xr.open_dataset(results / "fit" / "tiny" / "realisations.nc") as nc:
        assert nc.sizes["simulation"] == 4


def test_rerun_has_nothing_to_do(tiny_run, repo_root):
    result = snakemake(repo_root, tiny_run, "-n", "-j1", "--configfile",
                       str(repo_root / "config" / "studies" / "tiny.yaml"))
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


# the model keys the schema fills in when a study leaves them out
MODEL_DEFAULTS = {"parameters": {}, "noise": {}, "initial": {}, "coupling_terms": None,
                  "regional": {}}


def kernel_model_settings(dry_run_output: str) -> dict | None:
    """The model section the generate_kernel rule passes (`snakemake -n -p` prints it)."""
    found = re.search(r"brainsweep kernels --settings '(\{.*?\})' --target", dry_run_output)
    return None if found is None else json.loads(found.group(1))["model"]


@pytest.mark.parametrize("study", [None, *sorted(
    path.name for path in (Path(__file__).resolve().parents[2] / "config" / "studies")
    .glob("*.yaml"))])
def test_dry_run_of_every_study_config(workdir, repo_root, study):
    """`snakemake -n` of the default study and of every file in config/studies/ (as CI runs
    them, --forceall: the tiny study's outputs may already be in the shared work folder); a
    study given with --configfile is that study alone, never merged into the
    default one: the kernel is generated from exactly its model section."""
    if study is None:
        config = repo_root / "config" / "config.yaml"
        result = snakemake(repo_root, workdir, "-n", "-p", "-j1", "--forceall")
    else:
        config = repo_root / "config" / "studies" / study
        result = snakemake(repo_root, workdir, "-n", "-p", "-j1", "--forceall",
                           "--configfile", str(config))
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{config.name}: {output[-3000:]}"
    written = yaml.safe_load(config.read_text())
    if "model" in written:
        # the schema fills the defaults of what the study wrote (a regional entry's keys)
        expected = fill_defaults(written)["model"]
        if expected.get("coupling_terms") is None:
            # chosen from the sweep (tests/codegen/test_zero_terms.py): the default study's
            # cv = 0 leaves out Coupling_Term_V
            expected["coupling_terms"] = load_study(written, validate=True) \
                .kernel_settings()["model"]["coupling_terms"]
        assert kernel_model_settings(output) == {**MODEL_DEFAULTS, **expected}, study


def test_config_failing_the_schema_is_refused(workdir, repo_root, tmp_path):
    bad = tmp_path / "bad.yaml"
    text = (repo_root / "config" / "studies" / "tiny.yaml").read_text()
    bad.write_text(text.replace("dt: 0.144", "dt: -0.1"))
    result = snakemake(repo_root, workdir, "-n", "-j1", "--configfile", str(bad))
    assert result.returncode != 0
    output = result.stdout + result.stderr  # Snakemake prints the error to either
    assert "dt" in output and "-0.1" in output


def test_report_holds_every_figure_with_its_caption_and_the_config(tiny_run, repo_root):
    """`snakemake --report report.html` on the finished tiny study (no job reruns)."""
    result = snakemake(repo_root, tiny_run, "--report", "report.html", "--configfile",
                       str(repo_root / "config" / "studies" / "tiny.yaml"))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    html = (tiny_run / "report.html").read_text()
    for name in (*FIGURES, "hcp-aal2-cortical.png", "scores.html", "landscape.html",
                 "tiny.html"):
        assert name in html, name
    for caption in ("Score landscape of study", "Functional connectivity at the best fit",
                    "Functional connectivity dynamics at the best fit",
                    "The group structural connectome", "The interactive score landscape",
                    "The configuration of study", "One row per parameter point"):
        assert caption in html, caption
    # the landing page: the study's title and description, not its configuration
    found = re.search(r'var workflow_desc = ("(?:[^"\\]|\\.)*");', html)
    description = json.loads(found.group(1))
    study = yaml.safe_load((repo_root / "config" / "studies" / "tiny.yaml").read_text())
    assert study["title"] in description
    assert "literal-block" not in description and len(description) < 3000
    # the configuration as run is its own item: the study file's keys with the schema's
    # defaults filled in, and nothing of the default study
    shown = yaml.safe_load((tiny_run / "results" / "config" / "tiny.yaml").read_text())
    assert shown == merged_with(shown, study)
    assert shown["sweep"] == study["sweep"] and shown["fit"]["metric"] == "fc_corr"
    assert shown["fit"]["degenerate"]["max_mean_fc_excess"] is None  # as the study file says


def test_report_and_landscape_in_a_browser(tiny_run, repo_root):
    """The report's landing page shows the title and the rule graph in a 1400 x 1000 window;
    the landscape page loads without console errors and a click on a cell shows that
    simulation's FC. Screenshots of both go to docs/figures/."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from browser import chromium, console_errors, wait_for

    report = tiny_run / "report.html"
    if not report.is_file():
        test_report_holds_every_figure_with_its_caption_and_the_config(tiny_run, repo_root)
    title = yaml.safe_load((repo_root / "config" / "studies" / "tiny.yaml").read_text())["title"]
    shots = repo_root / "docs" / "figures"
    with chromium(1400, 1000) as browser:
        browser.get(report.as_uri())
        heading = wait_for(browser, "Array.from(document.querySelectorAll('h1'))"
                                    f".find(h => h.textContent.includes({json.dumps(title)}))")
        graph = wait_for(browser, "document.querySelector('.vega-embed canvas')")
        for element in (heading, graph):
            top, height = element.location["y"], element.size["height"]
            assert 0 <= top and top + min(height, 100) <= 1000, (element.tag_name, top)
        assert console_errors(browser) == []
        browser.save_screenshot(str(shots / "report-landing.png"))

    scores = pd.read_csv(tiny_run / "results" / "fit" / "tiny" / "scores.csv")
    page = tiny_run / "results" / "figures" / "tiny" / "landscape.html"
    with chromium(1500, 1000) as browser:
        browser.get(page.as_uri())
        wait_for(browser, "document.body.dataset.ready === 'true'")
        assert console_errors(browser) == []
        # axes as figures.pairs: speed (x) against global_coupling (y); click speed=4, gc=18
        area = browser.find_element(By.CSS_SELECTOR, "#landscape .nsewdrag")
        width, height = area.size["width"], area.size["height"]
        ActionChains(browser).move_to_element_with_offset(
            area, int(-width / 4), int(height / 4)).click().perform()
        clicked = scores[(scores["speed"] == 4.0) & (scores["global_coupling"] == 18.0)]
        index = int(clicked["sim_index"].iloc[0])
        wait_for(browser, f"document.getElementById('fc').dataset.simIndex === '{index}'")
        assert f"Simulation {index}" in browser.find_element(By.ID, "details").text
        assert console_errors(browser) == []
        browser.save_screenshot(str(shots / "landscape-tiny.png"))


def merged_with(base: dict, update: dict) -> dict:
    """``base`` with ``update``'s keys written over it, recursively."""
    out = dict(base)
    for key, value in update.items():
        out[key] = merged_with(base.get(key) or {}, value) if isinstance(value, dict) else value
    return out


def test_cli_help_lists_every_stage():
    result = subprocess.run([sys.executable, "-m", "brainsweep.cli", "--help"],
                            capture_output=True, text=True, check=True)
    for command in ("connectome", "empirical", "kernels", "simulate", "bold", "fit",
                    "figures", "recovery", "models", "info"):
        assert command in result.stdout
