"""Goodness-of-fit metrics between simulated and empirical connectivity.

All FC comparisons use the strict upper triangle (``k=1``): the diagonal is 1 by construction
and the lower triangle repeats the upper one, so including either would inflate agreement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from brainsweep.bold.connectivity import upper_triangle
from brainsweep.errors import InputError, refuse_unknown_keys

__all__ = [
    "DEFAULT_WEIGHTS",
    "METRICS",
    "fc_correlation",
    "ks_statistic",
    "score",
]

#: Metric name -> True when higher is better.
METRICS: dict[str, bool] = {
    "fc_corr": True,
    "fc_rmse": False,
    "mean_fc_diff": False,
    "fcd_ks": False,
    "combined": True,
}

#: Weights of ``combined = w_fc_corr * fc_corr - w_fcd_ks * fcd_ks - w_mean_fc_diff *
#: mean_fc_diff``. The mean-FC term is off by default; with all three at 1 this is the
#: goodness of fit of cuBNM (Saberi et al. 2024): the FC pattern, its dynamics and its level.
DEFAULT_WEIGHTS: dict[str, float] = {"fc_corr": 1.0, "fcd_ks": 1.0, "mean_fc_diff": 0.0}


def _row_sums(values: np.ndarray) -> np.ndarray:
    """Sum over the last axis, one row at a time: a row's sum never depends on which other
    rows (how many simulations, which shard) share the array. A matrix product would hand
    the rows to BLAS, whose blocking, and so the last bit of a row, follows the row count."""
    rows = np.ascontiguousarray(values, dtype=np.float64)
    flat = rows.reshape(-1, rows.shape[-1])
    return np.array([np.add.reduce(row) for row in flat]).reshape(rows.shape[:-1])


def fc_correlation(sim_upper: np.ndarray, emp_upper: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``sim_upper`` [S, M] with ``emp_upper`` [M].

    A row holding a NaN, or a constant row, gives NaN. Each row is reduced on its own, so a
    simulation's value is bit-identical whatever else is scored with it.
    """
    sim = np.asarray(sim_upper, dtype=np.float64)
    emp = np.asarray(emp_upper, dtype=np.float64)
    emp_c = emp - np.add.reduce(emp) / emp.size
    with np.errstate(invalid="ignore", divide="ignore"):
        sim_c = sim - (_row_sums(sim) / sim.shape[-1])[..., None]
        cov = _row_sums(sim_c * emp_c)
        norm = np.sqrt(_row_sums(sim_c * sim_c) * np.add.reduce(emp_c * emp_c))
        r = np.where(norm > 0, cov / np.where(norm > 0, norm, 1.0), np.nan)
    return np.clip(r, -1.0, 1.0)


