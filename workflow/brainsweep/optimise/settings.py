"""The ``optimise:`` section: which parameters are free, within which bounds, which search,
how many simulations, and which score it maximises.

:func:`validate_settings` checks the section alone (keys, types, budget against population);
:func:`check_bounds` checks the free parameters against the model's and coupling's declared
ranges, which needs the model. Every error names its key (``optimise.<key>``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from brainsweep.errors import InputError
from brainsweep.fit.metrics import METRICS
from brainsweep.study.schema import property_defaults

__all__ = ["METHODS", "OPTIMISE_DEFAULTS", "STRUCTURAL", "check_bounds", "objective_sign",
           "validate_settings"]

# every key of optimise:, with the schema's defaults (config/schema.yaml)
OPTIMISE_DEFAULTS: dict[str, Any] = property_defaults("optimise")
# cmaes: pycma's CMA-ES; tpe: Optuna's tree-structured Parzen estimator (a Bayesian,
# sequential model-based optimiser); random: Optuna's random sampler (the baseline)
METHODS = ("cmaes", "tpe", "random")
# group: every subject is simulated on the study's (group) connectome; subject: on its own
STRUCTURAL = ("group", "subject")
# metrics the objective may weigh (``combined`` is itself a weighting of two of them)
OBJECTIVE_METRICS = tuple(name for name in METRICS if name != "combined")


def _positive_int(value: Any, key: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"expected an integer >= {minimum}, got {value!r}",
                         field=f"optimise.{key}")
    return int(value)


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"expected a finite number, got {value!r}", field=f"optimise.{key}")
    return float(value)


def _parameter(name: str, spec: Any) -> dict[str, Any]:
    """One free parameter: ``[low, high]`` or ``{low, high, log}``."""
    key = f"parameters.{name}"
    if isinstance(spec, list | tuple):
        if len(spec) != 2:
            raise InputError(f"expected [low, high], got {list(spec)!r}", field=f"optimise.{key}")
        spec = {"low": spec[0], "high": spec[1]}
    if not isinstance(spec, Mapping):
        raise InputError(f"expected [low, high] or {{low, high, log}}, got {spec!r}",
                         field=f"optimise.{key}")
    unknown = sorted(set(spec) - {"low", "high", "log"})
    if unknown:
        raise InputError(f"unknown key(s) {unknown}; known: ['high', 'log', 'low']",
                         field=f"optimise.{key}.{unknown[0]}")
    if "low" not in spec or "high" not in spec:
        raise InputError("expected both low and high", field=f"optimise.{key}")
    low, high = _number(spec["low"], f"{key}.low"), _number(spec["high"], f"{key}.high")
    if not low < high:
        raise InputError(f"inverted or empty bounds: low {low} must be below high {high}",
                         field=f"optimise.{key}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise InputError(f"expected true or false, got {log!r}", field=f"optimise.{key}.log")
    if log and low <= 0:
        raise InputError(f"a log-scaled parameter needs low > 0, got {low}",
                         field=f"optimise.{key}.low")
    return {"low": low, "high": high, "log": log}


def _validation(section: Any, budget: int) -> dict[str, int] | None:
    """``validate: {top, seeds}`` (or null): the re-simulation of each search's best."""
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise InputError(f"expected null or {{top, seeds}}, got {section!r}",
                         field="optimise.validate")
    unknown = sorted(set(section) - {"top", "seeds"})
    missing = sorted({"top", "seeds"} - set(section))
    if unknown or missing:
        key = (unknown or missing)[0]
        raise InputError(f"{'unknown' if unknown else 'missing'} key {key!r}; expected "
                         "{top, seeds}", field=f"optimise.validate.{key}")
    top = _positive_int(section["top"], "validate.top")
    if top > budget:
        raise InputError(f"cannot re-simulate the top {top} of a budget of {budget} "
                         "candidates", field="optimise.validate.top")
    return {"top": top, "seeds": _positive_int(section["seeds"], "validate.seeds")}


