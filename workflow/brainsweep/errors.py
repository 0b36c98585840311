"""Errors raised on bad input.

Every error about user input names where the bad value came from (a file, a config key, a
model file and line) so that the message alone tells the user what to fix.
"""

from __future__ import annotations

__all__ = ["BrainsweepError", "InputError", "OutputError", "PlanError"]


class BrainsweepError(Exception):
    """Base class of the errors brainsweep raises on purpose."""


class InputError(BrainsweepError, ValueError):
    """A file, a config key or a model description holds a value we cannot use.

    Parameters
    ----------
    message
        What is wrong and what was expected.
    source
        The file (or config file) the value came from, if any.
    field
        The key, member or column inside ``source``, if any.
    """

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None):
        self.source = None if source is None else str(source)
        self.field = field
        where = []
        if self.source:
            where.append(self.source)
        if field:
            where.append(f"[{field}]")
        prefix = "".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


def refuse_unknown_keys(mapping, known, *, field: str, source: str | None = None,
                        what: str = "key") -> None:
    """Raise :class:`InputError` naming ``<field>.<first unknown key>`` if ``mapping`` holds
    a key outside ``known``; the message lists the known ones (the one check every settings
    section makes, written once)."""
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        raise InputError(f"unknown {what}(s) {unknown}; known: {sorted(known)}",
                         source=source, field=f"{field}.{unknown[0]}")


class PlanError(BrainsweepError, ValueError):
    """A sweep plan cannot run as asked (too large for the device, empty grid, ...)."""


class OutputError(BrainsweepError, OSError):
    """An output cannot be written (disk full, read-only folder, ...): names the file.

    Nothing of the output set is left behind (:func:`brainsweep.io.output_set`).
    """

    def __init__(self, message: str, *, source: str | None = None):
        self.source = None if source is None else str(source)
        super().__init__(f"{self.source}: {message}" if self.source else message)

    def __str__(self) -> str:  # OSError would print its args as a tuple
        return self.args[0]
