"""The float64 oracle: the network simulation written for reading, not for speed.

Every target is tested against this. It shares only the parsed model (the IR) with the
generated kernels: expressions are evaluated by :func:`brainsweep.dsl.evaluate.evaluate`, not
by a renderer, and nothing here comes from a template. One step ``n`` (time ``n dt`` to
``(n + 1) dt``):

1. the coupled variables' current values are stored in the history;
2. coupling input of node i: ``c_i = post(sum_j w_ij pre(x_i(n), x_j(n - d_ij)))`` (x_i, x_j:
   every variable the coupling term lists) with
   ``d_ij = rint(length_ij / speed / dt)`` steps; values before t = 0 are the initial state;
3. the integrator advances every node with the coupling held fixed over the step; stochastic
   forms add ``sqrt(2 D dt) z`` with ``z`` from Philox (:mod:`brainsweep.rng`) keyed by
   (seed, simulation index), counter (step, node, variable); bounds are clamped after each
   stage that TVB clamps;
4. monitors read the new state: raw every ``raw_period`` steps, the temporal average over
   each ``tavg_period``, and the Balloon-Windkessel model, driven by the model's ``bold``
   observable averaged over ``bold_substeps`` steps, sampled every ``bold_period`` steps.
   The observable is evaluated on the new state; where it reads auxiliaries or coupling
   terms, these take the new state and the coupling input held over step ``n``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from brainsweep import rng
from brainsweep.codegen.spec import KernelSpec
from brainsweep.dsl import ir
from brainsweep.dsl.evaluate import evaluate
from brainsweep.monitors.balloon import BalloonParameters, bold_signal, euler_step
from brainsweep.network.delays import delay_steps

__all__ = ["ReferenceResult", "delay_steps", "simulate_one"]


@dataclass(frozen=True)
class ReferenceResult:
    raw: np.ndarray  # (T_raw, V, N)
    tavg: np.ndarray  # (T_tavg, V, N)
    bold: np.ndarray  # (T_bold, N)
    diverged: bool


def simulate_one(
    spec: KernelSpec,
    *,
    weights: np.ndarray,
    lengths: np.ndarray,
    params: Mapping[str, float],
    dt: float,
    n_steps: int,
    initial: np.ndarray,
    noise: np.ndarray,
    seed: int = 0,
    sim_index: int = 0,
    raw_period: int = 1,
    tavg_period: int = 0,
    bold_period: int = 0,
    bold_substeps: int = 1,
    balloon: BalloonParameters | None = None,
    dt_bold_s: float | None = None,
) -> ReferenceResult:
    """Simulate one network in float64.

    Parameters
    ----------
    params
        A value for every column of ``spec.parameter_names`` (model parameters,
        ``coupling.<name>`` and ``speed``). A model parameter may be an ``(N,)`` array, one
        value per region; every expression is evaluated over all nodes at once, so it
        broadcasts like the state.
    initial
        ``(V, N)`` initial state, also the history before t = 0.
    noise
        ``(V,)`` additive noise intensity D per state variable (ignored when the spec is
        deterministic).
    """
    model, coupling = spec.model, spec.coupling
    n_nodes = weights.shape[0]
    state_names = model.state_names
    delays = delay_steps(lengths, params["speed"], dt)
    horizon = int(delays.max()) + 1
    cvars = model.coupled_states
    x = np.array(initial, dtype=np.float64)
    history = {name: np.repeat(x[state_names.index(name)][None, :], horizon, axis=0)
               for name in cvars}
    model_params = {name: _per_node(params[name], n_nodes, name)
                    for name in model.parameter_names}
    coupling_params = {name: params[f"coupling.{name}"] for name in coupling.parameter_names}
    columns = np.arange(n_nodes)

    def environment(state: np.ndarray, inputs: dict[str, np.ndarray]) -> dict:
        """Parameters, coupling inputs, the state and every auxiliary, by name."""
        env = {**model_params, **inputs}
        env.update(zip(state_names, state, strict=True))
        for name, expr in model.auxiliaries:
            env[name] = evaluate(expr, env)
        return env

    def dfun(state: np.ndarray, inputs: dict[str, np.ndarray]) -> np.ndarray:
        env = environment(state, inputs)
        return np.array([np.broadcast_to(evaluate(s.derivative, env), (n_nodes,))
                         for s in model.states])

    def clamp(state: np.ndarray) -> np.ndarray:
        for v, s in enumerate(model.states):
            if s.lower is not None:
                state[v] = np.maximum(state[v], s.lower)
            if s.upper is not None:
                state[v] = np.minimum(state[v], s.upper)
        return state

    def frames(period: int) -> int:
        return n_steps // period if period > 0 else 0

    raw = np.full((frames(raw_period), len(state_names), n_nodes), np.nan)
    tavg = np.full((frames(tavg_period), len(state_names), n_nodes), np.nan)
    bold = np.full((frames(bold_period), n_nodes), np.nan)
    tavg_sum = np.zeros_like(x)
    drive_sum = np.zeros(n_nodes)
    hemo = np.array([np.zeros(n_nodes), np.ones(n_nodes), np.ones(n_nodes), np.ones(n_nodes)])
    drive_expr = model.observables.get("bold", ir.Sym(state_names[0]))
    noise_scale = np.sqrt(2.0 * np.asarray(noise, dtype=np.float64) * dt)
    nodes = np.arange(n_nodes)

    for n in range(n_steps):
        slot = n % horizon
        for name in cvars:
            history[name][slot] = x[state_names.index(name)]

        # coupling, held fixed over the step
        inputs = {}
        for term in model.coupling_terms:
            # variable m of the term: x_i<m> the target's current value, x_j<m> the source's
            # delayed one (x_i, x_j: the first)
            values = {}
            for m, variable in enumerate(term.variables):
                values[f"x_i{m}"] = x[state_names.index(variable)][:, None]
                values[f"x_j{m}"] = history[variable][(n - delays) % horizon, columns[None, :]]
            values["x_i"], values["x_j"] = values["x_i0"], values["x_j0"]
            pre = evaluate(coupling.pre, {**coupling_params, **values})
            gx = np.sum(weights * pre, axis=1)
            inputs[term.name] = evaluate(coupling.post, {**coupling_params, "gx": gx,
                                                         "N": float(n_nodes)})

        if spec.stochastic:
            z = np.array([rng.normal(seed, sim_index, n, nodes, v) for v in
                          range(len(state_names))]) * noise_scale[:, None]
        else:
            z = 0.0

        if spec.integrator == "euler":
            x_next = clamp(x + dt * dfun(x, inputs) + z)
        elif spec.integrator == "heun":
            d1 = dfun(x, inputs)
            intermediate = clamp(x + dt * d1 + z)
            d2 = dfun(intermediate, inputs)
            x_next = clamp(x + 0.5 * dt * (d1 + d2) + z)
        elif spec.integrator == "rk4":
            d1 = dfun(x, inputs)
            d2 = dfun(x + 0.5 * dt * d1, inputs)
            d3 = dfun(x + 0.5 * dt * d2, inputs)
            d4 = dfun(x + dt * d3, inputs)
            x_next = clamp(x + dt / 6.0 * (d1 + 2.0 * d2 + 2.0 * d3 + d4))
        else:
            raise ValueError(f"unknown integrator {spec.integrator!r}")
        x = x_next
        if not np.all(np.isfinite(x)):
            return ReferenceResult(raw=raw * np.nan, tavg=tavg * np.nan, bold=bold * np.nan,
                                   diverged=True)

        done = n + 1
        if raw_period > 0 and done % raw_period == 0:
            raw[done // raw_period - 1] = x
        if tavg_period > 0:
            tavg_sum += x
            if done % tavg_period == 0:
                tavg[done // tavg_period - 1] = tavg_sum / tavg_period
                tavg_sum[:] = 0.0
        if bold_period > 0:
            drive = evaluate(drive_expr, environment(x, inputs))
            drive_sum += np.broadcast_to(drive, (n_nodes,))
            if done % bold_substeps == 0:
                hemo = euler_step(hemo, drive_sum / bold_substeps, dt_bold_s, balloon)
                drive_sum[:] = 0.0
            if done % bold_period == 0:
                bold[done // bold_period - 1] = bold_signal(hemo, balloon)
    return ReferenceResult(raw=raw, tavg=tavg, bold=bold, diverged=False)


def _per_node(value, n_nodes: int, name: str):
    """A scalar parameter as it is, a regional one as an (N,) float64 array."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return float(array)
    if array.shape != (n_nodes,):
        raise ValueError(f"parameter {name!r} must be a scalar or ({n_nodes},), "
                         f"got {array.shape}")
    return array
