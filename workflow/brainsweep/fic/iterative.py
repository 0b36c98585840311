"""Feedback inhibition control adjusted by simulation during a warm-up (Deco et al. 2014).

The steady-state J_i (:func:`brainsweep.fic.fic_inhibition`) holds a deterministic network
at the target rate. With noise, the mean rate moves off the fixed point as far as the
transfer function's curvature makes it; Deco et al. (2014) tuned J_i instead by simulating
and correcting, ``J_i <- J_i + eta (r_i - r_target)``, until every rate is at the target.
:func:`tune_inhibition` does that for a whole shard at once: each round simulates
``warmup_s`` seconds of every simulation with its current J_i, measures each region's mean
excitatory rate over the round's second half, and corrects.

The rate is the model's ``H_e`` evaluated on the sampled states, with the network input
taken from the same sample's S_e (without the conduction delays: over a window of seconds
the mean of a delayed signal is the mean of the signal, which is what is corrected).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from brainsweep.dsl.evaluate import evaluate
from brainsweep.errors import InputError
from brainsweep.simulate.run import run as simulate

__all__ = ["TunedInhibition", "tune_inhibition"]

_SAMPLE_MS = 1.0  # the rate is read from states sampled every millisecond
_CHUNK = 128  # samples evaluated together


@dataclass(frozen=True)
class TunedInhibition:
    j_i: np.ndarray  # (S, N) the tuned inhibitory weights
    rates: np.ndarray  # (S, N) mean excitatory rates (Hz) of the last round
    rounds: int  # rounds run
    worst: tuple[float, ...]  # max |rate - target| of each round (Hz)


def _mean_rates(model, coupling, weights: np.ndarray, raw: np.ndarray,
                params: Mapping[str, np.ndarray], coupling_params: Mapping[str, float]
                ) -> np.ndarray:
    """(N,) mean H_e over the samples ``raw`` (T, V, N) of one simulation, the round's
    second half (the first lets the new J_i act)."""
    term = model.coupling_terms[0]
    index = model.state_names.index(term.variable)
    kept = raw[raw.shape[0] // 2:]
    total = np.zeros(raw.shape[2])
    for begin in range(0, kept.shape[0], _CHUNK):  # (chunk, N, N) at a time
        block = kept[begin:begin + _CHUNK]
        x = block[:, index]
        pre = evaluate(coupling.pre, {**coupling_params, "x_i": x[:, :, None],
                                      "x_j": x[:, None, :]})
        network = evaluate(coupling.post, {**coupling_params, "N": float(x.shape[1]),
                                           "gx": np.sum(weights[None] * pre, axis=2)})
        env = {**params, term.name: network,
               **{name: block[:, v] for v, name in enumerate(model.state_names)}}
        for name, expr in model.auxiliaries:
            env[name] = evaluate(expr, env)
        total += np.sum(np.broadcast_to(env["H_e"], x.shape), axis=0)
    return total / kept.shape[0]


def tune_inhibition(conn, spec, params: Mapping[str, object], j_start: np.ndarray, *,
                    target_rate: float, warmup_s: float, dt: float, seed: int,
                    noise: Mapping[str, float] | None = None, rounds: int = 10,
                    eta: float = 0.1, tolerance_hz: float = 0.05, target: str = "numba",
                    device=None) -> TunedInhibition:
    """Adjust (S, N) J_i by rounds of ``warmup_s`` simulated seconds until every region's
    mean excitatory rate is within ``tolerance_hz`` of ``target_rate`` (or ``rounds`` ran).

    ``params``: the shard's ``simulate.run`` parameters (J_i aside); ``spec``: its kernel
    spec (model, coupling, integrator, type); ``eta`` in nA per Hz (a rate 1 Hz too high
    adds ``eta`` to J_i; about half the inverse sensitivity of the rate to J_i at 3 Hz,
    so the correction converges without overshooting).
    """
    if rounds < 1 or warmup_s <= 0 or eta <= 0:
        raise InputError("rounds, warmup_s and eta must be positive",
                         field="model.regional.J_i")
    model, coupling = spec.model, spec.coupling
    weights = np.asarray(conn.weights if hasattr(conn, "weights") else conn["weights"],
                         dtype=np.float64)
    j_i = np.array(j_start, dtype=np.float64)
    n_sims = j_i.shape[0]
    n_steps = int(round(warmup_s / (dt * model.time_unit_s)))
    period = max(1, int(round(_SAMPLE_MS * 1e-3 / (dt * model.time_unit_s))))
    worst: list[float] = []
    rates = np.full_like(j_i, np.nan)
    for round_index in range(rounds):
        # fresh noise every round: a correction fitted to one realisation's fluctuations
        # would not hold for the next
        out = simulate(conn, model, target=target, dt=dt, n_steps=n_steps,
                       params={**params, "J_i": j_i}, integrator=spec.integrator,
                       coupling=coupling, stochastic=spec.stochastic, noise=noise,
                       seed=seed + round_index,
                       monitors=("raw",), raw_period=period, dtype=spec.dtype, device=device)
        if out.diverged.any():
            raise InputError(f"simulation(s) {np.flatnonzero(out.diverged).tolist()} diverged "
                             f"while tuning the inhibition", field="model.regional.J_i")
        table = dict(zip(out.parameter_names, out.parameters.T, strict=True))
        regional = dict(zip(out.regional_names, np.moveaxis(out.regional, 1, 0),
                            strict=True))
        for s in range(n_sims):
            row = {name: table[name][s] for name in model.parameter_names}
            row.update({name: values[s] for name, values in regional.items()})
            coupling_params = {name: table[f"coupling.{name}"][s]
                               for name in coupling.parameter_names}
            rates[s] = _mean_rates(model, coupling, weights, out.raw[s].astype(np.float64),
                                   row, coupling_params)
        error = rates - target_rate
        worst.append(float(np.max(np.abs(error))))
        if worst[-1] <= tolerance_hz:
            break
        # too fast: more inhibition; the step shrinks as 1 / round (Robbins-Monro), so the
        # corrections average the rounds' noise instead of passing the last one on
        j_i = np.maximum(j_i + eta / (round_index + 1) * error, 0.0)
    return TunedInhibition(j_i=j_i, rates=rates, rounds=len(worst), worst=tuple(worst))
