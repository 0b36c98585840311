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
