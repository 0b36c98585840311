"""Per-region parameters, shared by the CPU and GPU tests: one sweep with a regional ``eta``.

MontbrioPazoRoxin with ``eta`` drawn per region and per simulation (an ``(S, N)`` table) over
two speeds, so that a wrong row, node or simulation order in any target's regional table moves
the trajectories by far more than the tolerances (the spread of eta, 0.6, changes each node's
rate by tens of percent).
"""

from __future__ import annotations

import numpy as np

from brainsweep import simulate

ETA_RANGE = (-5.2, -4.6)


def regional_eta(n_sims: int, n_nodes: int, seed: int = 7) -> np.ndarray:
    """(S, N) excitabilities, a different map per simulation."""
    return np.random.default_rng(seed).uniform(*ETA_RANGE, (n_sims, n_nodes))


def regional_sweep(conn, *, target: str, dtype: str = "float64", n_sims: int = 4,
                   n_steps: int = 2000, eta: np.ndarray | None = None, device=None,
                   noisy: bool = True):
    """``n_sims`` simulations, eta per region, two speeds interleaved (two delay groups)."""
    n_nodes = conn.weights.shape[0]
    eta = regional_eta(n_sims, n_nodes) if eta is None else eta
    options = dict(device=device) if device is not None else {}
    return simulate.run(
        conn, "montbrio", target=target, dtype=dtype, n_steps=n_steps, integrator="heun",
        params={"global_coupling": np.linspace(0.3, 0.6, n_sims),
                "speed": np.where(np.arange(n_sims) % 2 == 0, 3.0, 6.0), "eta": eta},
        monitors=("raw", "tavg", "bold"), raw_period=10, tavg_period=10, bold_period_s=0.02,
        bold_dt_s=1e-4, seed=11, stochastic=noisy,
        noise={"r": 0.01, "V": 0.02} if noisy else {"r": 0.0, "V": 0.0}, **options)


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(ref)), "NaN never passes"
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))
