"""From one row per simulation to one row per parameter point (its noise realisations).

A study with ``simulation.realisations: n`` simulates every parameter point n times with
independent noise. The realisations of a point are the simulations with the same parameter
values; the point's score is the mean of its realisations' scores and its spread their sample
standard deviation, since FC from a few minutes of BOLD is itself a noisy estimate and one
realisation can land far from another. With one realisation per point the table is the
per-simulation one plus empty ``std_`` columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from brainsweep.fit.degenerate import REASONS

__all__ = ["AVERAGED", "by_point", "spread_column"]

#: Columns of the per-simulation table averaged over a point's realisations (when present;
#: plus every ``fc_corr_<subject>``).
AVERAGED = ("fc_corr", "fc_rmse", "mean_fc_diff", "fcd_ks", "combined", "mean_fc",
            "bold_std", "global_step")

#: Columns whose spread over realisations the point table reports.
_SPREAD = ("fc_corr", "fc_rmse", "mean_fc_diff", "fcd_ks", "combined", "mean_fc")


def spread_column(name: str) -> str:
    """The point table's column holding the spread of ``name`` over realisations."""
    # a prefix, so that no spread column looks like a per-subject fc_corr_<subject>
    return f"std_{name}"


def _mean(values: np.ndarray) -> float:
    # summed in realisation order: the same bits however the grid was split into shards
    return float(np.add.reduce(values) / values.size)


def _std(values: np.ndarray) -> float:
    if values.size < 2:
        return float("nan")
    centred = values - _mean(values)
    return float(np.sqrt(np.add.reduce(centred * centred) / (values.size - 1)))


def by_point(per_simulation: pd.DataFrame, parameters: Sequence[str]) -> tuple[pd.DataFrame,
                                                                              pd.DataFrame]:
    """Group the simulations into parameter points.

    Parameters
    ----------
    per_simulation
        One row per simulation, sorted by ``sim_index``: the parameter columns,
        ``diverged``, ``degenerate_reason`` and the score columns.
    parameters
        The parameter column names.

    Returns
    -------
    (per_simulation, per_point)
        The input with ``point`` and ``realisation`` (0, 1, ... in ``sim_index`` order)
        added after ``sim_index``; and one row per point, in the order of their first
        simulation: ``sim_index`` (the first realisation's), the parameters, ``diverged``
        (any realisation diverged: the point then scores NaN, as a diverged simulation
        does), ``degenerate`` (any realisation flagged), ``degenerate_reason`` (every reason
        found), ``point``, ``realisations``, ``n_diverged``, ``n_degenerate``, the mean
        of each :data:`AVERAGED` column and the spread (``std_<name>``, sample standard
        deviation, NaN with one realisation) of the score columns.
    """
    table = per_simulation.reset_index(drop=True)
    keys = table[list(parameters)].to_numpy(dtype=np.float64)
    # the point of a row: the first row with the same parameter values (exact: realisations
    # repeat the grid's row bit for bit)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(first, kind="stable")
    point_of_group = np.empty_like(order)
    point_of_group[order] = np.arange(order.size)
    point = point_of_group[inverse]
    realisation = np.zeros(len(table), dtype=np.int64)
    seen: dict[int, int] = {}
    for row, p in enumerate(point):
        realisation[row] = seen.get(int(p), 0)
        seen[int(p)] = realisation[row] + 1
    at = table.columns.get_loc("sim_index") + 1
    table.insert(at, "point", point)
    table.insert(at + 1, "realisation", realisation)

    averaged = [name for name in table.columns
                if name in AVERAGED or str(name).startswith("fc_corr_")]
    spread = [name for name in _SPREAD if name in table]
    rows = []
    for p in range(order.size):
        members = table[table["point"] == p]
        diverged = members["diverged"].to_numpy(dtype=bool)
        reasons = [reason for reason in members["degenerate_reason"].fillna("")]
        found = [name for name in REASONS
                 if any(name in reason.split(";") for reason in reasons)]
        row = {"sim_index": int(members["sim_index"].iloc[0]),
               **{name: float(members[name].iloc[0]) for name in parameters},
               "diverged": bool(diverged.any()),
               "degenerate": any(bool(reason) for reason in reasons),
               "degenerate_reason": ";".join(found),
               "point": p,
               "realisations": int(len(members)),
               "n_diverged": int(diverged.sum()),
               "n_degenerate": int(sum(bool(reason) for reason in reasons))}
        for name in averaged:
            values = members[name].to_numpy(dtype=np.float64)
            row[name] = float("nan") if diverged.any() else _mean(values)
        for name in spread:
            values = members[name].to_numpy(dtype=np.float64)
            row[spread_column(name)] = float("nan") if diverged.any() else _std(values)
        rows.append(row)
    return table, pd.DataFrame(rows)
