"""Parameter grids of a study and their deterministic split into shards.

A sweep maps parameter names to axes (a list, ``linspace``, ``logspace``) whose Cartesian
product, in the order written, makes the grid; or it gives an explicit ``table`` of rows. Each
simulation keeps its row number as its global index, which keys its noise, so a simulation
gives the same result whichever shard runs it.

A study may simulate each parameter point several times with independent noise
(``simulation.realisations``): :func:`repeat_points` repeats every row, the repeats of one
point side by side, so realisation ``r`` of point ``p`` is row ``p * n + r``. With one
realisation the grid, and so every simulation's index and noise, is the unrepeated one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from brainsweep.errors import InputError, PlanError

__all__ = ["Grid", "build_grid", "grid_axes", "grid_size", "n_shards", "repeat_points",
           "shard_rows"]


@dataclass(frozen=True)
class Grid:
    names: tuple[str, ...]
    values: np.ndarray  # (S, P)

    @property
    def size(self) -> int:
        return self.values.shape[0]

    def as_params(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {name: self.values[rows, p] for p, name in enumerate(self.names)}


def _numbers(values: Any, field: str) -> np.ndarray:
    """An axis's listed values as float64; a word or a nested list is refused by name."""
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int | float)] \
        if isinstance(values, list) else [values]
    if bad:
        raise InputError(f"axis values must be numbers, got {bad[0]!r}", field=field)
    return np.asarray(values, dtype=np.float64)


def _axis(name: str, spec: Any) -> np.ndarray:
    field = f"sweep.{name}"
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        return np.array([float(spec)])
    if isinstance(spec, list):
        values = _numbers(spec, field)
    elif isinstance(spec, Mapping) and len(spec) == 1:
        (kind, args), = spec.items()
        if kind == "list":
            values = _numbers(args, field)
        elif kind in ("linspace", "logspace"):
            if not (isinstance(args, list) and len(args) == 3
                    and all(isinstance(a, int | float) and not isinstance(a, bool)
                            for a in args)
                    and int(args[2]) == args[2] and args[2] >= 1):
                raise InputError(f"{kind} takes [start, stop, count], got {args!r}", field=field)
            start, stop, count = float(args[0]), float(args[1]), int(args[2])
            if kind == "linspace":
                values = np.linspace(start, stop, count)
            else:
                if start <= 0 or stop <= 0:
                    raise InputError("logspace takes positive [start, stop, count] values "
                                     "(the values themselves, not exponents)", field=field)
                values = np.geomspace(start, stop, count)
        else:
            raise InputError(f"unknown axis kind {kind!r}; use list, linspace or logspace",
                             field=field)
    else:
        raise InputError(f"an axis is a number, a list or one of {{list|linspace|logspace: "
                         f"...}}, got {spec!r}", field=field)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise InputError(f"axis values must be a non-empty list of finite numbers, got {spec!r}",
                         field=field)
    return values


def grid_axes(sweep: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Each parameter's values as written (an explicit table: its columns), not expanded;
    every axis is checked as :func:`build_grid` checks it."""
    if not sweep:
        raise InputError("the sweep is empty: give at least one parameter axis", field="sweep")
    if "table" in sweep:
        table = sweep["table"]
        if len(sweep) != 1 or not isinstance(table, Mapping) or not table:
            raise InputError("an explicit table is {table: {name: [values...], ...}} alone",
                             field="sweep.table")
        columns = {}
        for name, values in table.items():
            if not isinstance(values, list):
                raise InputError(f"a table column is a list, got {values!r}",
                                 field=f"sweep.table.{name}")
            columns[name] = _axis(f"table.{name}", values)
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise InputError(f"table columns differ in length: "
                             f"{ {k: len(v) for k, v in columns.items()} }", field="sweep.table")
        return columns
    return {name: _axis(name, spec) for name, spec in sweep.items()}


def grid_size(sweep: Mapping[str, Any]) -> int:
    """How many simulations the sweep makes, counted without building the grid (a Python
    int: a product of axes never overflows)."""
    axes = grid_axes(sweep)
    if "table" in sweep:
        return len(next(iter(axes.values())))
    return math.prod(len(values) for values in axes.values())


def build_grid(sweep: Mapping[str, Any]) -> Grid:
    """The grid of a study's ``sweep:`` section.

    Examples
    --------
    >>> grid = build_grid({"global_coupling": {"linspace": [0, 1, 3]}, "speed": [2.0, 4.0]})
    >>> grid.names, grid.size
    (('global_coupling', 'speed'), 6)
    """
    axes = grid_axes(sweep)
    if "table" in sweep:
        return Grid(tuple(axes), np.column_stack(list(axes.values())))
    rows = np.array(list(itertools.product(*axes.values())), dtype=np.float64)
    return Grid(tuple(axes), rows)


def repeat_points(grid: Grid, realisations: int) -> Grid:
    """The grid with each row repeated ``realisations`` times, the repeats side by side.

    Examples
    --------
    >>> repeat_points(build_grid({"speed": [2.0, 4.0]}), 2).values[:, 0].tolist()
    [2.0, 2.0, 4.0, 4.0]
    """
    if isinstance(realisations, bool) or not isinstance(realisations, int | np.integer) \
            or realisations < 1:
        raise InputError(f"expected a whole number >= 1, got {realisations!r}",
                         field="simulation.realisations")
    if realisations == 1:
        return grid
    return Grid(grid.names, np.repeat(grid.values, int(realisations), axis=0))


def n_shards(grid_size: int, *, count: int | None = None, size: int | None = None) -> int:
    """How many shards: ``count`` of them, or as many as needed for ``size`` sims each."""
    if (count is None) == (size is None):
        raise InputError("give exactly one of shards.count and shards.size", field="shards")
    if count is not None:
        if count < 1:
            raise InputError("shards.count must be at least 1", field="shards.count")
        return min(int(count), grid_size)
    if size < 1:
        raise InputError("shards.size must be at least 1", field="shards.size")
    return -(-grid_size // int(size))


def shard_rows(grid_size: int, shards: int, shard: int) -> np.ndarray:
    """Global row indices of shard ``shard`` of ``shards``: contiguous, sizes differ by ≤ 1."""
    if not 0 <= shard < shards:
        raise PlanError(f"shard {shard} does not exist: the study has shards 0..{shards - 1}")
    bounds = np.linspace(0, grid_size, shards + 1).round().astype(np.int64)
    return np.arange(bounds[shard], bounds[shard + 1], dtype=np.int64)
