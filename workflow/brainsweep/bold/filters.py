"""Post-processing of BOLD region time series before connectivity is computed.

The steps, in the order :func:`postprocess` applies them:

1. drop the initial transient (``ceil(transient_s / tr)`` samples);
2. remove a linear trend per series (least squares; mean included);
3. band-pass filter with a Butterworth filter of order :data:`BUTTERWORTH_ORDER` per edge,
   run forward and backward (``scipy.signal.sosfiltfilt``): zero phase, so no lag between
   regions, and the magnitude response is that of the design squared;
4. global signal regression: project the mean over regions out of every region;
5. z-score each series over time (population standard deviation, ``ddof=0``).

GSR comes after filtering so that the series whose correlations are computed are orthogonal to
the global signal *of the same band*. Every step acts on each series on its own (GSR on each
time point's regions), so a NaN series (a diverged simulation) stays NaN without touching the
others, and nothing warns or raises on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import signal

from brainsweep.errors import InputError

__all__ = ["BUTTERWORTH_ORDER", "butterworth_sos", "postprocess", "transient_samples"]

#: Order of the Butterworth design per band edge (the common choice in whole-brain fitting
#: papers, e.g. Deco et al. 2013/2017). Band-pass designs have twice this order; the
#: forward-backward pass doubles the attenuation in dB again.
BUTTERWORTH_ORDER = 2


def butterworth_sos(
    band: Sequence[float | None], *, tr: float, order: int = BUTTERWORTH_ORDER
) -> np.ndarray:
    """Second-order sections of a Butterworth band-pass, low-pass or high-pass filter.

    Parameters
    ----------
    band
        ``(low, high)`` in Hz; ``low`` None gives a low-pass, ``high`` None a high-pass.
    tr
        Sampling period in seconds.
    order
        Order per band edge.
    """
    low, high = band
    nyquist = 0.5 / tr
    for edge in (low, high):
        if edge is not None and not 0.0 < edge < nyquist:
            raise InputError(
                f"band edge {edge} Hz must lie in (0, {nyquist:g}) Hz, the "
                f"Nyquist frequency of TR {tr:g} s",
                field="bandpass",
            )
    if low is not None and high is not None:
        if low >= high:
            raise InputError(
                f"low edge {low} Hz must be below high edge {high} Hz", field="bandpass"
            )
        return signal.butter(order, [low, high], btype="bandpass", output="sos", fs=1.0 / tr)
    if high is not None:
        return signal.butter(order, high, btype="lowpass", output="sos", fs=1.0 / tr)
    if low is not None:
        return signal.butter(order, low, btype="highpass", output="sos", fs=1.0 / tr)
    raise InputError("at least one band edge must be given", field="bandpass")


def transient_samples(transient_s: float, tr: float) -> int:
    """Samples :func:`postprocess` drops for a transient: ``ceil(transient_s / tr)``."""
    # the small tolerance keeps 20 s at TR 0.5 s at 40 samples despite rounding
    return int(math.ceil(transient_s / tr - 1e-9))


def _detrend_linear(x: np.ndarray) -> np.ndarray:
    # closed form instead of scipy.signal.detrend: its lstsq fails on NaN input, and a
    # diverged simulation must simply stay NaN
    n = x.shape[-2]
    t = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    t = t[:, None]
    mean = x.mean(axis=-2, keepdims=True)
    slope = (t * (x - mean)).sum(axis=-2, keepdims=True) / float((t * t).sum())
    return x - mean - slope * t


def _regress_global(x: np.ndarray) -> np.ndarray:
    g = x.mean(axis=-1, keepdims=True)  # [..., time, 1]
    g = g - g.mean(axis=-2, keepdims=True)
    gg = (g * g).sum(axis=-2, keepdims=True)
    beta = (g * x).sum(axis=-2, keepdims=True) / np.where(gg > 0, gg, 1.0)
    # a zero global signal (all regions flat) has nothing to regress out
    return x - np.where(gg > 0, beta, 0.0) * g


def _zscore(x: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=-2, keepdims=True)
    std = centred.std(axis=-2, keepdims=True)
    scale = np.abs(x).max(axis=-2, keepdims=True)
    # flat series (std at rounding level) are left centred (all zeros) rather than blown up
    # into noise; fc() then reports them as NaN rows
    flat = ~(std > 1e3 * np.finfo(np.float64).eps * scale)
    return np.where(flat & np.isfinite(std), 0.0, centred / np.where(flat, 1.0, std))


def postprocess(
    ts: np.ndarray,
    *,
    tr: float,
    transient_s: float = 0.0,
    detrend: bool = True,
    bandpass: Sequence[float | None] | None = (0.01, 0.1),
    zscore: bool = True,
    gsr: bool = False,
) -> np.ndarray:
    """Clean BOLD time series: transient, detrend, band-pass, GSR, z-score (in that order).

    Parameters
    ----------
    ts
        Array ``[..., time, node]`` (any leading axes, e.g. simulations).
    tr
        Sampling period in seconds.
    transient_s
        Seconds to drop from the start (``ceil(transient_s / tr)`` samples).
    detrend
        Remove a linear trend (and the mean) from each series.
    bandpass
        ``(low, high)`` in Hz for a zero-phase Butterworth filter of order
        :data:`BUTTERWORTH_ORDER` per edge (``sosfiltfilt``); either end None gives a
        high-pass or low-pass; None skips filtering.
    zscore
        Scale each series to zero mean and unit (population) standard deviation; a flat
        series becomes all zeros.
    gsr
        Regress the mean over regions out of every region.

    Returns
    -------
    numpy.ndarray
        float64 array ``[..., time - dropped, node]``.

    Raises
    ------
    InputError
        A non-positive TR, a transient as long as the series, a band edge outside
        ``(0, Nyquist)``, or a series too short for the filter's edge padding.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(1000) * 0.72
    >>> x = np.stack([np.sin(2 * np.pi * 0.03 * t), np.sin(2 * np.pi * 0.3 * t)], axis=-1)
    >>> y = postprocess(x, tr=0.72, zscore=False, detrend=False)
    >>> bool(y[200:800, 1].std() < 0.01 * y[200:800, 0].std())
    True
    """
    x = np.asarray(ts, dtype=np.float64)
    if x.ndim < 2:
        raise InputError(f"expected an array [..., time, node], got shape {x.shape}", field="ts")
    if not (isinstance(tr, int | float) and math.isfinite(tr) and tr > 0):
        raise InputError(f"expected a positive sampling period in seconds, got {tr!r}", field="tr")
    if not (math.isfinite(transient_s) and transient_s >= 0):
        raise InputError(f"expected a transient >= 0 s, got {transient_s!r}", field="transient_s")
    n_drop = transient_samples(transient_s, tr)
    n_time = x.shape[-2]
    if n_drop >= n_time - 1:
        raise InputError(
            f"transient of {transient_s:g} s ({n_drop} samples at TR {tr:g} s) "
            f"leaves fewer than 2 of the {n_time} samples",
            field="transient_s",
        )
    x = x[..., n_drop:, :]

    if detrend:
        x = _detrend_linear(x)
    if bandpass is not None:
        sos = butterworth_sos(tuple(bandpass), tr=tr)
        padlen = 3 * (2 * len(sos) + 1)  # sosfiltfilt's default edge padding
        if x.shape[-2] <= padlen:
            raise InputError(
                f"{x.shape[-2]} samples are too few to filter; the zero-phase "
                f"filter needs more than {padlen}",
                field="bandpass",
            )
        x = signal.sosfiltfilt(sos, x, axis=-2)
    if gsr:
        x = _regress_global(x)
    if zscore:
        x = _zscore(x)
    return np.ascontiguousarray(x)
