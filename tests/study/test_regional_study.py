"""A study's regional parameters: from ``model.regional`` and the sweep to kernel params."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from brainsweep.errors import InputError
from brainsweep.study import load_study

DATA = Path(__file__).resolve().parents[2] / "resources" / "hcp-schaefer100"
LABELS = str(DATA / "labels.txt")
MYELIN = str(DATA / "maps" / "ctx_parc-schaefer-100_desc-myelinmap_zscore.txt")
YEO7 = str(DATA / "maps" / "ctx_parc-schaefer-100_desc-yeo7.txt")
REGIONS = [line for line in Path(LABELS).read_text().splitlines() if not line.startswith("#")]


def study(regional, sweep):
    return load_study({
        "study": "regional", "connectome": {"name": "c", "source": "x"},
        "empirical": {"name": "e", "source": "x"},
        "model": {"name": "rww_exc_inh", "regional": regional}, "sweep": sweep,
    }, validate=True).simulate


def test_the_kernel_reads_exactly_the_regional_parameters():
    settings = study({"w_p": {"form": "scaled", "maps": {"myelin": MYELIN}, "labels": LABELS}},
                     {"G": [1.0, 2.0], "w_p.myelin": [0.0, 0.1]})
    assert settings.kernel.spec().regional == ("w_p",)
    grid = settings.grid.build()
    params = settings.kernel_params(grid.as_params(np.arange(grid.size)), REGIONS)
    assert "w_p.myelin" not in params and params["w_p"].shape == (4, 100)
    myelin = np.loadtxt(MYELIN)
    z = (myelin - myelin.mean()) / myelin.std()
    np.testing.assert_allclose(params["w_p"][1], 1.4 * (1 + 0.1 * z), rtol=1e-14)
    np.testing.assert_array_equal(params["w_p"][0], np.full(100, 1.4))  # b = 0: homogeneous
    np.testing.assert_array_equal(params["G"], [1.0, 1.0, 2.0, 2.0])


def test_one_value_per_network():
    settings = study({"J_N": {"form": "groups", "groups": YEO7, "labels": LABELS}},
                     {"J_N": [0.2], "J_N.6": [0.1, 0.3]})  # the default-mode network
    grid = settings.grid.build()
    params = settings.kernel_params(grid.as_params(np.arange(grid.size)), REGIONS)
    default_mode = np.loadtxt(YEO7) == 6
    assert np.all(params["J_N"][:, ~default_mode] == 0.2)
    np.testing.assert_array_equal(params["J_N"][:, default_mode][:, 0], [0.1, 0.3])


def test_bad_regional_settings_name_their_key():
    with pytest.raises(InputError) as error:
        settings = study({"w_p": {"form": "scaled", "maps": {"myelin": MYELIN},
                                  "labels": LABELS}}, {"w_p.thickness": [0.1]})
        settings.kernel_params({"w_p.thickness": np.array([0.1])}, REGIONS)
    assert error.value.field == "sweep.w_p.thickness"
    with pytest.raises(InputError) as error:
        study({"w_p": {"form": "scaled", "maps": {"myelin": MYELIN}, "labels": LABELS}},
              {"G": [1.0]}).kernel_params({"G": np.array([1.0])}, REGIONS[1:])
    assert error.value.field == "model.regional.w_p.maps.myelin"
    assert "7Networks_LH_Vis_1" in str(error.value)
    with pytest.raises(InputError) as error:
        study({"w_p": {"form": "scaled", "maps": {"myelin": MYELIN}, "labels": LABELS}},
              {"w_p.myelin": [2.0]}).kernel_params({"w_p.myelin": np.array([2.0])}, REGIONS)
    assert error.value.field == "sweep.w_p" and "range [0, 2]" in str(error.value)


def test_fic_is_solved_per_simulation_from_its_own_row():
    from brainsweep.dsl import load_coupling, load_model
    from brainsweep.fic import fic_inhibition

    settings = study({"w_p": {"form": "scaled", "maps": {"myelin": MYELIN}, "labels": LABELS},
                      "J_i": {"form": "fic"}},
                     {"G": [1.0, 2.0], "w_p.myelin": [0.0, 0.1]})
    assert settings.kernel.spec().regional == ("w_p", "J_i")
    weights = np.random.default_rng(2).uniform(0, 1, (100, 100))
    np.fill_diagonal(weights, 0.0)
    grid = settings.grid.build()
    params = settings.kernel_params(grid.as_params(np.arange(grid.size)), REGIONS, weights)
    assert params["J_i"].shape == (4, 100)
    model, coupling = load_model("rww_exc_inh"), load_coupling("linear")
    row = {**model.defaults, **{f"coupling.{k}": v for k, v in coupling.defaults.items()},
           "G": 2.0, "w_p": params["w_p"][3]}
    np.testing.assert_array_equal(params["J_i"][3],
                                  fic_inhibition(model, coupling, weights, row))
    assert not np.array_equal(params["J_i"][2], params["J_i"][3])  # the map moved J_i


def test_fic_tuning_settings_reach_the_shard_stage(tmp_path):
    """model.regional.J_i.tune: the shard stage tunes J_i by simulation before the run and
    records the rounds; the shard's J_i are the tuned ones, not the steady state's."""
    from brainsweep import connectome
    from brainsweep.simulate_stage.stage import run_stage

    folder = DATA / "hcp" / "sc" / "100206"
    conn = connectome.preprocess(connectome.load({
        "weights": str(folder / "ctx_parc-schaefer-100_desc-strength.npz"),
        "lengths": str(folder / "ctx_parc-schaefer-100_desc-length.npz"),
        "labels": LABELS}, "matrix"), normalise="max")
    conn.save(tmp_path / "conn.npz")
    config = {
        "study": "tune", "connectome": {"name": "c", "source": "x"},
        "empirical": {"name": "e", "source": "x"},
        "model": {"name": "rww_exc_inh", "noise": {"S_e": 1e-4, "S_i": 1e-4},
                  "regional": {"J_i": {"form": "fic",
                                       "tune": {"rounds": 2, "warmup_s": 0.5}}}},
        "coupling": {"name": "linear", "parameters": {"a": 0.02}},
        "integration": {"dt": 0.5}, "simulation": {"duration_s": 1.44, "transient_s": 0.0,
                                                   "threads": 1},
        "sweep": {"G": [2.0]}, "shards": {"count": 1}}
    settings = load_study(config, validate=True).simulate
    out = run_stage(settings.as_dict(), tmp_path / "conn.npz", 0, tmp_path / "shard.npz")
    record = json.loads(out.with_name(out.name + ".json").read_text())
    assert record["fic_tuning"]["rounds"] == 2
    with np.load(out) as data:
        tuned = data["regional_values"][0, 0]
    steady = settings.kernel_params({"G": np.array([2.0])}, REGIONS, conn.weights)["J_i"][0]
    assert not np.allclose(tuned, steady, rtol=1e-6)
