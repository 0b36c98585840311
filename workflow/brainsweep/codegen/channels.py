"""What the delay history holds: one row ("channel") per function of a node's own state.

Without a separable coupling (or with ``KernelSpec.factorise`` off) the channels are the
coupled state variables themselves, as they always were. With one
(:mod:`brainsweep.dsl.separable`), each coupling term's network sum is split into one sum per
part, ``S_p,i = sum_j w_ij source_p(x_j(t - d_ij))``, and the history holds ``source_p`` of
every node's state, evaluated when the state is stored: Kuramoto's history holds ``sin theta``
and ``cos theta``. A part whose source reads nothing is a constant times the row sum
``sum_j w_ij``, which needs no history.
"""

from __future__ import annotations

from dataclasses import dataclass

from brainsweep.dsl import ir

__all__ = ["Channel", "TermSums", "history_channels", "needs_row_sums", "sum_count", "term_sums"]


@dataclass(frozen=True)
class Channel:
    """One history row: ``expr`` of a node's own state variables (by name)."""

    expr: ir.Expr

    @property
    def plain(self) -> bool:
        """Whether the row is a state variable itself (the unfactorised history)."""
        return isinstance(self.expr, ir.Sym)

    def reads(self, state_names) -> tuple[str, ...]:
        """The state variables ``expr`` reads, in the model's order."""
        used = ir.symbols(self.expr)
        return tuple(name for name in state_names if name in used)


@dataclass(frozen=True)
class TermSums:
    """A factorised coupling term: ``gx = sum_p target_p * S_p``.

    ``parts`` pairs each part's ``target`` (reading ``x_i...``) with the history channel its
    sum runs over, or with None and its constant source value for a row-sum part.
    """

    parts: tuple[tuple[ir.Expr, int | None, ir.Expr | None], ...]


def factorised(spec) -> bool:
    """Whether ``spec``'s kernels use the coupling's separable form."""
    return bool(spec.factorise and spec.coupling.separable)


def _source_of(term, source: ir.Expr) -> ir.Expr:
    """A part's source with ``x_j...`` read as the node's own state variables of ``term``."""
    names = {f"x_j{m}": ir.Sym(variable) for m, variable in enumerate(term.variables)}
    names["x_j"] = names["x_j0"]
    return ir.substitute(source, names)


def history_channels(spec) -> tuple[Channel, ...]:
    """The rows of ``spec``'s delay history, in the order every target stores them."""
    if not factorised(spec):
        return tuple(Channel(ir.Sym(name)) for name in spec.model.coupled_states)
    channels: list[Channel] = []
    for term in spec.model.coupling_terms:
        for part in spec.coupling.separable:
            if not part.constant:
                channel = Channel(_source_of(term, part.source))
                if channel not in channels:
                    channels.append(channel)
    return tuple(channels)


def term_sums(spec, term) -> TermSums | None:
    """How a factorised term's sum is combined; None when the term sums ``pre`` itself."""
    if not factorised(spec):
        return None
    channels = history_channels(spec)
    parts = []
    for part in spec.coupling.separable:
        if part.constant:
            parts.append((part.target, None, part.source))
        else:
            parts.append((part.target, channels.index(Channel(_source_of(term, part.source))),
                          None))
    return TermSums(parts=tuple(parts))


def needs_row_sums(spec) -> bool:
    """Whether a factorised part sums a constant: the kernels then read ``sum_j w_ij``."""
    return factorised(spec) and any(p.constant for p in spec.coupling.separable)


def sum_count(spec) -> int:
    """How many sums each connection adds to: one per term, or one per history channel a
    factorised term reads (what the GPU split kernel keeps per thread in local memory)."""
    count = 0
    for term in spec.model.coupling_terms:
        sums = term_sums(spec, term)
        count += 1 if sums is None else len({c for _, c, _ in sums.parts if c is not None})
    return count