def ks_statistic(sample: np.ndarray, reference_sorted: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov statistic ``sup |F_sample - F_reference|``.

    Parameters
    ----------
    sample
        1-D values; any NaN gives NaN.
    reference_sorted
        1-D finite values, already sorted ascending (sorted once for many samples).
    """
    a = np.sort(np.asarray(sample, dtype=np.float64))
    if a.size == 0 or np.isnan(a[-1]):  # NaN sorts last
        return float("nan")
    b = reference_sorted
    # both empirical CDFs are step functions; the supremum is reached at a sample point
    cdf_a_at_b = np.searchsorted(a, b, side="right") / a.size
    cdf_b_at_a = np.searchsorted(b, a, side="right") / b.size
    cdf_a_at_a = np.arange(1, a.size + 1) / a.size
    cdf_b_at_b = np.arange(1, b.size + 1) / b.size
    # ties: the last of equal values carries the full step on each side
    last_a = np.r_[a[1:] != a[:-1], True]
    last_b = np.r_[b[1:] != b[:-1], True]
    return float(
        max(
            np.abs(cdf_a_at_a[last_a] - cdf_b_at_a[last_a]).max(),
            np.abs(cdf_a_at_b[last_b] - cdf_b_at_b[last_b]).max(),
        )
    )


def _fc_stack(fc: np.ndarray, name: str) -> np.ndarray:
    stack = np.asarray(fc, dtype=np.float64)
    if stack.ndim == 2:
        stack = stack[None]
    if stack.ndim != 3 or stack.shape[1] != stack.shape[2]:
        raise InputError(
            f"expected [simulation, node, node] or [node, node], got {stack.shape}", field=name
        )
    return stack


def score(
    fc: np.ndarray,
    empirical_fc: np.ndarray,
    *,
    empirical_fcd: np.ndarray | None = None,
    sim_fcd: np.ndarray | Sequence[np.ndarray] | None = None,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Score simulated FC (and FCD) against empirical ones.

    Parameters
    ----------
    fc
        Simulated FC ``[simulation, node, node]`` (or one ``[node, node]``).
    empirical_fc
        Empirical FC ``[node, node]``, finite.
    empirical_fcd
        Empirical FCD values (upper triangles, pooled over subjects), 1-D.
    sim_fcd
        Simulated FCD values, one 1-D array per simulation (``[simulation, M]`` or a list).
        Give both FCD arguments or neither.
    weights
        ``{"fc_corr": w1, "fcd_ks": w2, "mean_fc_diff": w3}`` for ``combined`` (default 1,
        1 and 0).

    Returns
    -------
    pandas.DataFrame
        One row per simulation with ``fc_corr`` (Pearson of the upper triangles; higher is
        better), ``fc_rmse`` (root mean square difference of the upper triangles; lower is
        better), ``mean_fc_diff`` (``|mean sim - mean empirical|`` of the upper triangles;
        lower is better), ``fcd_ks`` (two-sample KS statistic of the FCD values, only with
        FCDs; lower is better) and ``combined = w1 * fc_corr - w2 * fcd_ks - w3 *
        mean_fc_diff`` (without FCDs the KS term is left out; higher is better). A
        simulation whose FC holds a NaN scores NaN everywhere; one whose FCD holds a NaN
        scores NaN in ``fcd_ks`` and ``combined``.

    Examples
    --------
    >>> import numpy as np
    >>> emp = np.array([[1.0, 0.5, 0.1], [0.5, 1.0, 0.3], [0.1, 0.3, 1.0]])
    >>> round(float(score(emp, emp)["fc_corr"].iloc[0]), 6)
    1.0
    """
    stack = _fc_stack(fc, "fc")
    emp = np.asarray(empirical_fc, dtype=np.float64)
    if emp.shape != stack.shape[1:]:
        raise InputError(
            f"expected shape {stack.shape[1:]} to match the simulations, got {emp.shape}",
            field="empirical_fc",
        )
    if stack.shape[1] < 3:
        raise InputError(
            "need at least 3 regions to correlate FC upper triangles", field="empirical_fc"
        )
    emp_upper = upper_triangle(emp)
    if not np.isfinite(emp_upper).all():
        raise InputError("empirical FC holds non-finite values", field="empirical_fc")
    weight = {**DEFAULT_WEIGHTS, **(weights or {})}
    refuse_unknown_keys(weight, DEFAULT_WEIGHTS, field="weights", what="weight")

    sim_upper = upper_triangle(stack)
    valid = np.isfinite(sim_upper).all(axis=1)
    n_values = emp_upper.size
    with np.errstate(invalid="ignore"):
        table = {
            "fc_corr": np.where(valid, fc_correlation(sim_upper, emp_upper), np.nan),
            "fc_rmse": np.sqrt(_row_sums((sim_upper - emp_upper) ** 2) / n_values),
            "mean_fc_diff": np.abs(_row_sums(sim_upper) / n_values
                                   - np.add.reduce(emp_upper) / n_values),
        }
    for key in ("fc_rmse", "mean_fc_diff"):
        table[key] = np.where(valid, table[key], np.nan)
    combined = weight["fc_corr"] * table["fc_corr"]
    if weight["mean_fc_diff"]:
        combined = combined - weight["mean_fc_diff"] * table["mean_fc_diff"]

    if (empirical_fcd is None) != (sim_fcd is None):
        raise InputError("give both empirical_fcd and sim_fcd, or neither", field="sim_fcd")
    if empirical_fcd is not None:
        reference = np.asarray(empirical_fcd, dtype=np.float64).ravel()
        if reference.size == 0 or not np.isfinite(reference).all():
            raise InputError("expected finite empirical FCD values", field="empirical_fcd")
        reference = np.sort(reference)
        if len(sim_fcd) != stack.shape[0]:
            raise InputError(
                f"expected {stack.shape[0]} simulated FCDs, got {len(sim_fcd)}", field="sim_fcd"
            )
        ks = np.array(
            [
                ks_statistic(np.asarray(values).ravel(), reference) if ok else np.nan
                for values, ok in zip(sim_fcd, valid, strict=True)
            ]
        )
        table["fcd_ks"] = ks
        combined = combined - weight["fcd_ks"] * ks
    table["combined"] = combined
    return pd.DataFrame(table)
