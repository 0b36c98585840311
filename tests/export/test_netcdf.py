"""The netCDF stage (brainsweep.export): each output's netCDF-4 twin holds the same values as
the .npz or .csv it was written from, under named dimensions, with the study's parameter
names, the region names, time in seconds, the transient, units and the TR."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brainsweep import fit
from brainsweep.errors import InputError
from brainsweep.export import ENGINE
from brainsweep.export.stage import export
from brainsweep.io import save_npz

REGIONS = ["7Networks_LH_Vis_1", "7Networks_LH_Vis_2", "7Networks_RH_Vis_1"]
PARAMS = ["global_coupling", "w_p.myelin"]
TR = 0.72


def _sim_shard(path: Path, *, transient_s: float = 2.0, seed: int = 42) -> dict:
    rng = np.random.default_rng(3)
    arrays = {
        "param_names": np.array(PARAMS),
        "param_values": np.array([[0.5, -0.1], [1.5, 0.2]]),
        "sim_index": np.array([4, 5], dtype=np.int64),
        "bold": rng.standard_normal((2, 10, 3)).astype(np.float32),
        "bold_period_s": np.float64(TR),
        "bold_time_s": (np.arange(10) + 1) * TR,
        "region_labels": np.array(REGIONS),
        "diverged": np.array([False, True]),
        "seed": np.int64(seed),
        "transient_s": np.float64(transient_s),
    }
    save_npz(path, arrays)
    return arrays


def _bold_shard(path: Path) -> dict:
    rng = np.random.default_rng(5)
    arrays = {
        "param_names": np.array(PARAMS),
        "param_values": np.array([[0.5, -0.1], [1.5, 0.2]]),
        "sim_index": np.array([4, 5], dtype=np.int64),
        "diverged": np.array([False, False]),
        "fc": rng.uniform(-1, 1, (2, 3, 3)).astype(np.float32),
        "fcd_values": rng.uniform(-1, 1, (2, 6)).astype(np.float32),
        "bold_std": np.array([1e-3, 2e-3]),
        "global_step": np.array([0.5, 3.0]),
        "tr": np.float64(TR),
        "n_samples": np.int64(7),
        "postprocess_json": np.array(json.dumps({"transient_s": 2.0, "detrend": True})),
        "region_labels": np.array(REGIONS),
        "seed": np.int64(42),
    }
    save_npz(path, arrays)
    return arrays


def _open(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, engine=ENGINE) as dataset:
        return dataset.load()


def test_simulation_shard_round_trip(tmp_path):
    arrays = _sim_shard(tmp_path / "shard-0.npz")
    out = export(tmp_path / "shard-0.npz", tmp_path / "shard-0.nc",
                 units={"w_p.myelin": "1 per z-score"})
    ds = _open(out)
    assert ds["bold"].dims == ("simulation", "time", "state", "region")
    # float32 as simulated, every value as in the .npz, bit for bit
    assert ds["bold"].dtype == np.float32
    np.testing.assert_array_equal(ds["bold"].values[:, :, 0, :], arrays["bold"])
    assert ds["state"].values.tolist() == ["bold"]
    assert ds["region"].values.tolist() == REGIONS
    np.testing.assert_array_equal(ds["simulation"].values, [4, 5])
    np.testing.assert_array_equal(ds["diverged"].values, [False, True])
    # the parameters as the study wrote them, with their units
    np.testing.assert_array_equal(ds["global_coupling"].values, [0.5, 1.5])
    np.testing.assert_array_equal(ds["w_p.myelin"].values, [-0.1, 0.2])
    assert ds["global_coupling"].attrs["units"] == "dimensionless"
    assert ds["w_p.myelin"].attrs["units"] == "1 per z-score"
    assert ds.sel(simulation=5)["global_coupling"].item() == 1.5
    # time in s at the end of each TR; 2 s of transient at TR 0.72 s is ceil(2 / 0.72) = 3
    # samples (0.72, 1.44 and 2.16 s), the samples the bold stage drops
    np.testing.assert_allclose(ds["time"].values, TR * np.arange(1, 11), rtol=1e-15)
    assert ds["time"].attrs["units"] == "s"
    assert ds["transient"].values.tolist() == [True] * 3 + [False] * 7
    assert ds.attrs["tr_s"] == TR and ds.attrs["seed"] == 42 and ds.attrs["transient_s"] == 2.0
    assert ds["bold"].attrs["units"] == "BOLD signal change (fraction of baseline)"
    record = json.loads(Path(f"{out}.json").read_text())
    assert record["kind"] == "simulate" and record["inputs"]["source"]["sha256"]
    assert "seed" not in record  # the .npz was saved without a sidecar of its own
    save_npz(tmp_path / "shard-1.npz", arrays, {"seed": 42, "target": "numba", "device": "cpu"})
    record = json.loads(Path(f"{export(tmp_path / 'shard-1.npz', tmp_path / 'shard-1.nc')}"
                             ".json").read_text())
    assert (record["seed"], record["target"], record["device"]) == (42, "numba", "cpu")


def test_bold_shard_round_trip(tmp_path):
    arrays = _bold_shard(tmp_path / "shard-0.npz")
    ds = _open(export(tmp_path / "shard-0.npz", tmp_path / "shard-0.nc"))
    assert ds["fc"].dims == ("simulation", "region", "region_b")
    np.testing.assert_array_equal(ds["fc"].values, arrays["fc"])
    np.testing.assert_array_equal(ds["fcd"].values, arrays["fcd_values"])
    np.testing.assert_array_equal(ds["bold_std"].values, arrays["bold_std"])
    np.testing.assert_array_equal(ds["global_step"].values, arrays["global_step"])
    assert ds["region"].values.tolist() == ds["region_b"].values.tolist() == REGIONS
    # one FC entry by the names of its two regions
    value = ds["fc"].sel(simulation=5, region=REGIONS[0], region_b=REGIONS[2]).item()
    assert value == arrays["fc"][1, 0, 2]
    assert ds["fc"].attrs["units"] == "Pearson r"
    assert ds.attrs["tr_s"] == TR and ds.attrs["n_samples"] == 7 and ds.attrs["seed"] == 42
    assert json.loads(ds.attrs["postprocess"])["detrend"] is True


@pytest.fixture
def fitted(tmp_path):
    """A fit of two bold shards (the seed recorded) with two realisations per point."""
    rng = np.random.default_rng(11)
    n = 5
    subjects = np.array([np.corrcoef(rng.standard_normal((n, 40))) for _ in range(2)])
    save_npz(tmp_path / "emp.npz", {"fc_subjects": subjects, "fc_group": subjects.mean(0),
                                    "subject_ids": np.array(["a", "b"])})
    grid = [(g, s) for g in (1.0, 2.0) for s in (3.0, 6.0)] * 2  # two realisations
    shards = []
    for k, rows in enumerate((slice(0, 4), slice(4, 8))):
        path = tmp_path / "bold" / f"shard-{k}.npz"
        save_npz(path, {
            "param_names": np.array(["global_coupling", "speed"]),
            "param_values": np.array(grid[rows]),
            "sim_index": np.arange(8)[rows].astype(np.int64),
            "diverged": np.zeros(4, bool),
            "fc": np.array([np.corrcoef(rng.standard_normal((n, 40)))
                            for _ in range(4)]).astype(np.float32),
            "seed": np.int64(7)})
        shards.append(str(path))
    fit.run_stage(shards, tmp_path / "emp.npz", {"units": {"speed": "m/s"}}, tmp_path / "fit")
    return tmp_path / "fit"


@pytest.mark.parametrize(("name", "dim", "index"), [("scores", "point", "point"),
                                                    ("realisations", "simulation",
                                                     "sim_index")])
def test_fit_tables_round_trip(fitted, name, dim, index):
    table = pd.read_csv(fitted / f"{name}.csv")
    ds = _open(export(fitted / f"{name}.csv", fitted / f"{name}.nc"))
    assert list(ds.sizes) == [dim] and ds.sizes[dim] == len(table)
    np.testing.assert_array_equal(ds[dim].values, table[index].to_numpy())
    for column in table.columns:
        if column == index:
            continue
        expected = table[column]
        if expected.dtype == object or column == "degenerate_reason":
            text = expected.astype(object).where(expected.notna(), "").astype(str)
            assert ds[column].values.tolist() == text.tolist()
        else:
            np.testing.assert_array_equal(ds[column].values, expected.to_numpy(), column)
    # the parameters are coordinates; every unit is the one of the table's sidecar
    assert {"global_coupling", "speed"} <= set(ds.coords)
    units = json.loads((fitted / f"{name}.csv.json").read_text())["columns"]
    assert set(units) == set(table.columns)  # (the sidecar's keys are sorted)
    for column, unit in units.items():
        target = dim if column == index else column
        assert ds[target].attrs.get("units", "") == unit, column
    assert ds.attrs["seed"] == 7 and (ds["seed"].values == 7).all()


def test_bad_inputs_are_refused_naming_the_file_and_writing_nothing(tmp_path):
    save_npz(tmp_path / "other.npz", {"weights": np.eye(3)})
    with pytest.raises(InputError, match="neither a simulation shard") as error:
        export(tmp_path / "other.npz", tmp_path / "other.nc")
    assert "other.npz" in str(error.value)
    clash = _sim_shard(tmp_path / "clash.npz")
    clash["param_names"] = np.array(["time", "w_p.myelin"])
    save_npz(tmp_path / "clash.npz", clash)
    with pytest.raises(InputError, match="'time' clashes") as error:
        export(tmp_path / "clash.npz", tmp_path / "clash.nc")
    assert error.value.field == "param_names" and "clash.npz" in str(error.value)
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not a zip archive")
    with pytest.raises(InputError, match="not a complete .npz"):
        export(tmp_path / "broken.npz", tmp_path / "broken.nc")
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "broken.npz", "clash.npz", "other.npz"]


def test_command_line(tmp_path):
    _sim_shard(tmp_path / "shard-0.npz")
    done = subprocess.run(
        [sys.executable, "-m", "brainsweep.cli", "netcdf", "--settings",
         json.dumps({"units": {"w_p.myelin": "1"}}), str(tmp_path / "shard-0.npz"),
         "--out", str(tmp_path / "shard-0.nc")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _open(tmp_path / "shard-0.nc")["w_p.myelin"].attrs["units"] == "1"
    refused = subprocess.run(
        [sys.executable, "-m", "brainsweep.cli", "netcdf", "--settings", '{"unit": {}}',
         str(tmp_path / "shard-0.npz"), "--out", str(tmp_path / "no.nc")],
        capture_output=True, text=True)
    assert refused.returncode != 0 and "unit" in refused.stderr
    assert not (tmp_path / "no.nc").exists()
