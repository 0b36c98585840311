"""The study schema (``config/schema.yaml``): the one place defaults come from.

Snakemake validates a study against this schema and fills in its defaults; the study layer
(:func:`brainsweep.study.load_study`), the stages and the command line fill in the same
defaults from the same file (:func:`fill_defaults`, :func:`section_defaults`), so a key left
out means the same thing wherever the study is read. This module imports nothing of
brainsweep but the errors, so any stage may read defaults from it.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["fill_defaults", "property_defaults", "schema", "schema_path", "section_defaults",
           "validate_config"]


def schema_path() -> Path:
    """The package's ``schema.yaml`` (``BRAINSWEEP_SCHEMA`` names another file).

    In a checkout it is a link to ``config/schema.yaml``, the file the Snakefile validates
    against; an installed wheel holds a copy (package data), so the study layer works
    without a checkout."""
    override = os.environ.get("BRAINSWEEP_SCHEMA")
    if override:
        return Path(override)
    return Path(__file__).with_name("schema.yaml")


@functools.cache
def _schema(path: str) -> dict[str, Any]:
    with open(path) as handle:
        return yaml.safe_load(handle)


def schema() -> dict[str, Any]:
    """The parsed schema (read once per process)."""
    return _schema(str(schema_path()))


def _fill(value: Any, node: Mapping[str, Any]) -> Any:
    # as Snakemake's validate(..., set_default=True): a missing property with a default gets
    # it, then every present object property is filled in the same way, recursively
    if not isinstance(value, dict):
        return value
    for key, sub in (node.get("properties") or {}).items():
        if key not in value and "default" in sub:
            value[key] = copy.deepcopy(sub["default"])
        if key in value:
            value[key] = _fill(value[key], sub)
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping):  # Snakemake fills the entries of a name -> object map too
        known = node.get("properties") or {}
        for key in value:
            if key not in known:
                value[key] = _fill(value[key], extra)
    return value


def fill_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``config`` with the schema's defaults filled in (as Snakemake does)."""
    return _fill(copy.deepcopy(dict(config)), schema())


def section_defaults(section: str) -> dict[str, Any]:
    """The defaults of one top-level section, e.g. ``section_defaults("bold")``."""
    node = schema()["properties"][section]
    start = copy.deepcopy(node.get("default", {}))
    return _fill(start if isinstance(start, dict) else {}, node)


def property_defaults(section: str) -> dict[str, Any]:
    """Every key of one section: its schema default, or None where the schema gives none
    (the known keys of a stage's settings, with the values a left-out key takes)."""
    properties = schema()["properties"][section].get("properties") or {}
    filled = section_defaults(section)
    return {key: filled.get(key) for key in properties}


def validate_config(config: Mapping[str, Any], *, source: str | None = None) -> None:
    """Check ``config`` against the schema; the first problem as an InputError naming the key."""
    import jsonschema

    from brainsweep.errors import InputError

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        field = ".".join(str(part) for part in error.absolute_path) or None
        raise InputError(error.message, source=source, field=field)
