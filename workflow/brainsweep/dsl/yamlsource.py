"""Read YAML keeping the line of every value, so that errors can name it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from brainsweep.errors import InputError

__all__ = ["LinedYaml", "read_lined_yaml"]


@dataclass(frozen=True)
class LinedYaml:
    """Plain Python data read from YAML plus the 1-based line of each value by key path."""

    data: Any
    lines: dict[tuple, int]
    source: str

    def line(self, *path: Any) -> int | None:
        """The line of the value at ``path`` (or of its closest parent), 1-based."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def where(self, *path: Any) -> str:
        """``file:line`` of the value at ``path``."""
        line = self.line(*path)
        return f"{self.source}:{line}" if line else self.source


def read_lined_yaml(path: str | Path) -> LinedYaml:
    """Parse a YAML file into plain data, recording each value's line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", source=str(path)) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        raise InputError(f"not valid YAML: {err}", source=str(path)) from None
    lines: dict[tuple, int] = {}
    constructor = yaml.SafeLoader(text)

    def build(node: yaml.Node, at: tuple) -> Any:
        lines[at] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node, deep=True)
                out[key] = build(value_node, (*at, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*at, index)) for index, item in enumerate(node.value)]
        return constructor.construct_object(node, deep=True)

    data = None if root is None else build(root, ())
    return LinedYaml(data=data, lines=lines, source=str(path))
