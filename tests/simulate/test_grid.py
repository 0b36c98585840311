"""Parameter grids and their shards."""

from __future__ import annotations

import numpy as np
import pytest

from brainsweep.errors import InputError, PlanError
from brainsweep.simulate import build_grid, n_shards, shard_rows


def test_product_in_written_order_with_last_axis_fastest():
    grid = build_grid({"global_coupling": {"linspace": [0.0, 1.0, 3]}, "speed": [2.0, 4.0]})
    assert grid.names == ("global_coupling", "speed")
    expected = [[g, s] for g in (0.0, 0.5, 1.0) for s in (2.0, 4.0)]
    np.testing.assert_array_equal(grid.values, expected)


def test_logspace_takes_values_not_exponents():
    grid = build_grid({"speed": {"logspace": [1.0, 100.0, 3]}})
    np.testing.assert_allclose(grid.values[:, 0], [1.0, 10.0, 100.0])


def test_explicit_table():
    grid = build_grid({"table": {"global_coupling": [0.1, 0.2], "speed": [3.0, 5.0]}})
    np.testing.assert_array_equal(grid.values, [[0.1, 3.0], [0.2, 5.0]])


@pytest.mark.parametrize("count", [1, 3, 7, 64])
def test_shards_partition_the_grid(count):
    size = 64
    shards = n_shards(size, count=count)
    rows = np.concatenate([shard_rows(size, shards, i) for i in range(shards)])
    np.testing.assert_array_equal(rows, np.arange(size))
    sizes = [shard_rows(size, shards, i).size for i in range(shards)]
    assert max(sizes) - min(sizes) <= 1


def test_shards_by_size():
    assert n_shards(10, size=4) == 3


@pytest.mark.parametrize("sweep, field", [
    ({}, "sweep"),
    ({"speed": {"linspace": [1, 2]}}, "sweep.speed"),
    ({"speed": {"arange": [1, 2, 3]}}, "sweep.speed"),
    ({"speed": [1.0, float("nan")]}, "sweep.speed"),
    ({"table": {"a": [1, 2], "b": [1]}}, "sweep.table"),
])
def test_bad_sweeps_name_the_key(sweep, field):
    with pytest.raises(InputError) as err:
        build_grid(sweep)
    assert err.value.field == field


def test_missing_shard_is_refused():
    with pytest.raises(PlanError, match="shards 0..3"):
        shard_rows(10, 4, 4)


def test_realisations_repeat_each_point_side_by_side():
    from brainsweep.simulate import repeat_points

    grid = build_grid({"global_coupling": [0.1, 0.2], "speed": [2.0, 4.0]})
    repeated = repeat_points(grid, 3)
    assert repeated.names == grid.names and repeated.size == 12
    # realisation r of point p is row 3 p + r: its own global index, so its own noise
    np.testing.assert_array_equal(repeated.values[3 * 2 + 1], grid.values[2])
    np.testing.assert_array_equal(repeated.values, np.repeat(grid.values, 3, axis=0))
    assert repeat_points(grid, 1) is grid  # one realisation: the grid and its indices as before


@pytest.mark.parametrize("value", [0, -1, 2.0, True, "3"])
def test_bad_realisations_name_the_key(value):
    from brainsweep.simulate import repeat_points

    with pytest.raises(InputError) as err:
        repeat_points(build_grid({"speed": [1.0]}), value)
    assert err.value.field == "simulation.realisations"
