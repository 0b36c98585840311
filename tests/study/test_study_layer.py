"""The study layer (brainsweep.study), the stage registry and the CLI built from it (fast: no
workflow run)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from brainsweep.stages import get_stage, list_stages
from brainsweep.study import SimulateSettings, load_study, section_defaults


def study(repo_root, name="tiny"):
    return yaml.safe_load((repo_root / "config" / "studies" / f"{name}.yaml").read_text())


def test_defaults_come_from_the_schema(repo_root):
    schema = yaml.safe_load((repo_root / "config" / "schema.yaml").read_text())
    simulation = schema["properties"]["simulation"]["properties"]
    settings = SimulateSettings.from_sections({"model": {"name": "montbrio"},
                                               "sweep": {"speed": [1.0]}})
    assert settings.simulation.threads == simulation["threads"]["default"] == 2
    assert settings.integrator.method == "heun" and settings.coupling.name == "linear"
    assert settings.bold_monitor.tr == 0.72 and settings.plan.count == 4
    from brainsweep.bold import POSTPROCESS_DEFAULTS
    from brainsweep.figures import FIGURE_DEFAULTS

    assert POSTPROCESS_DEFAULTS == section_defaults("bold")
    assert FIGURE_DEFAULTS == section_defaults("figures")


def test_a_study_is_read_once_into_frozen_typed_settings(repo_root):
    tiny = load_study(study(repo_root))
    assert tiny.name == "tiny" and tiny.target == "numba"
    assert tiny.simulate.shard_count() == 2
    assert tiny.kernel.model.coupling_terms == ("Coupling_Term_r",)
    assert tiny.kernel.integrator.dt == 0.144 and tiny.kernel.history_dtype is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny.kernel.integrator.dt = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        tiny.simulate.sections["model"]["name"] = "rww"  # type: ignore[index]
    # the kernel depends on these settings only
    assert set(tiny.kernel_settings()) == {"model", "coupling", "integration", "simulation"}
    assert tiny.kernel_settings()["simulation"] == {"history_dtype": None}
    assert tiny.empirical_settings()["postprocess"]["transient_s"] == 0.0
    reproduce = load_study(study(repo_root, "rateml-fig2"))
    assert reproduce.simulate is None and reproduce.reproduce["figure"] == "rateml-fig2"


def test_the_kernel_rule_and_the_shard_run_one_spec(repo_root):
    from brainsweep.codegen import spec_hash
    from brainsweep.study import KernelSettings

    tiny = load_study(study(repo_root))
    from_rule = KernelSettings.from_sections(tiny.kernel_settings()).spec()
    from_shard = SimulateSettings.from_sections(tiny.simulate.as_dict()).kernel.spec()
    assert spec_hash(from_rule, "numba") == spec_hash(from_shard, "numba")


def test_the_plan_of_a_study(repo_root, hcp_connectome):
    tiny = load_study(study(repo_root))
    plan = tiny.simulate.shard_plan(hcp_connectome.weights, hcp_connectome.lengths,
                                    np.array([2, 3]))
    assert plan.frames == (0, 0, 41) and plan.group_speeds.tolist() == [4.0, 12.0]


def test_the_cli_is_built_from_the_stage_registry():
    from brainsweep.cli import build_parser

    parser = build_parser()
    commands = next(action for action in parser._actions if hasattr(action, "choices")
                    and isinstance(action.choices, dict)).choices
    assert set(list_stages()) <= set(commands)
    assert list_stages() == ["connectome", "empirical", "kernels", "simulate", "bold", "fit",
                             "figures", "landscape", "recovery", "study-config", "table",
                             "netcdf", "reproduce", "optimise", "optimise-summary"]
    # every subcommand but the three that run no stage comes from the registry
    assert set(commands) - set(list_stages()) == {"models", "info", "bench"}
    for name in list_stages():
        stage = get_stage(name)
        module = stage.load()
        assert hasattr(module, "Settings") and callable(module.run), name


def brainsweep(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brainsweep.cli", *args],
                          capture_output=True, text=True, timeout=300)


def bold_shard(path):
    rng = np.random.default_rng(3)
    np.savez(path, bold=rng.standard_normal((2, 120, 4)).astype(np.float32),
             bold_period_s=np.float64(0.72), sim_index=np.arange(2),
             param_names=np.array(["speed"]), param_values=np.array([[1.0], [2.0]]),
             diverged=np.zeros(2, bool))
    path.with_name(path.name + ".json").write_text("{}")


@pytest.mark.parametrize("form", ["yaml", "json", "study"])
def test_settings_from_a_file(tmp_path, repo_root, form):
    shard = tmp_path / "shard-0.npz"
    bold_shard(shard)
    section = {"transient_s": 5.0, "bandpass": None}
    if form == "yaml":
        (tmp_path / "s.yaml").write_text(yaml.safe_dump(section))
        given = tmp_path / "s.yaml"
    elif form == "json":
        (tmp_path / "s.json").write_text(json.dumps(section))
        given = tmp_path / "s.json"
    else:  # a whole study: the stage reads its part (bold:)
        config = study(repo_root)
        config["bold"] = section
        (tmp_path / "study.yaml").write_text(yaml.safe_dump(config))
        given = tmp_path / "study.yaml"
    out = tmp_path / "out.npz"
    result = brainsweep("bold", "--settings", str(given), "--shard-file", str(shard),
                        "--out", str(out))
    assert result.returncode == 0, result.stderr
    with np.load(out) as data:
        assert data["fc"].shape == (2, 4, 4)
    inline = tmp_path / "inline.npz"
    assert brainsweep("bold", "--settings", json.dumps(section), "--shard-file", str(shard),
                      "--out", str(inline)).returncode == 0
    with np.load(out) as a, np.load(inline) as b:
        np.testing.assert_array_equal(a["fc"], b["fc"])


def test_a_bad_settings_file_is_one_error_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("transient_s: [1, 2\n")
    out = tmp_path / "out.npz"
    for given in (str(tmp_path / "bad.yaml"), str(tmp_path / "missing.yaml")):
        result = brainsweep("bold", "--settings", given, "--shard-file", "x.npz", "--out", str(out))
        assert result.returncode == 2
        assert "error:" in result.stderr and given in result.stderr
        assert not out.exists()


def test_realisations_multiply_the_simulations_of_a_study(repo_root):
    config = study(repo_root)
    single = SimulateSettings.from_sections(config)
    config["simulation"]["realisations"] = 3
    repeated = SimulateSettings.from_sections(config)
    assert single.simulation.realisations == 1 and repeated.simulation.realisations == 3
    one, three = single.grid.build(), repeated.grid.build()
    assert three.size == 3 * one.size
    np.testing.assert_array_equal(three.values[::3], one.values)
    assert repeated.shard_count() == min(config["shards"]["count"], three.size)


@pytest.mark.parametrize("value", [0, 1.5, True, "2"])
def test_bad_realisations_name_the_config_key(repo_root, value):
    from brainsweep.errors import InputError

    config = study(repo_root)
    config["simulation"]["realisations"] = value
    with pytest.raises(InputError) as caught:
        SimulateSettings.from_sections(config)
    assert caught.value.field == "simulation.realisations"
