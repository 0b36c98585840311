"""``brainsweep bench``: the benchmark grid, the floor's byte count, and a tiny timed run."""

from __future__ import annotations

import numpy as np
import pytest

from brainsweep import bench, connectome
from brainsweep.cli import main


def test_grid_is_speeds_times_couplings():
    grid = bench.bench_grid(64)
    assert grid["speed"].size == grid["global_coupling"].size == 64
    assert np.unique(grid["speed"]).tolist() == np.linspace(1.0, 10.0, 16).tolist()
    assert np.unique(grid["global_coupling"]).tolist() == [0.0, 2 / 3, 4 / 3, 2.0]
    # speeds vary slowest: each run of P/16 simulations shares one delay matrix
    assert np.all(np.diff(grid["speed"]) >= 0)
    with pytest.raises(ValueError, match="multiple"):
        bench.bench_grid(100)


def test_floor_counts_the_delayed_reads_of_tvb68():
    """1244 non-zero weights read 4 bytes each, 68 nodes write 4: 5248 B (the issue's ≈ 5 KB)."""
    conn = connectome.load(bench._CONNECTOME)
    assert np.count_nonzero(conn.weights) == 1244
    assert bench.floor_bytes_per_sim_step(conn.weights) == 5248
    assert bench.floor_bytes_per_sim_step(conn.weights, value_bytes=2) == 2624


def test_a_tiny_numba_bench_prints_its_table(capsys):
    assert main(["bench", "--target", "numba", "--sizes", "16", "--steps", "30"]) == 0
    text = capsys.readouterr().out
    row = [line for line in text.splitlines() if line.startswith("numba")][0].split()
    assert row[1] == "16" and row[2] == "30"
    assert float(row[3]) > 0 and row[-1] == "0"  # a rate, and nothing diverged


def test_rows_give_rate_and_floor_fraction():
    row = bench.BenchRow(target="cuda", device="0", n_sims=32768, n_steps=40000, run_s=5.0,
                         sim_steps_per_s=32768 * 40000 / 5.0, seconds_40k=5.0,
                         bytes_per_sim=200e3, floor_bytes=5248, achieved_gbps=1376.0,
                         floor_fraction=0.32, diverged=0)
    table = bench.format_table([row])
    assert "262.1" in table and "195.3" in table and "0.32" in table
