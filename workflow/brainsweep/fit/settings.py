"""Validation of the fit settings (config key ``fit:``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from brainsweep.errors import InputError, refuse_unknown_keys
from brainsweep.fit.degenerate import REASONS
from brainsweep.fit.metrics import DEFAULT_WEIGHTS, METRICS
from brainsweep.study.schema import section_defaults

__all__ = ["FIT_DEFAULTS", "validate_settings"]

# the metric's default is the schema's (config/schema.yaml, fit:); the schema gives no weights,
# so those of the combined score's definition (brainsweep.fit.metrics) apply
FIT_DEFAULTS: dict[str, Any] = {**section_defaults("fit"), "weights": dict(DEFAULT_WEIGHTS),
                                # the workflow fills the units in (no default in the schema,
                                # so that a study's resolved config does not list them)
                                "units": {}}


def validate_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check ``fit:`` settings and fill in defaults.

    Keys: ``metric`` (one of :data:`~brainsweep.fit.metrics.METRICS`, the one that picks the
    best fit), ``weights`` (``{fc_corr, fcd_ks, mean_fc_diff}``, finite numbers >= 0, for
    ``combined``, see :data:`~brainsweep.fit.metrics.DEFAULT_WEIGHTS`) and ``degenerate``
    (the thresholds of :func:`brainsweep.fit.degenerate.degenerate_reasons`, each a finite
    number >= 0 or null; keys left out take the schema's defaults) and ``units``
    (``{parameter: unit}`` of the swept parameters, for the tables' sidecars).

    Raises
    ------
    InputError
        An unknown key or a bad value, naming ``fit.<key>``.
    """
    settings = {} if settings is None else settings
    if not isinstance(settings, Mapping):
        raise InputError(f"expected a mapping, got {type(settings).__name__}", field="fit")
    refuse_unknown_keys(settings, FIT_DEFAULTS, field="fit")
    metric = settings.get("metric", FIT_DEFAULTS["metric"])
    if metric not in METRICS:
        raise InputError(f"expected one of {list(METRICS)}, got {metric!r}", field="fit.metric")
    weights = settings.get("weights") or {}
    if not isinstance(weights, Mapping):
        raise InputError(f"expected {{fc_corr, fcd_ks, mean_fc_diff}}, got {weights!r}",
                         field="fit.weights")
    refuse_unknown_keys(weights, DEFAULT_WEIGHTS, field="fit.weights", what="weight")
    merged = {**DEFAULT_WEIGHTS, **weights}
    for key, value in merged.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise InputError(
                f"expected a finite number >= 0, got {value!r}", field=f"fit.weights.{key}"
            )
    return {"metric": metric, "weights": {key: float(value) for key, value in merged.items()},
            "degenerate": _thresholds(settings.get("degenerate")),
            "units": _units(settings.get("units"))}


def _units(section: Any) -> dict[str, str]:
    if section is None:
        return {}
    if not isinstance(section, Mapping) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in section.items()):
        raise InputError(f"expected {{parameter: unit}} of strings, got {section!r}",
                         field="fit.units")
    return dict(section)


def _thresholds(section: Any) -> dict[str, float | None]:
    defaults = FIT_DEFAULTS["degenerate"]
    if section is None:  # every check, those without a default (off) too
        return {key: defaults.get(key) for key in REASONS.values()}
    if not isinstance(section, Mapping):
        raise InputError(f"expected a mapping of {sorted(defaults)}, got {section!r}",
                         field="fit.degenerate")
    unknown = sorted(set(section) - set(REASONS.values()))
    if unknown:
        raise InputError(f"unknown key(s) {unknown}; known: {sorted(REASONS.values())}",
                         field=f"fit.degenerate.{unknown[0]}")
    out: dict[str, float | None] = {}
    for key in REASONS.values():
        value = section.get(key, defaults.get(key))
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not math.isfinite(value) or value < 0):
            raise InputError(f"expected a finite number >= 0 or null, got {value!r}",
                             field=f"fit.degenerate.{key}")
        out[key] = None if value is None else float(value)
    return out
