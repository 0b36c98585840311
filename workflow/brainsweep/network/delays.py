"""The one delay rule: a tract of ``length`` mm at ``speed`` m/s is ``rint(length / speed / dt)``
steps of ``dt`` ms (m/s = mm/ms), computed in float64.

The oracle (:mod:`brainsweep.reference`), the planner (:mod:`brainsweep.network.plan`), the
connectome summary and every target take their delays from here, so that a change of the
rule (or of its rounding) is one edit and every target stays in step. ``rint`` rounds half to
even, as NumPy, C's ``rint`` and Numba's ``np.rint`` all do.
"""

from __future__ import annotations

import numpy as np

from brainsweep.errors import InputError

__all__ = ["delay_horizon", "delay_steps", "delay_tables"]

_INT32_LIMIT = 2**31 - 1  # the device kernels index delays and history rows in 32 bits


def delay_steps(lengths: np.ndarray, speed: float, dt: float) -> np.ndarray:
    """Delays in integration steps, (N, N) int64.

    Examples
    --------
    >>> delay_steps(np.array([[0.0, 30.0], [45.0, 0.0]]), 3.0, 1.0).tolist()
    [[0, 10], [15, 0]]
    """
    return np.rint(np.asarray(lengths, dtype=np.float64) / float(speed) / float(dt)
                   ).astype(np.int64)


def delay_tables(lengths: np.ndarray, speeds: np.ndarray, dt: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Delay matrices in steps, one per distinct speed, and each simulation's matrix index.

    Returns ``delays`` (D, N, N) int32 over the D distinct speeds in ascending order, and
    ``delay_set`` (S,) int32: the row of ``delays`` that simulation ``s`` uses.

    Examples
    --------
    >>> d, k = delay_tables(np.array([[0.0, 30.0], [30.0, 0.0]]), np.array([3.0, 1.5, 3.0]), 1.0)
    >>> d[:, 0, 1].tolist(), k.tolist()
    ([20, 10], [1, 0, 1])
    """
    distinct, delay_set = np.unique(np.asarray(speeds, dtype=np.float64), return_inverse=True)
    steps = np.stack([delay_steps(lengths, speed, dt) for speed in distinct]) if distinct.size \
        else np.zeros((0, *np.shape(lengths)), dtype=np.int64)
    if steps.max(initial=0) >= _INT32_LIMIT:
        raise InputError(f"delays of {steps.max()} steps overflow 32-bit indices; raise dt "
                         f"or the speed", field="speed")
    return steps.astype(np.int32), delay_set.astype(np.int32).reshape(-1)


def delay_horizon(weights: np.ndarray, lengths: np.ndarray, speed: float, dt: float) -> int:
    """History slots one speed needs: the longest delay over non-zero weights, plus one.

    A connection of zero weight is never read, so it needs no history.

    Examples
    --------
    >>> w = np.array([[0.0, 1.0], [0.0, 0.0]])
    >>> lengths = np.array([[0.0, 30.0], [500.0, 0.0]])
    >>> delay_horizon(w, lengths, 3.0, 0.1)  # the 500 mm tract has no weight
    101
    """
    used = np.asarray(weights) != 0
    if not used.any():
        return 1
    return int(delay_steps(np.asarray(lengths, dtype=np.float64)[used], speed, dt).max()) + 1
