"""A coupling's declared separable form: ``pre(x_i, x_j) = sum_p target_p(x_i) source_p(x_j)``.

With it the network sum splits into per-source sums, ``gx_i = sum_p target_p(x_i) S_p,i``
with ``S_p,i = sum_j w_ij source_p(x_j(t - d_ij))``: the kernels store each ``source_p`` of a
node's own state in the delay history once per step (``sin x`` and ``cos x`` for Kuramoto's
``sin(x_j - x_i)``) instead of evaluating ``pre`` once per connection, and a ``source_p``
that reads no ``x_j`` (the ``1`` of ``x_j - x_i = x_j * 1 + 1 * (-x_i)``) is a constant
times the weights' row sum, computed once. ``couplings.yaml`` declares the parts
(``separable:``); they are checked here against ``pre`` so that a wrong declaration is an
error naming the file and key, never a wrong kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainsweep.dsl import ir
from brainsweep.dsl.evaluate import evaluate
from brainsweep.dsl.parse import parse_expression
from brainsweep.dsl.parts import COUPLING_INPUTS, MAX_COUPLING_INPUTS, coupling_input
from brainsweep.errors import InputError

__all__ = ["SeparablePart", "check_separable", "parse_separable"]

_TARGET_INPUTS = {name for name in COUPLING_INPUTS if coupling_input(name)[0] == "i"}
_SOURCE_INPUTS = {name for name in COUPLING_INPUTS if coupling_input(name)[0] == "j"}
# Points at which the declared parts must equal pre; an identity holds at every one of them
# to rounding, a wrong declaration fails at almost all.
_SAMPLES = 64
_RELATIVE = 1e-12


@dataclass(frozen=True)
class SeparablePart:
    """One product of a separable ``pre``: ``target`` reads the target node's current
    values (``x_i``...) and the coupling's parameters, ``source`` only the source's delayed
    values (``x_j``...), or nothing (a constant: its sum is the weights' row sum)."""

    target: ir.Expr
    source: ir.Expr

    @property
    def constant(self) -> bool:
        """Whether ``source`` reads no source value, so that no history is needed for it."""
        return not ir.symbols(self.source)


def parse_separable(entries, *, parameters: set[str], pre: ir.Expr, doc, name: str
                    ) -> tuple[SeparablePart, ...]:
    """``couplings.yaml``'s ``separable:`` list of ``{target, source}`` → checked parts."""
    field = f"{name}.separable"
    if entries is None:
        return ()
    if not isinstance(entries, list) or not entries:
        raise InputError("separable must be a non-empty list of {target, source} entries",
                         source=doc.where(name, "separable"), field=field)
    parts = []
    for k, entry in enumerate(entries):
        where = doc.where(name, "separable", k)
        if not isinstance(entry, dict) or set(entry) != {"target", "source"}:
            raise InputError(f"entry {k} must have exactly the keys target and source, got "
                             f"{entry!r}", source=where, field=f"{field}[{k}]")
        target = parse_expression(entry["target"], known=parameters | _TARGET_INPUTS,
                                  source=doc.source, line=doc.line(name, "separable", k),
                                  field=f"{field}[{k}].target")
        # the history stores source values per node and step, before any simulation's
        # coupling parameters are read: a source may read only the source's own values
        source = parse_expression(entry["source"], known=_SOURCE_INPUTS, source=doc.source,
                                  line=doc.line(name, "separable", k),
                                  field=f"{field}[{k}].source")
        parts.append(SeparablePart(target=target, source=source))
    parts = tuple(parts)
    # a term's history keeps only the variables pre reads (Model.for_coupling)
    allowed = {coupling_input(n) for n in ir.symbols(pre) if coupling_input(n)}
    for k, part in enumerate(parts):
        read = {coupling_input(n) for n in ir.symbols(part.target) | ir.symbols(part.source)
                if coupling_input(n)}
        if not read <= allowed:
            extra = sorted(f"x_{side}{m}" for side, m in read - allowed)
            raise InputError(f"entry {k} reads {extra}, which pre does not read",
                             source=doc.where(name, "separable", k), field=f"{field}[{k}]")
    check_separable(parts, pre, parameters=parameters, where=doc.where(name, "separable"),
                    field=field)
    return parts


def _alias(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``x_i``/``x_j`` as the first variable's ``x_i0``/``x_j0``, as the kernels read them."""
    return {**values, "x_i": values["x_i0"], "x_j": values["x_j0"]}


def check_separable(parts, pre: ir.Expr, *, parameters, where: str | None, field: str) -> None:
    """Refuse parts whose sum of products is not ``pre`` (InputError naming ``field``).

    Both sides are evaluated in float64 at seeded random points (values in [-3, 3], the
    coupling parameters at random values in [0.5, 2]) where ``pre`` is finite.
    """
    generator = np.random.default_rng(20261202)
    inputs = {f"x_{side}{m}": generator.uniform(-3.0, 3.0, _SAMPLES)
              for side in "ij" for m in range(MAX_COUPLING_INPUTS)}
    env = _alias(inputs)
    env.update({p: generator.uniform(0.5, 2.0, _SAMPLES) for p in sorted(parameters)})
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(evaluate(pre, env), (_SAMPLES,))
        got = np.zeros(_SAMPLES)
        for part in parts:
            got = got + evaluate(part.target, env) * evaluate(part.source, env)
    finite = np.isfinite(expected)
    if not finite.any():
        raise InputError("pre is not finite at any test point; the separable form cannot be "
                         "checked", source=where, field=field)
    error = np.abs(got[finite] - expected[finite])
    bound = _RELATIVE * (1.0 + np.abs(expected[finite]))
    if not np.all(error <= bound):
        worst = int(np.argmax(error / bound))
        raise InputError(f"the separable parts do not add up to pre: they give "
                         f"{got[finite][worst]!r} where pre gives {expected[finite][worst]!r}",
                         source=where, field=field)
