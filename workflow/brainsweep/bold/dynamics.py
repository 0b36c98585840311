"""Summaries of the raw BOLD that tell degenerate dynamics apart from resting-state-like ones.

A score alone cannot say why a simulation fits: a network that makes one noise-driven jump
between two states inside the analysed window, or whose BOLD barely moves, can still reach a
sizeable FC correlation (the jump, shared by all regions, dominates every series). The bold
stage therefore stores two numbers per simulation, computed on the kept BOLD (after the
transient, before any filter, since detrending and band-passing would hide both):

* :func:`bold_spread`: the median over regions of each region's standard deviation, in the
  BOLD signal's own units (fractional signal change). Near zero, the BOLD is near-constant.
* :func:`global_step`: how far the mean of the global signal (the mean over regions) moves
  between consecutive segments of the window, relative to how much it fluctuates within a
  segment. Stationary fluctuations give values of about 1; a transition between two states
  gives the size of the jump in units of the within-segment fluctuation, well above.

The fit stage compares them with the thresholds of ``fit.degenerate``.
"""

from __future__ import annotations

import numpy as np

from brainsweep.bold.filters import transient_samples
from brainsweep.errors import InputError

__all__ = ["SEGMENT_S", "bold_spread", "global_step"]

#: Segment length of :func:`global_step`, seconds: the FCD window of the default study, long
#: enough for BOLD's ~10 s correlation time to average out within a segment.
SEGMENT_S = 60.0


def _kept(series: np.ndarray, tr: float, transient_s: float) -> np.ndarray:
    x = np.asarray(series, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"expected an array [time, node], got shape {x.shape}", field="bold")
    return x[transient_samples(transient_s, tr):]


def bold_spread(series: np.ndarray, *, tr: float, transient_s: float = 0.0) -> float:
    """Median over regions of the standard deviation of each region's kept BOLD.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((100, 3)); x[::2] = 1.0
    >>> bold_spread(x, tr=1.0)
    0.5
    """
    x = _kept(series, tr, transient_s)
    return float(np.median(x.std(axis=0)))


def global_step(series: np.ndarray, *, tr: float, transient_s: float = 0.0,
                segment_s: float = SEGMENT_S) -> float:
    """Largest change of the global signal's mean between segments, in within-segment s.d.

    The kept BOLD is cut into ``floor(duration / segment_s)`` consecutive segments (at least
    2; the last, partial one is dropped). Returns ``(max - min of the segment means) /
    median of the segment standard deviations`` of the global signal; NaN when fewer than 2
    segments fit or the global signal does not move at all (then there is no scale).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((1000, 4)) * 0.1
    >>> x[500:] += 1.0                       # every region jumps at the middle
    >>> bool(global_step(x, tr=1.0, segment_s=100.0) > 10)
    True
    """
    x = _kept(series, tr, transient_s)
    per_segment = int(round(segment_s / tr))
    n_segments = x.shape[0] // per_segment if per_segment > 0 else 0
    if per_segment < 2 or n_segments < 2:
        return float("nan")
    g = x.mean(axis=1)[: n_segments * per_segment].reshape(n_segments, per_segment)
    spread = float(np.median(g.std(axis=1)))
    if not spread > 0:
        return float("nan")
    means = g.mean(axis=1)
    return float((means.max() - means.min()) / spread)
