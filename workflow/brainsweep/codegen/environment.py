"""The one jinja2 environment every target renders its templates with."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import jinja2
import jinja2.meta

from brainsweep.dsl.model import kernels_dir

__all__ = ["environment", "template_digest", "template_files", "templates_dir"]


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


def template_files(target_name: str) -> list[Path]:
    """Every template file a target's kernel is rendered from: its main template and each one
    it pulls in with ``{% include %}``, ``{% import %}``, ``{% from %}`` or ``{% extends %}``,
    followed recursively (:func:`jinja2.meta.find_referenced_templates`). Sorted, each once.

    A name computed at render time (``"gpu/prelude_" ~ language ~ ".j2"``) is followed as
    the pattern its constant parts spell (``gpu/prelude_*.j2``): every template that could be
    meant is listed, so none is ever missed. The workflow's kernel rule lists these files as
    its inputs, so that editing any of them regenerates the kernel.
    """
    from brainsweep.registry import get_target

    target = get_target(target_name)
    env = environment()
    seen: dict[str, Path] = {}
    pending = [f"{target.template_folder}/{target.main_template}"]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        source, filename, _ = env.loader.get_source(env, name)
        seen[name] = Path(filename).resolve()
        tree = env.parse(source)
        for referenced in jinja2.meta.find_referenced_templates(tree):
            if referenced is not None:
                pending.append(referenced)
        pending.extend(_computed_references(env, tree))
    return sorted(seen.values())


def _computed_references(env: jinja2.Environment, tree) -> list[str]:
    """The templates a computed ``include``/``import``/``extends`` name could mean."""
    import fnmatch

    from jinja2 import nodes

    found = []
    for node in tree.find_all((nodes.Extends, nodes.FromImport, nodes.Import, nodes.Include)):
        name = node.template
        if isinstance(name, nodes.Const):
            continue  # find_referenced_templates has it
        parts = name.nodes if isinstance(name, nodes.Concat) else [name]
        pattern = "".join(str(part.value) if isinstance(part, nodes.Const) else "*"
                          for part in parts)
        found.extend(fnmatch.filter(env.loader.list_templates(), pattern))
    return found
