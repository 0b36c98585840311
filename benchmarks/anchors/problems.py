"""The two anchor problems, shared by the brainsweep, RateML and vbjax timings.

Every engine is given the same connectome (TVB's 68-region ``connectivity_68``, the
repository's copy), the same dt and the same parameter rows, so that a sim-step means the
same work everywhere: one step of one simulation over all 68 regions, every non-zero
connection read through its delay.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CONNECTOME = ROOT / "resources" / "tvb-connectivity" / "connectivity_68.zip"
PEERS = Path(__file__).resolve().parent / ".peers"

DT = 0.1  # ms, both problems

# Kuramoto: the `brainsweep bench` problem (brainsweep.bench): 16 speeds 1-10 m/s x couplings
KURAMOTO_SIZES = (32768, 131072)

# MontbrioPazoRoxin (TVB's defaults: tau 1, Delta 1, J 15, eta -5, cr 1, cv 0), stochastic
# Heun, additive noise D on r and V (TVB's convention: sqrt(2 D dt) N(0, 1) per step), linear
# coupling of r and V (both sums computed: cv is a parameter, not dropped), one speed.
MPR_SIZES = (1024, 8192, 32768)
MPR_SPEED = 3.0  # m/s = mm/ms
MPR_NOISE_D = 1e-3
MPR_INITIAL = (0.1, -2.0)  # r, V: constant history before t = 0
MPR_COUPLING_RANGE = (0.0, 0.5)  # global coupling a over the P simulations


def load_connectome():
    """Weights (target row, source column) and tract lengths (mm) of ``connectivity_68``."""
    from brainsweep import connectome

    conn = connectome.load(CONNECTOME)
    return np.asarray(conn.weights, dtype=np.float64), np.asarray(conn.lengths, np.float64)


def mpr_couplings(n_sims: int) -> np.ndarray:
    """The global coupling of each of the P MontbrioPazoRoxin simulations."""
    return np.linspace(*MPR_COUPLING_RANGE, n_sims)


def delay_steps(lengths: np.ndarray, speed: float, dt: float = DT) -> np.ndarray:
    """brainsweep's delay convention, rint(length / speed / dt), as integer steps."""
    return np.rint(lengths / speed / dt).astype(np.int64)
