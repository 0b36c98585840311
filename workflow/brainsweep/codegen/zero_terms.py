"""Coupling terms that add nothing: a term whose coefficient is zero in every simulation.

MontbrioPazoRoxin reads its network input as ``cr * Coupling_Term_r + cv * Coupling_Term_V``;
with ``cv = 0`` (TVB's default) the V term's network sum is computed every step and multiplied
by zero. :func:`vanishing_parameters` finds, from the model's expressions alone, the
parameters whose zero removes a term from every derivative, auxiliary and observable;
:func:`zero_coupling_terms` names the terms whose such parameter is 0 in every row of a
parameter table. Dropping them (:meth:`brainsweep.dsl.Model.with_coupling_terms`, which reads
them as 0) changes no result: ``0 * c`` is 0 for the finite ``c`` of a simulation that has not
diverged. The dropped model is part of the spec, so the kernel's hash and cache key follow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from brainsweep.dsl import ir

__all__ = ["active_coupling_terms", "vanishing_parameters", "zero_coupling_terms"]

_ALL = None  # "every parameter": an expression that does not read the term at all


def _zero_when(node: ir.Expr, parameters: set[str]) -> set[str]:
    """Parameters whose zero makes ``node`` exactly zero (a product's factors, a sign)."""
    match node:
        case ir.Sym(name=name) if name in parameters:
            return {name}
        case ir.Unary(operand=operand):
            return _zero_when(operand, parameters)
        case ir.BinOp(op="*", left=left, right=right):
            return _zero_when(left, parameters) | _zero_when(right, parameters)
        case ir.BinOp(op="/", left=left):
            return _zero_when(left, parameters)
    return set()


def _vanishing(node: ir.Expr, term: str, parameters: set[str]):
    """Parameters whose zero makes ``node`` independent of ``term`` (None: it never reads
    it). A product with a factor that is zero without the term is zero whatever the term;
    any other node is independent when every child that reads the term is."""
    if term not in ir.symbols(node):
        return _ALL
    if isinstance(node, ir.Sym):
        return set()
    children = _children(node)
    if isinstance(node, ir.BinOp) and node.op == "*":
        zero = set()
        for child in children:
            if term not in ir.symbols(child):
                zero |= _zero_when(child, parameters)
        if zero:
            inner = [_vanishing(c, term, parameters) for c in children
                     if term in ir.symbols(c)]
            return zero | set.intersection(*(set(parameters) if v is _ALL else v
                                             for v in inner))
    found = set(parameters)
    for child in children:
        vanish = _vanishing(child, term, parameters)
        if vanish is not _ALL:
            found &= vanish
    return found


def _children(node: ir.Expr) -> list[ir.Expr]:
    match node:
        case ir.Unary(operand=operand):
            return [operand]
        case ir.BinOp(left=left, right=right) | ir.Compare(left=left, right=right) | \
                ir.Logical(left=left, right=right):
            return [left, right]
        case ir.Call(args=args):
            return list(args)
        case ir.Where(cond=cond, then=then, otherwise=otherwise):
            return [cond, then, otherwise]
    return []


def _expressions(model) -> list[ir.Expr]:
    """Every derivative and observable, with the auxiliaries written out (a term may reach a
    derivative through them)."""
    definitions: dict[str, ir.Expr] = {}
    for name, expr in model.auxiliaries:  # in order: each reads only those before it
        definitions[name] = ir.substitute(expr, definitions)
    return [ir.substitute(e, definitions) for e in
            (*(s.derivative for s in model.states), *model.observables.values())]


def vanishing_parameters(model, term: str) -> set[str]:
    """The model parameters whose zero removes coupling term ``term`` from the model.

    Examples
    --------
    >>> from brainsweep.dsl import load_model
    >>> sorted(vanishing_parameters(load_model("montbrio"), "Coupling_Term_V"))
    ['cv']
    """
    parameters = set(model.parameter_names)
    found = set(parameters)
    for expr in _expressions(model):
        vanish = _vanishing(expr, term, parameters)
        if vanish is not _ALL:
            found &= vanish
    return found


def zero_coupling_terms(model, columns: Sequence[str], table: np.ndarray,
                        regional: Sequence[str] = ()) -> tuple[str, ...]:
    """The coupling terms (model order) with a vanishing parameter that is 0 in every row of
    ``table`` (columns named ``columns``); a parameter given per region never counts."""
    table = np.asarray(table, dtype=np.float64)
    zero = []
    for term in model.coupling_terms:
        for name in sorted(vanishing_parameters(model, term.name) - set(regional)):
            if name in columns and table.shape[0] and np.all(
                    table[:, list(columns).index(name)] == 0.0):
                zero.append(term.name)
                break
    return tuple(zero)


def active_coupling_terms(model, columns: Sequence[str], table: np.ndarray,
                          regional: Sequence[str] = ()) -> tuple[str, ...] | None:
    """The terms to keep for ``table``, or None when every term adds something.

    A kernel needs one term; if every term is zero the first is kept (its input is then
    multiplied by zero, as before).
    """
    zero = set(zero_coupling_terms(model, columns, table, regional))
    if not zero:
        return None
    kept = tuple(t.name for t in model.coupling_terms if t.name not in zero)
    return kept or (model.coupling_terms[0].name,)
