"""Feedback inhibition control: per-region inhibitory weights J_i that hold each excitatory
population of ReducedWongWangExcInh at a target rate (Deco et al. 2014; ~3 Hz).

Deco et al. (2014) tuned J_i by iterating simulations; Demirtaş et al. (2019) computed it
from the model's steady state instead. This module does the latter without linearising: at
the network's fixed point every excitatory rate is the target ``r``, so

1. ``S_e* = r γ_e τ_e / (1 + r γ_e τ_e)`` (``dS_e/dt = 0`` with ``H_e = r``), the same in
   every region, which fixes every node's network input ``c_0 = post(Σ_j w_ij S_e*)``;
2. ``S_i*`` solves ``dS_i/dt = 0`` with that input (one equation per region, monotone in
   ``S_i``);
3. ``J_i`` solves ``dS_e/dt = 0`` at ``(S_e*, S_i*)`` (monotone in ``J_i``: more inhibition,
   a lower rate).

The equations are the model file's own (evaluated from its IR with
:func:`brainsweep.dsl.evaluate.evaluate`), so a study's changed defaults or regional
parameters (``w_p`` along a map, say) are in them; both roots are found by bisection to
float64 resolution. The fixed point holds the rates at the target exactly when it is stable
and the simulation is deterministic; with noise the rates fluctuate around it (the tests
state the tolerance they measure).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from brainsweep.dsl import Coupling, Model
from brainsweep.dsl.evaluate import evaluate
from brainsweep.errors import InputError

__all__ = ["TARGET_RATE_HZ", "excitatory_rates", "fic_inhibition"]

TARGET_RATE_HZ = 3.0  # Deco et al. 2014: the excitatory rate of the asynchronous state
_NEEDS = {"states": ("S_e", "S_i"), "parameters": ("J_i", "gamma_e", "tau_e"),
          "auxiliaries": ("H_e",)}
_BISECTIONS = 200  # halvings: far beyond float64's 53 bits, stops on no change


def _check_model(model: Model) -> None:
    have = {"states": set(model.state_names), "parameters": set(model.parameter_names),
            "auxiliaries": {name for name, _ in model.auxiliaries}}
    for kind, names in _NEEDS.items():
        missing = [name for name in names if name not in have[kind]]
        if missing:
            raise InputError(f"feedback inhibition control needs the {kind} {missing} of "
                             f"ReducedWongWangExcInh; {model.name} has none of them",
                             field="model.regional.J_i")


def _environment(model: Model, params: Mapping[str, object], states: Mapping[str, object],
                 inputs: Mapping[str, object]) -> dict:
    env = {**params, **inputs, **states}
    for name, expr in model.auxiliaries:
        env[name] = evaluate(expr, env)
    return env


def _derivative(model: Model, name: str, env: Mapping[str, object]) -> np.ndarray:
    state = next(s for s in model.states if s.name == name)
    return np.asarray(evaluate(state.derivative, env), dtype=np.float64)


def _bisect(function, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Roots of a function decreasing in its argument, per region, in [low, high]."""
    low, high = np.array(low, dtype=np.float64), np.array(high, dtype=np.float64)
    f_low, f_high = function(low), function(high)
    if np.any(f_low < 0) or np.any(f_high > 0):
        return np.full(low.shape, np.nan)  # no root in the bracket (reported by the caller)
    for _ in range(_BISECTIONS):
        middle = 0.5 * (low + high)
        if np.all((middle == low) | (middle == high)):
            break
        positive = function(middle) > 0
        low = np.where(positive, middle, low)
        high = np.where(positive, high, middle)
    return 0.5 * (low + high)


def fic_inhibition(model: Model, coupling: Coupling, weights: np.ndarray,
                   params: Mapping[str, object], *, target_rate: float = TARGET_RATE_HZ,
                   ) -> np.ndarray:
    """(N,) inhibitory weights J_i holding every excitatory rate at ``target_rate`` (Hz).

    ``params``: every model parameter (scalars or (N,) arrays) and ``coupling.<name>``;
    ``J_i`` itself is ignored. ``weights[i, j]`` from j to i, as the kernels read them.
    """
    _check_model(model)
    n_nodes = weights.shape[0]
    model_params = {name: params[name] for name in model.parameter_names if name != "J_i"}
    coupling_params = {name: params[f"coupling.{name}"] for name in coupling.parameter_names}
    rate_time = target_rate * np.asarray(model_params["gamma_e"]) * np.asarray(
        model_params["tau_e"])
    s_e = np.broadcast_to(rate_time / (1.0 + rate_time), (n_nodes,)).astype(np.float64)
    inputs = {}
    for term in model.coupling_terms:
        x = {"S_e": s_e, "S_i": None}[term.variable]
        if x is None:
            raise InputError("FIC needs a network input read from S_e only",
                             field="model.regional.J_i")
        pre = evaluate(coupling.pre, {**coupling_params, "x_i": x[:, None], "x_j": x[None, :]})
        inputs[term.name] = evaluate(coupling.post, {
            **coupling_params, "gx": np.sum(weights * pre, axis=1), "N": float(n_nodes)})
    lower = model.parameter("J_i").range or (1e-6, 10.0)

    def inhibitory_slope(s_i: np.ndarray) -> np.ndarray:
        env = _environment(model, {**model_params, "J_i": 1.0}, {"S_e": s_e, "S_i": s_i}, inputs)
        return _derivative(model, "S_i", env)

    s_i = _bisect(inhibitory_slope, np.zeros(n_nodes), np.ones(n_nodes))

    def excitatory_slope(j_i: np.ndarray) -> np.ndarray:
        env = _environment(model, {**model_params, "J_i": j_i}, {"S_e": s_e, "S_i": s_i},
                           inputs)
        return _derivative(model, "S_e", env)

    j_i = _bisect(excitatory_slope, np.full(n_nodes, 0.0), np.full(n_nodes, 10.0 * lower[1]))
    if not np.all(np.isfinite(j_i)):
        bad = int(np.flatnonzero(~np.isfinite(j_i))[0])
        raise InputError(f"no inhibitory weight holds region {bad} at {target_rate:g} Hz "
                         f"(its excitation alone is too weak or too strong at these "
                         f"parameters)", field="model.regional.J_i")
    return j_i


def excitatory_rates(model: Model, states: np.ndarray, params: Mapping[str, object],
                     coupling_input: np.ndarray) -> np.ndarray:
    """The excitatory rates H_e (Hz) at ``states`` ((V, N)), for checking FIC."""
    env = _environment(model, {name: params[name] for name in model.parameter_names},
                       dict(zip(model.state_names, states, strict=True)),
                       {model.coupling_terms[0].name: coupling_input})
    return np.asarray(env["H_e"], dtype=np.float64)
