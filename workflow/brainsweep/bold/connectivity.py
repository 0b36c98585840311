"""Functional connectivity (FC) and its dynamics (FCD) from region time series.

Arrays follow the package layout ``[..., time, node]``; any leading axes (simulations,
subjects) are kept. Sums run in float64 whatever the input type.
"""

from __future__ import annotations

import math

import numpy as np

from brainsweep.errors import InputError

__all__ = ["fc", "fcd", "fcd_values", "fcd_windows", "upper_triangle"]

# a series whose standard deviation is below this fraction of its largest magnitude is flat:
# subtracting the mean of a constant leaves only rounding noise, whose "correlations" are junk
_FLAT_RELATIVE = 1e3 * np.finfo(np.float64).eps


def upper_triangle(matrices: np.ndarray) -> np.ndarray:
    """The strictly upper triangle (``k=1``) of ``[..., n, n]`` as ``[..., n*(n-1)/2]``.

    The order is NumPy's ``triu_indices(n, 1)`` (row by row).
    """
    m = np.asarray(matrices)
    if m.ndim < 2 or m.shape[-1] != m.shape[-2]:
        raise InputError(
            f"expected square matrices [..., n, n], got shape {m.shape}", field="matrix"
        )
    rows, cols = np.triu_indices(m.shape[-1], k=1)
    return m[..., rows, cols]


def fc(ts: np.ndarray) -> np.ndarray:
    """Pearson correlation between the nodes of ``[..., time, node]`` series.

    Parameters
    ----------
    ts
        Array ``[..., time, node]`` with at least 2 time points.

    Returns
    -------
    numpy.ndarray
        float64 ``[..., node, node]``, symmetric, with a unit diagonal. A node whose series
        is flat or holds a NaN/inf gets a NaN row and column (diagonal included); other
        entries are unaffected. Nothing warns or raises for such series.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((500, 3))
    >>> bool(np.allclose(fc(x), np.corrcoef(x.T)))
    True
    """
    x = np.asarray(ts, dtype=np.float64)
    if x.ndim < 2:
        raise InputError(f"expected an array [..., time, node], got shape {x.shape}", field="ts")
    if x.shape[-2] < 2:
        raise InputError(f"need at least 2 time points, got {x.shape[-2]}", field="ts")
    finite = np.isfinite(x).all(axis=-2)  # [..., node]
    # zero the bad series so their NaN/inf cannot leak into good entries through the product
    x = np.where(finite[..., None, :], x, 0.0)
    centred = x - x.mean(axis=-2, keepdims=True)
    sum_sq = np.einsum("...tn,...tn->...n", centred, centred)
    n_time = x.shape[-2]
    scale = np.abs(x).max(axis=-2)
    good = finite & (np.sqrt(sum_sq / n_time) > _FLAT_RELATIVE * scale)
    norm = np.sqrt(np.where(good, sum_sq, 1.0))
    unit = centred / norm[..., None, :]
    r = np.swapaxes(unit, -1, -2) @ unit
    np.clip(r, -1.0, 1.0, out=r)
    n = x.shape[-1]
    diag = np.arange(n)
    r[..., diag, diag] = 1.0
    pair_good = good[..., :, None] & good[..., None, :]
    return np.where(pair_good, r, np.nan)


def _window_samples(tr: float, window_s: float, step_s: float) -> tuple[int, int]:
    for name, value in (("tr", tr), ("window_s", window_s), ("step_s", step_s)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise InputError(f"expected a positive number of seconds, got {value!r}", field=name)
    # rounding, not flooring: 60 s at TR 0.72 s is 83.3 samples -> 83
    width = max(2, int(round(window_s / tr)))
    step = max(1, int(round(step_s / tr)))
    return width, step


def fcd_windows(n_time: int, *, tr: float, window_s: float, step_s: float) -> np.ndarray:
    """Start indices of the sliding windows used by :func:`fcd`.

    A window spans ``round(window_s / tr)`` samples (at least 2); starts advance by
    ``round(step_s / tr)`` samples (at least 1); only whole windows are used.
    """
    width, step = _window_samples(tr, window_s, step_s)
    if n_time < width:
        raise InputError(
            f"a {window_s:g} s window ({width} samples at TR {tr:g} s) does not "
            f"fit in {n_time} samples",
            field="fcd.window_s",
        )
    return np.arange(0, n_time - width + 1, step)


def fcd(ts: np.ndarray, *, tr: float, window_s: float, step_s: float) -> np.ndarray:
    """Functional connectivity dynamics: correlations between sliding-window FCs.

    Each window's FC (Pearson, :func:`fc`) is reduced to its strict upper triangle; the FCD
    matrix holds the Pearson correlation between those vectors for every pair of windows
    (Hansen et al. 2015; Deco et al. 2017).

    Parameters
    ----------
    ts
        Array ``[..., time, node]``.
    tr
        Sampling period in seconds.
    window_s, step_s
        Window length and step in seconds (see :func:`fcd_windows` for the rounding).

    Returns
    -------
    numpy.ndarray
        float64 ``[..., windows, windows]`` with a unit diagonal; a window whose FC holds a
        NaN gets a NaN row and column.

    Raises
    ------
    InputError
        Fewer than two whole windows fit in the series, or non-positive times.
    """
    x = np.asarray(ts, dtype=np.float64)
    if x.ndim < 2:
        raise InputError(f"expected an array [..., time, node], got shape {x.shape}", field="ts")
    if x.shape[-1] < 2:
        raise InputError(f"need at least 2 nodes for an FCD, got {x.shape[-1]}", field="ts")
    width, _ = _window_samples(tr, window_s, step_s)
    starts = fcd_windows(x.shape[-2], tr=tr, window_s=window_s, step_s=step_s)
    if starts.size < 2:
        raise InputError(
            f"only {starts.size} window of {window_s:g} s fits in "
            f"{x.shape[-2]} samples at TR {tr:g} s; an FCD needs 2",
            field="fcd.window_s",
        )
    # [..., time - width + 1, node, width] view, then the chosen starts: [..., W, width, node]
    windows = np.lib.stride_tricks.sliding_window_view(x, width, axis=-2)[..., starts, :, :]
    window_fc = fc(np.swapaxes(windows, -1, -2))  # [..., W, node, node]
    vectors = upper_triangle(window_fc)  # [..., W, pairs]
    # windows are the "nodes" and pairs the "samples" of a second correlation
    return fc(np.swapaxes(vectors, -1, -2))


def fcd_values(fcd_matrix: np.ndarray) -> np.ndarray:
    """The strict upper triangle (``k=1``) of FCD matrices, the sample a KS test compares.

    Parameters
    ----------
    fcd_matrix
        ``[..., windows, windows]``.

    Returns
    -------
    numpy.ndarray
        ``[..., windows * (windows - 1) / 2]``, same dtype.
    """
    return upper_triangle(fcd_matrix)
