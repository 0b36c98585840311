"""The one jinja2 environment every target renders its templates with."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import jinja2

from brainsweep.dsl.model import kernels_dir

__all__ = ["environment", "template_digest", "templates_dir"]


def templates_dir() -> Path:
    return kernels_dir() / "templates"


@functools.cache
def environment() -> jinja2.Environment:
    """StrictUndefined (a missing variable is an error), trim_blocks, lstrip_blocks."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["prefixed"] = prefixed
    env.filters["rk_args"] = rk_args
    return env


def prefixed(states, prefix: str) -> str:
    """``i_r, i_V``: the state names with a prefix, comma-separated (an argument list)."""
    return ", ".join(f"{prefix}{s['name']}" for s in states)


def rk_args(states, slope: str, step: str) -> str:
    """``s_r + h * d1[0], ...``: the arguments of a Runge-Kutta stage."""
    return ", ".join(f"{s['var']} + {step} * {slope}[{s['index']}]" for s in states)


def template_digest(folder: str) -> str:
    """sha256 over every template of one target folder (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted((templates_dir() / folder).rglob("*.j2")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
