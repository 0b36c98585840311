"""Conduction delays implied by a connectome: what the simulate stage's planner sizes."""

from __future__ import annotations

from typing import Any

import numpy as np

from brainsweep.errors import InputError
from brainsweep.network.delays import delay_steps as network_delay_steps

from .model import Connectome

__all__ = ["delay_steps", "delay_summary"]


def _positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise InputError(f"expected a number, got {value!r}", field=name)
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"expected a finite value > 0, got {value}", field=name)
    return float(value)


def delay_steps(lengths: np.ndarray, *, speed: float, dt: float) -> np.ndarray:
    """Delays in integration steps by the one rule (:mod:`brainsweep.network.delays`), with
    ``speed`` (m/s) and ``dt`` (ms) checked to be positive numbers first."""
    return network_delay_steps(lengths, _positive(speed, "speed"), _positive(dt, "dt"))


def delay_summary(conn: Connectome, *, speed: float, dt: float, dtype: str = "float32",
                  n_variables: int = 1) -> dict[str, Any]:
    """The largest and mean delay, in steps, and the bytes a delay history needs.

    Only connections that exist (weight > 0) count: a length with no weight never delays
    anything.

    Parameters
    ----------
    conn
        A connectome (a stack counts every subject).
    speed
        Conduction speed, m/s (= mm/ms).
    dt
        Integration step, ms.
    dtype
        Element type of the history buffer.
    n_variables
        How many coupled state variables keep a history.

    Returns
    -------
    dict
        ``max_delay_steps``, ``mean_delay_steps``, ``max_length_mm``, ``n_connections``,
        ``history_steps`` (max delay + 1: the current step is kept too) and
        ``history_bytes`` = history_steps × N × n_variables × itemsize (one simulation).

    Examples
    --------
    >>> import numpy as np
    >>> from brainsweep.connectome import Connectome
    >>> c = Connectome(np.array([[0, 1.0], [1.0, 0]]), np.array([[0, 30.0], [30.0, 0]]),
    ...                ("a", "b"))
    >>> delay_summary(c, speed=3.0, dt=0.1)["max_delay_steps"]
    100
    """
    if isinstance(n_variables, bool) or not isinstance(n_variables, int) or n_variables < 1:
        raise InputError(f"expected a whole number >= 1, got {n_variables!r}",
                         field="n_variables")
    itemsize = np.dtype(dtype).itemsize
    exists = np.asarray(conn.weights) > 0
    lengths = np.asarray(conn.lengths)[exists]
    steps = delay_steps(lengths, speed=speed, dt=dt)
    max_steps = int(steps.max()) if steps.size else 0
    history_steps = max_steps + 1
    return {
        "speed": float(speed),
        "dt": float(dt),
        "n_connections": int(steps.size),
        "max_length_mm": float(lengths.max()) if lengths.size else 0.0,
        "max_delay_steps": max_steps,
        "mean_delay_steps": float(steps.mean()) if steps.size else 0.0,
        "history_steps": history_steps,
        "history_bytes": int(history_steps * conn.n_regions * n_variables * itemsize),
    }