def validate_settings(section: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check ``optimise:`` and fill in the schema's defaults.

    Raises
    ------
    InputError
        An unknown key or a bad value, naming ``optimise.<key>``: no free parameters, bounds
        not ``low < high``, a budget below one, a population larger than the budget, an
        objective naming an unknown metric, a validation of more candidates than the budget.
    """
    if not isinstance(section, Mapping):
        raise InputError(f"expected a mapping, got {section!r}", field="optimise")
    unknown = sorted(set(section) - set(OPTIMISE_DEFAULTS))
    if unknown:
        raise InputError(f"unknown key(s) {unknown}; known: {sorted(OPTIMISE_DEFAULTS)}",
                         field=f"optimise.{unknown[0]}")
    out = {**OPTIMISE_DEFAULTS, **section}
    if out["method"] not in METHODS:
        raise InputError(f"unknown method {out['method']!r}; known: {list(METHODS)}",
                         field="optimise.method")
    parameters = out["parameters"]
    if not isinstance(parameters, Mapping) or not parameters:
        raise InputError("expected {name: [low, high], ...} with at least one free parameter",
                         field="optimise.parameters")
    out["parameters"] = {str(name): _parameter(str(name), spec)
                         for name, spec in parameters.items()}
    budget = out["budget"]
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise InputError(f"expected a budget of at least one candidate per subject and "
                         f"restart, got {budget!r}", field="optimise.budget")
    population = _positive_int(out["population"], "population")
    if population > budget:
        raise InputError(f"a population of {population} is larger than the budget of "
                         f"{budget} candidates: not one generation fits",
                         field="optimise.population")
    if out["method"] == "cmaes" and population < 2:
        raise InputError("CMA-ES needs a population of at least 2", field="optimise.population")
    out["restarts"] = _positive_int(out["restarts"], "restarts")
    out["seeds"] = _positive_int(out["seeds"], "seeds")
    out["validate"] = _validation(out["validate"], budget)
    if not isinstance(out["common_noise"], bool):
        raise InputError(f"expected true or false, got {out['common_noise']!r}",
                         field="optimise.common_noise")
    out["jobs"] = _positive_int(out["jobs"], "jobs")
    out["seed"] = _positive_int(out["seed"], "seed", minimum=0)
    sigma = _number(out["sigma0"], "sigma0")
    if not 0 < sigma <= 1:
        raise InputError(f"expected a step in (0, 1] of the normalised box, got {sigma}",
                         field="optimise.sigma0")
    out["sigma0"] = sigma
    if out["structural"] not in STRUCTURAL:
        raise InputError(f"unknown value {out['structural']!r}; known: {list(STRUCTURAL)}",
                         field="optimise.structural")
    subjects = out["subjects"]
    if subjects not in ("all", "group"):
        if not isinstance(subjects, list | tuple) or not subjects or any(
                isinstance(item, bool) or not isinstance(item, str | int) for item in subjects):
            raise InputError(f"expected 'all', 'group' or a list of subject ids, got "
                             f"{subjects!r}", field="optimise.subjects")
        out["subjects"] = [str(item) for item in subjects]
    if subjects == "group" and out["structural"] == "subject":
        raise InputError("the group FC has no structural connectome of its own: use "
                         "structural: group", field="optimise.structural")
    objective = out["objective"]
    if isinstance(objective, str):
        objective = {objective: 1.0}
    if not isinstance(objective, Mapping) or not objective:
        raise InputError(f"expected a metric name or {{metric: weight}}, got {objective!r}",
                         field="optimise.objective")
    weights = {}
    for name, weight in objective.items():
        if name not in OBJECTIVE_METRICS:
            raise InputError(f"unknown metric {name!r}; known: {list(OBJECTIVE_METRICS)}",
                             field=f"optimise.objective.{name}")
        weights[str(name)] = _number(weight, f"objective.{name}")
        if weights[str(name)] <= 0:
            raise InputError(f"expected a positive weight, got {weight!r}",
                             field=f"optimise.objective.{name}")
    out["objective"] = weights
    out["generations"] = budget // population
    return out


def objective_sign(metric: str) -> float:
    """+1 for a metric where higher is better, -1 where lower is: the objective maximises
    ``sum(weight * sign * metric)``."""
    return 1.0 if METRICS[metric] else -1.0


def check_bounds(parameters: Mapping[str, Mapping[str, float]], model, coupling) -> None:
    """Each free parameter must be one the kernel takes, within its declared range.

    Names: model parameters, ``coupling.<name>``, ``global_coupling`` (the coupling's global
    parameter) and ``speed`` (m/s, > 0). A model or coupling parameter with a declared
    ``range`` must have its bounds inside it.

    Raises
    ------
    InputError
        Naming ``optimise.parameters.<name>``.
    """
    declared = {p.name: p.range for p in model.parameters}
    for p in coupling.parameters:
        declared[f"coupling.{p.name}"] = getattr(p, "range", None)
    declared["global_coupling"] = declared[f"coupling.{coupling.global_parameter}"]
    for name, bounds in parameters.items():
        key = f"optimise.parameters.{name}"
        if name == "speed":
            if bounds["low"] <= 0:
                raise InputError(f"conduction speeds must be positive (m/s), got low "
                                 f"{bounds['low']}", field=key)
            continue
        if name not in declared:
            known = sorted({*declared, "speed"})
            raise InputError(f"unknown free parameter {name!r} of model {model.name}; known: "
                             f"{known}", field=key)
        allowed = declared[name]
        if allowed is not None and not (allowed[0] <= bounds["low"]
                                        and bounds["high"] <= allowed[1]):
            raise InputError(f"bounds [{bounds['low']}, {bounds['high']}] lie outside the "
                             f"model's range [{allowed[0]}, {allowed[1]}]", field=key)
