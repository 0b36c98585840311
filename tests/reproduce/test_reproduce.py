"""The published-figure reproductions (brainsweep.reproduce, issue 8): settings, step budget,
occupancy arithmetic, memory fill, CSV and plots on tiny CPU runs, and the Snakemake targets.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from brainsweep import connectome
from brainsweep.backends.cuda_target import resident_warps
from brainsweep.errors import InputError
from brainsweep.reproduce import parse_settings, run_stage
from brainsweep.reproduce.measure import (
    choose_steps,
    fill_size,
    kernel_plan,
    run_options,
    sweep_grid,
)
from brainsweep.reproduce.occupancy import launch_occupancy
from brainsweep.reproduce.settings import read_study
from brainsweep.simulate.grid import shard_rows

ROOT = Path(__file__).resolve().parents[2]
STUDIES = ("rateml-fig1", "rateml-fig2", "tvbhpc-fig2")
KURAMOTO = {"label": "Kuramoto", "model": "kuramoto", "coupling": "kuramoto_mean_field",
            "noise": {"theta": 1e-3}, "global_coupling": [0.0, 2.0],
            "initial_uniform": [0.0, 6.283185307179586]}


@pytest.mark.parametrize("study", STUDIES)
def test_study_files_parse_with_their_figure_defaults(study):
    settings = parse_settings(read_study(ROOT / "config" / "studies" / f"{study}.yaml"))
    assert settings.study == settings.figure == study
    assert Path(ROOT / settings.connectome).is_file()
    if study == "rateml-fig2":
        assert settings.target == "numba" and settings.speeds == (2.0, 2.0, 1)
        assert [steps for steps, _ in settings.runs] == [4000, 100000]
    else:
        assert settings.target == "cuda" and settings.dt == 0.1
        assert all(p % settings.speeds[2] == 0 for p in settings.sizes)
    if study == "tvbhpc-fig2":
        assert settings.gpus == (1, 2, 4) and settings.sims_per_gpu == 21600
        assert settings.panels == ("a", "b", "c")


@pytest.mark.parametrize(("change", "field"), [
    ({"figure": "rateml-fig9"}, "reproduce.figure"),
    ({"sizes": [100]}, "reproduce.sizes"),  # not a multiple of the 16 speeds
    ({"speeds": [0.0, 10.0, 16]}, "reproduce.speeds"),
    ({"dtype": "float16"}, "reproduce.dtype"),
    ({"color": "red"}, "reproduce"),
    ({"models": [{"model": "kuramoto", "colour": 1}]}, "reproduce.models[0]"),
    ({"panels": ["d"]}, "reproduce.panels"),
])
def test_bad_settings_name_the_file_and_field(tmp_path, change, field):
    study = yaml.safe_load((ROOT / "config" / "studies" / "tvbhpc-fig2.yaml").read_text())
    study["reproduce"].update(change)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(study))
    with pytest.raises(InputError) as error:
        parse_settings(read_study(path))
    assert str(path) in str(error.value) and f"[{field}]" in str(error.value)


def test_cli_refuses_a_missing_study_file_without_output(tmp_path, capsys):
    from brainsweep.cli import main

    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:  # argparse's usage line and error, status 2
        main(["reproduce", "--settings", str(tmp_path / "nope.yaml"), "--out-dir", str(out)])
    assert exit_.value.code == 2
    assert "nope.yaml" in capsys.readouterr().err and not out.exists()


def test_cli_reads_a_reproduce_study_file_and_names_it_in_errors(tmp_path, capsys):
    from brainsweep.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("study: bad\nreproduce: {figure: rateml-fig9}\n")
    out = tmp_path / "out"
    assert main(["reproduce", "--settings", str(bad), "--out-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "[reproduce.figure]" in err and not out.exists()


def test_fewer_steps_only_when_the_previous_rate_says_the_budget_is_exceeded():
    kwargs = dict(n_steps=40000, budget_s=10.0, min_steps=1000)
    assert choose_steps(65536, None, **kwargs) == 40000
    # 65536 x 40000 / 300e6 = 8.7 s: within the budget
    assert choose_steps(65536, 300e6, **kwargs) == 40000
    # 262144 x 40000 / 250e6 = 42 s: 10 s hold 9536 steps -> 9000
    assert choose_steps(262144, 250e6, **kwargs) == 9000
    # never below the floor, never above n_steps
    assert choose_steps(10**8, 1e6, **kwargs) == 1000


def test_grid_orders_and_contiguous_shards_hold_every_speed():
    speed_major = sweep_grid(64, (1.0, 10.0, 16), (0.0, 2.0))
    coupling_major = sweep_grid(64, (1.0, 10.0, 16), (0.0, 2.0), speed_major=False)
    pairs = {tuple(p) for p in zip(speed_major["speed"], speed_major["global_coupling"],
                                   strict=True)}
    assert pairs == {tuple(p) for p in zip(coupling_major["speed"],
                                           coupling_major["global_coupling"], strict=True)}
    assert len(pairs) == 64
    for shard in range(4):  # a weak-scaling shard runs every speed, so every GPU works alike
        rows = shard_rows(64, 4, shard)
        assert np.unique(coupling_major["speed"][rows]).size == 16
        assert np.unique(speed_major["speed"][rows]).size == 4


def test_occupancy_of_hand_worked_launches():
    # 64 registers: 2048 per warp; a 128-thread block (4 warps) takes 8192 -> 8 per SM,
    # 32 of 64 warps (the CUDA occupancy calculator's 50 % for this kernel at 64 registers)
    full = launch_occupancy(33792, parts=4, registers=64, multiprocessors=132)
    assert (full.blocks_per_multiprocessor, full.limited_by) == (8, "registers")
    assert full.theoretical == 0.5 and full.occupancy == 0.5 and full.waves == 1.0
    # 1024 simulations: 32 blocks x 4 warps of 132 x 64 warp slots
    small = launch_occupancy(1024, parts=4, registers=64, multiprocessors=132)
    assert small.occupancy == pytest.approx(32 * 4 / (132 * 64))
    # 40 registers round up to 1280 per warp; 2-warp blocks: 65536 // 2560 = 25 blocks
    odd = launch_occupancy(10**6, parts=2, registers=40, multiprocessors=132)
    assert (odd.blocks_per_multiprocessor, odd.theoretical) == (25, 50 / 64)
    # 16 registers: the 2048-thread limit binds (16 blocks of 128), 100 %
    light = launch_occupancy(10**6, parts=4, registers=16, multiprocessors=132)
    assert (light.limited_by, light.theoretical) == ("threads", 1.0)
    # one-warp blocks agree with the cuda target's own resident-warp count where registers
    # bind (the 32-blocks-per-SM slot limit binds from 64 registers down)
    for registers in (72, 96, 128, 255):
        one_warp = launch_occupancy(10**6, parts=1, registers=registers, multiprocessors=1)
        assert one_warp.blocks_per_multiprocessor == resident_warps(registers)


def test_memory_fill_is_the_largest_grid_the_planner_accepts():
    settings = parse_settings(read_study(ROOT / "config" / "studies" / "rateml-fig1.yaml"))
    conn = connectome.load(ROOT / settings.connectome)
    free = 3 * 2**30
    margin = 512 * 2**20
    for case in settings.models:
        options = run_options(settings, case)
        size, refusal = fill_size(conn, options, settings.speeds, case.global_coupling,
                                  settings.n_steps, free, margin_bytes=margin)
        assert size % 16 == 0 and size > 0
        fits = kernel_plan(conn, options, sweep_grid(size, settings.speeds,
                                                     case.global_coupling), settings.n_steps)
        more = kernel_plan(conn, options, sweep_grid(size + 16, settings.speeds,
                                                     case.global_coupling), settings.n_steps)
        assert fits.total_bytes <= free - margin < more.total_bytes
        assert "at most" in refusal and "GiB" in refusal


def _tiny_fig2(tmp_path: Path) -> Path:
    study = yaml.safe_load((ROOT / "config" / "studies" / "rateml-fig2.yaml").read_text())
    study["reproduce"].update(runs=[{"n_steps": 40, "sizes": [1, 3]},
                                    {"n_steps": 80, "sizes": [2]}],
                              connectome=str(ROOT / study["reproduce"]["connectome"]))
    path = tmp_path / "rateml-fig2.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def test_a_tiny_numba_fig2_writes_rows_machine_and_figure(tmp_path):
    config = _tiny_fig2(tmp_path)
    out = tmp_path / "out"
    paths = run_stage(read_study(config), out, source=str(config))
    rows = pd.read_csv(paths["csv"])
    assert rows[["n_sims", "n_steps"]].values.tolist() == [[1, 40], [3, 40], [2, 80]]
    assert (rows["status"] == "ok").all() and (rows["diverged"] == 0).all()
    # the rate is the row's own sim-steps over its own run time, nothing rescaled
    assert np.allclose(rows["sim_steps_per_s"], rows["n_sims"] * rows["n_steps"] / rows["run_s"])
    assert (rows["wall_s"] >= rows["run_s"]).all()
    machine = json.loads(paths["machine"].read_text())
    assert machine["panels"]["a"]["target"] == "numba" and machine["panels"]["a"]["cpu"]
    assert paths["png"].stat().st_size > 10_000
    # --plot-only redraws from the CSV alone
    paths["png"].unlink()
    run_stage(read_study(config), out, plot_only=True, source=str(config))
    assert paths["png"].is_file()


def test_plot_only_needs_the_csv(tmp_path):
    config = _tiny_fig2(tmp_path)
    with pytest.raises(InputError, match="rateml-fig2.csv"):
        run_stage(read_study(config), tmp_path / "empty", plot_only=True)


@pytest.mark.parametrize("study", ["rateml-fig1", "rateml-fig2", "tvbhpc-fig2"])
def test_kept_device_results_redraw(tmp_path, study):
    """The CSVs kept in docs/reproductions/ (measured on the device) redraw here."""
    kept = ROOT / "docs" / "reproductions" / study
    out = tmp_path / study
    shutil.copytree(kept, out)
    (out / f"{study}.png").unlink()
    run_stage(read_study(ROOT / "config" / "studies" / f"{study}.yaml"), out, plot_only=True)
    assert (out / f"{study}.png").stat().st_size > 10_000
    rows = pd.read_csv(out / f"{study}.csv")
    assert (rows["status"].isin(["ok", "refused"])).all()


@pytest.mark.slow  # two rounds of shard processes: ~20 s on two shared cores
def test_panels_merge_and_weak_scaling_processes_on_opencl(tmp_path):
    """Panel a, then panel c (two shard processes on PoCL) into the same CSV."""
    pytest.importorskip("pyopencl")
    from brainsweep.backends import get_target

    if not get_target("opencl").available()[0]:
        pytest.skip("no OpenCL device")
    study = {"study": "tvbhpc-fig2", "reproduce": {
        "figure": "tvbhpc-fig2", "target": "opencl", "device": "pthread",
        "connectome": str(ROOT / "resources/tvb-connectivity/connectivity_68.zip"),
        "n_steps": 20, "sizes": [16], "gpus": [1, 2], "sims_per_gpu": 16,
        "scaling_steps": 20, "models": [KURAMOTO]}}
    out = tmp_path / "out"
    run_stage(study, out, panels=["a"])
    run_stage(study, out, panels=["c"])
    rows = pd.read_csv(out / "tvbhpc-fig2.csv")
    assert rows["panel"].tolist() == ["a", "c", "c"]
    scaling = rows[rows["panel"] == "c"]
    assert scaling["n_sims"].tolist() == [16, 32] and scaling["speedup"].iloc[0] == 1.0
    assert np.allclose(scaling["sim_steps_per_s"],
                       scaling["n_sims"] * scaling["n_steps"] / scaling["wall_s"])
    machine = json.loads((out / "machine.json").read_text())
    assert sorted(machine["panels"]) == ["a", "c"]


SNAKEMAKE = shutil.which("snakemake")


@pytest.mark.skipif(SNAKEMAKE is None, reason="snakemake is not installed")
@pytest.mark.parametrize(("study", "gpus"), [("rateml-fig1", 1), ("rateml-fig2", 0),
                                             ("tvbhpc-fig2", 4)])
def test_snakemake_dry_run_is_one_reproduce_call(tmp_path, study, gpus):
    for name in ("resources", "config"):
        (tmp_path / name).symlink_to(ROOT / name)
    result = subprocess.run(
        [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "-n", "-p", "-j1",
         "--configfile", str(ROOT / "config" / "studies" / f"{study}.yaml")],
        capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "rule reproduce_figure:" in output and "build_connectome" not in output
    assert f"results/reproduce/{study}/{study}.png" in output
    assert output.count("brainsweep reproduce --settings") == 1
    assert f"gpu={gpus}" in output



@pytest.mark.slow  # two rounds of shard processes: ~20 s on two shared cores
def test_bench_splits_a_size_over_processes(capsys):
    """`brainsweep bench --gpus 1 2` (here on PoCL: processes stand in for GPUs)."""
    pytest.importorskip("pyopencl")
    from brainsweep.backends import get_target
    from brainsweep.cli import main

    if not get_target("opencl").available()[0]:
        pytest.skip("no OpenCL device")
    assert main(["bench", "--target", "opencl", "--device", "pthread", "--sizes", "32",
                 "--steps", "20", "--gpus", "1", "2"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()
            if line.strip()[:1].isdigit()]
    assert [(r[0], r[1], r[2]) for r in rows] == [("1", "32", "20"), ("2", "32", "20")]
    assert rows[0][6] == "1.00" and rows[0][-1] == rows[1][-1] == "0"
    wall, rate = float(rows[1][3]), float(rows[1][5])
    # the rate is work / wall; the printed wall is rounded to 0.01 s, so the rate lies
    # between the work over the largest and over the smallest wall that rounds to it
    work = 32 * 20 / 1e6
    assert work / (wall + 0.005) * 0.999 <= rate <= work / max(wall - 0.005, 1e-9) * 1.001
