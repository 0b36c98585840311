"""Bad input through the Python API and at the workflow's DAG-building time.

The API raises :class:`~brainsweep.errors.InputError` naming the argument or key (never a
silently wrong or empty result); the workflow refuses a study whose grid cannot fit, or
whose file has an unknown key, before it plans a job, in one short message.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from faultcase import REPO, tiny_study

from brainsweep import simulate
from brainsweep.dsl import load_model
from brainsweep.errors import InputError, PlanError
from brainsweep.simulate.grid import grid_size
from brainsweep.study import load_study
from brainsweep.study.capacity import check_study_fits, study_size

SNAKEMAKE = shutil.which("snakemake")
TWO_NODES = SimpleNamespace(weights=np.ones((2, 2)) - np.eye(2), lengths=np.full((2, 2), 10.0))


# ---- simulate.run ----------------------------------------------------------------------------

@pytest.mark.parametrize(("arguments", "field", "message"), [
    ({"dt": 0.0}, "dt", "finite number > 0, got 0.0"),
    ({"dt": -0.1}, "dt", "got -0.1"),
    ({"dt": float("nan")}, "dt", "got nan"),
    ({"n_steps": 0}, "n_steps", "whole number >= 1, got 0"),
    ({"n_steps": 2.5}, "n_steps", "got 2.5"),
    ({"bold_dt_s": 0.05, "monitors": ("bold",)}, "monitors.bold.dt_s", "at most 0.01 s"),
])
def test_simulate_run_refuses_a_step_or_length_it_cannot_use(arguments, field, message):
    call = {"dt": 0.1, "n_steps": 100, "monitors": ("raw",), "stochastic": False, **arguments}
    with pytest.raises(InputError) as caught:
        simulate.run(TWO_NODES, "montbrio", **call)
    assert caught.value.field == field
    assert message in str(caught.value)


def test_a_valid_run_still_runs():
    # the refusals above are not a refusal of everything: the same call with dt > 0 runs
    out = simulate.run(TWO_NODES, "montbrio", dt=0.1, n_steps=100, monitors=("raw",),
                       stochastic=False)
    assert out.raw.shape == (1, 100, 2, 2) and not out.diverged.any()


# ---- the model DSL ---------------------------------------------------------------------------

def model_with(tmp_path, auxiliaries):
    model = yaml.safe_load((REPO / "kernels" / "models" / "montbrio.yaml").read_text())
    model["auxiliaries"] = auxiliaries
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(model, sort_keys=False))
    return path


@pytest.mark.parametrize(("auxiliaries", "message"), [
    ({"a": "b + r", "b": "a * 2"}, "circular auxiliaries: a -> b -> a"),
    ({"a": "a + r"}, "circular auxiliaries: a -> a"),
    ({"a": "b + r", "b": "c", "c": "a"}, "circular auxiliaries: a -> b -> c -> a"),
    ({"a": "b + r", "b": "r * 2"}, "auxiliary 'a' reads 'b', which is written below it"),
])
def test_auxiliaries_out_of_order_are_named_not_unknown(tmp_path, auxiliaries, message):
    path = model_with(tmp_path, auxiliaries)
    with pytest.raises(InputError) as caught:
        load_model(path)
    text = str(caught.value)
    assert message in text and "unknown symbol" not in text
    assert text.startswith(f"{path}:") and "[auxiliaries.a]" in text


def test_auxiliaries_in_order_load(tmp_path):
    model = load_model(model_with(tmp_path, {"a": "r * 2", "b": "a + V"}))
    assert [name for name, _ in model.auxiliaries] == ["a", "b"]


# ---- grids counted, not expanded ---------------------------------------------------------------

HUGE = {"global_coupling": {"linspace": [0.0, 1.0, 10_000]},
        "speed": {"linspace": [1.0, 10.0, 10_000]}}


def huge_study(**shards):
    study = tiny_study()
    study["sweep"] = HUGE
    study["shards"] = shards or {"count": 8}
    return study


def test_a_grid_of_ten_to_the_eight_is_counted_in_no_time():
    started = time.perf_counter()
    assert grid_size(HUGE) == 10**8
    size = study_size(load_study(huge_study(), validate=True))
    assert time.perf_counter() - started < 1.0
    assert (size.simulations, size.shards, size.sims_per_shard) == (10**8, 8, 12_500_000)
    assert size.regions == 80 and size.regions_known  # aal2-cortical
    # 30 s of BOLD at a TR of 0.72 s: 41 frames; float32 kernel, float32 copy saved
    assert size.bold_frames == 41
    assert size.shard_output_bytes == 12_500_000 * 41 * 80 * (4 + 4)


def test_a_study_too_large_for_the_host_is_refused_with_the_numbers():
    started = time.perf_counter()
    with pytest.raises(PlanError) as caught:
        check_study_fits(load_study(huge_study(), validate=True), {"this host": 16 << 30})
    assert time.perf_counter() - started < 1.0
    text = str(caught.value)
    for part in ("100,000,000 simulations in 8 shard(s)", "a shard of 12,500,000 simulations",
                 "305.5 GiB (328,000,000,000 B)", "41 frames x 80 regions",
                 "this host allows 16.0 GiB", "at most 654,720 simulations fit",
                 "shards.count or shards.size"):
        assert part in text, (part, text)


def test_too_many_shard_jobs_are_refused():
    with pytest.raises(PlanError, match="10,000,000 shard"):
        check_study_fits(load_study(huge_study(size=10), validate=True), {"this host": None})


def test_the_shipped_studies_fit():
    for path in sorted((REPO / "config" / "studies").glob("*.yaml")):
        study = load_study(yaml.safe_load(path.read_text()), validate=True)
        if study.simulate is not None:
            check_study_fits(study, {"this host": 8 << 30})


# ---- at DAG-building time ------------------------------------------------------------------------

def dry_run(tmp_path, study) -> subprocess.CompletedProcess:
    """``snakemake -n`` on ``study``; its output (Snakemake writes errors to either stream)."""
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    (tmp_path / "resources").symlink_to(REPO / "resources")
    return subprocess.run([SNAKEMAKE, "-n", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path),
                           "--configfile", str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120)


@pytest.mark.skipif(SNAKEMAKE is None, reason="snakemake is not installed")
def test_snakemake_refuses_a_huge_grid_before_planning(tmp_path):
    started = time.perf_counter()
    done = dry_run(tmp_path, huge_study())
    elapsed = time.perf_counter() - started
    assert done.returncode != 0
    assert "MemoryError" not in done.stdout and "Traceback" not in done.stdout
    assert "PlanError" in done.stdout and "100,000,000 simulations" in done.stdout
    # Snakemake's own start-up included; the count itself takes milliseconds
    assert elapsed < 20, elapsed
    assert not (tmp_path / "results").exists()


@pytest.mark.skipif(SNAKEMAKE is None, reason="snakemake is not installed")
def test_snakemake_names_an_unknown_top_level_key_in_a_few_lines(tmp_path):
    study = tiny_study()
    study["colour"] = "blue"
    done = dry_run(tmp_path, study)
    assert done.returncode != 0
    assert "'colour' was unexpected" in done.stdout
    assert f"{tmp_path / 'study.yaml'}: Additional properties" in done.stdout
    assert len(done.stdout.splitlines()) < 10, done.stdout  # not the 1 300-line schema
