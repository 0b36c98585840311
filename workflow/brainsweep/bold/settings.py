"""Validation of the BOLD post-processing settings (config key ``bold:``).

The same settings drive the bold stage (simulated BOLD) and the empirical stage (measured
BOLD, under ``empirical.postprocess``), so that both are filtered the same way before their
functional connectivity is compared. One validator serves both; ``prefix`` names the config
key in errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from brainsweep.errors import InputError, refuse_unknown_keys
from brainsweep.study.schema import section_defaults

__all__ = ["POSTPROCESS_DEFAULTS", "FCD_KEYS", "validate_postprocess"]

#: Defaults applied to keys the config leaves out: the schema's (config/schema.yaml, bold:).
POSTPROCESS_DEFAULTS: dict[str, Any] = section_defaults("bold")

#: Keys of the ``fcd`` sub-mapping (sliding-window length and step, seconds).
FCD_KEYS = ("window_s", "step_s")


def _number(
    value: Any, *, field: str, source: str | None, minimum: float = 0.0, strict: bool = False
) -> float:
    # bool is an int in Python; `detrend: true` given for a number is a config mistake
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"expected a finite number, got {value!r}", source=source, field=field)
    if value < minimum or (strict and value == minimum):
        relation = ">" if strict else ">="
        raise InputError(
            f"expected a number {relation} {minimum}, got {value!r}", source=source, field=field
        )
    return float(value)


def _flag(value: Any, *, field: str, source: str | None) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"expected true or false, got {value!r}", source=source, field=field)
    return value


def validate_postprocess(
    settings: Mapping[str, Any] | None, *, prefix: str = "bold", source: str | None = None
) -> dict[str, Any]:
    """Check post-processing settings and fill in defaults.

    Parameters
    ----------
    settings
        The mapping under ``bold:`` (or ``empirical.postprocess``); None means all defaults.
    prefix
        The config key the mapping lives under, used to name fields in errors.
    source
        The config file, if known, named in errors.

    Returns
    -------
    dict
        ``transient_s`` (float), ``detrend``/``zscore``/``gsr`` (bool), ``bandpass``
        (``None`` or a tuple ``(low, high)`` in Hz, either end may be None), ``fcd``
        (``None`` or ``{"window_s": float, "step_s": float}``).

    Raises
    ------
    InputError
        An unknown key or a value of the wrong type or range, naming ``<prefix>.<key>``.
    """
    if settings is None:
        settings = {}
    if not isinstance(settings, Mapping):
        raise InputError(
            f"expected a mapping, got {type(settings).__name__}", source=source, field=prefix
        )
    refuse_unknown_keys(settings, POSTPROCESS_DEFAULTS, field=prefix, source=source)
    merged = {**POSTPROCESS_DEFAULTS, **settings}
    out: dict[str, Any] = {
        "transient_s": _number(merged["transient_s"], field=f"{prefix}.transient_s", source=source),
        "detrend": _flag(merged["detrend"], field=f"{prefix}.detrend", source=source),
        "zscore": _flag(merged["zscore"], field=f"{prefix}.zscore", source=source),
        "gsr": _flag(merged["gsr"], field=f"{prefix}.gsr", source=source),
    }

    band = merged["bandpass"]
    field = f"{prefix}.bandpass"
    if band is None:
        out["bandpass"] = None
    else:
        if isinstance(band, str | bytes) or not hasattr(band, "__len__") or len(band) != 2:
            raise InputError(
                f"expected [low, high] in Hz or null, got {band!r}", source=source, field=field
            )
        low, high = (
            None if edge is None else _number(edge, field=field, source=source, strict=True)
            for edge in band
        )
        if low is None and high is None:
            raise InputError(
                "at least one band edge must be given (or bandpass: null)",
                source=source,
                field=field,
            )
        if low is not None and high is not None and low >= high:
            raise InputError(
                f"low edge {low} Hz must be below high edge {high} Hz", source=source, field=field
            )
        out["bandpass"] = (low, high)

    fcd = merged["fcd"]
    field = f"{prefix}.fcd"
    if fcd is None:
        out["fcd"] = None
    else:
        if not isinstance(fcd, Mapping):
            raise InputError(
                f"expected {{window_s, step_s}} or null, got {fcd!r}", source=source, field=field
            )
        unknown = sorted(set(fcd) - set(FCD_KEYS))
        missing = sorted(set(FCD_KEYS) - set(fcd))
        if unknown or missing:
            bad = (unknown or missing)[0]
            raise InputError(
                f"expected exactly the keys {list(FCD_KEYS)}; unknown {unknown}, missing {missing}",
                source=source,
                field=f"{field}.{bad}",
            )
        out["fcd"] = {
            key: _number(fcd[key], field=f"{field}.{key}", source=source, strict=True)
            for key in FCD_KEYS
        }
    return out
