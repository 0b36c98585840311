"""The settings type of a stage whose config section is checked by a function of its own.

``Settings.from_mapping(section)`` runs the stage's check (which fills in the schema's
defaults and raises InputError naming the key) once; the result is frozen. ``given`` keeps
the section as written (what the stage's provenance records), ``values`` the checked one.
Imports nothing of the engine, so every stage may build on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

__all__ = ["CheckedSettings"]


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


@dataclass(frozen=True)
class CheckedSettings:
    """Subclasses set ``check`` (section -> checked dict)."""

    given: Mapping[str, Any]
    values: Mapping[str, Any]
    check: ClassVar[Callable[[Mapping[str, Any]], Mapping[str, Any]]]

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any] | None):
        given = dict(section or {})
        return cls(given=_frozen(given), values=_frozen(dict(cls.check_section(given))))

    @classmethod
    def check_section(cls, section: Mapping[str, Any]) -> Mapping[str, Any]:
        return cls.check(section)

    def __getitem__(self, key: str) -> Any:
        return _plain(self.values[key])

    def as_dict(self) -> dict[str, Any]:
        """The section as given (plain data: what the stage's run_stage takes)."""
        return _plain(self.given)
