"""The study's configuration as the workflow ran it: a YAML file and a page showing it.

The YAML is the study file with the schema's defaults filled in (and any ``--config``
override applied): run again with ``--configfile`` it is the same study.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from brainsweep.io import atomic_path
from brainsweep.report.html import escape, write_page
from brainsweep.study.schema import schema

__all__ = ["write_config"]


def _plain(value: Any) -> Any:
    """Mappings and sequences as dicts and lists (frozen study settings included)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def write_config(config: Mapping[str, Any], yaml_path: str | os.PathLike,
                 html_path: str | os.PathLike | None = None) -> list[Path]:
    """Write the resolved ``config`` as YAML (sections in the schema's order) and, with
    ``html_path``, as a page of the report."""
    plain = _plain(config)
    # the schema's order (study, title, description, connectome, ...), the way study files
    # are written, instead of the alphabetical order a JSON round trip leaves
    known = list(schema()["properties"])
    plain = {key: plain[key] for key in sorted(
        plain, key=lambda key: known.index(key) if key in known else len(known))}
    text = ("# The study as the workflow ran it: the study file with config/schema.yaml's\n"
            "# defaults filled in. `snakemake --configfile <this file>` runs it again.\n"
            + yaml.safe_dump(plain, sort_keys=False, default_flow_style=None, width=96))
    target = Path(yaml_path)
    with atomic_path(target) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    written = [target]
    if html_path is not None:
        study = escape(plain.get("study", ""))
        body = (f"<p class=\"note\">Study <code>{study}</code> as the workflow ran it: the "
                "study file with the schema's defaults filled in (<code>config/schema.yaml"
                "</code> documents every key). Saved as <code>"
                f"{escape(target.name)}</code>; <code>snakemake --configfile</code> with it "
                "runs the same study.</p>\n"
                f"<pre>{escape(text)}</pre>")
        written.append(write_page(html_path, f"Configuration of study {plain.get('study')}",
                                  body))
    return written
