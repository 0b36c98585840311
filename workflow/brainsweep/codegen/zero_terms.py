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


class _Analysis:
    """The walks of one (model, term) question, memoised by node.

    The auxiliaries are written out by substitution, which shares their subtrees: a large
    model's expressions are small as graphs but very large as trees (epileptor_codim3's
    took two minutes to walk as trees). Every result is therefore kept per node object
    (by ``id``, the node held alongside so the id stays its own while the analysis lives),
    and each shared subtree is looked at once.
    """

    def __init__(self, term: str, parameters: set[str]):
        self.term, self.parameters = term, parameters
        self._reads: dict[int, tuple[ir.Expr, bool]] = {}
        self._zero: dict[int, tuple[ir.Expr, frozenset[str]]] = {}
        self._vanish: dict[int, tuple[ir.Expr, object]] = {}

    def reads(self, node: ir.Expr) -> bool:
        """Whether ``node`` reads the term."""
        hit = self._reads.get(id(node))
        if hit is None:
            value = (node.name == self.term if isinstance(node, ir.Sym)
                     else any(self.reads(c) for c in _children(node)))
            hit = self._reads[id(node)] = (node, value)
        return hit[1]

    def zero_when(self, node: ir.Expr) -> frozenset[str]:
        """Parameters whose zero makes ``node`` exactly zero (a product's factors, a sign)."""
        hit = self._zero.get(id(node))
        if hit is None:
            match node:
                case ir.Sym(name=name) if name in self.parameters:
                    value = frozenset({name})
                case ir.Unary(operand=operand):
                    value = self.zero_when(operand)
                case ir.BinOp(op="*", left=left, right=right):
                    value = self.zero_when(left) | self.zero_when(right)
                case ir.BinOp(op="/", left=left):
                    value = self.zero_when(left)
                case _:
                    value = frozenset()
            hit = self._zero[id(node)] = (node, value)
        return hit[1]

    def vanishing(self, node: ir.Expr):
        """Parameters whose zero makes ``node`` independent of the term (_ALL: it never
        reads it). A product with a factor that is zero without the term is zero whatever
        the term; any other node is independent when every child that reads the term is."""
        hit = self._vanish.get(id(node))
        if hit is None:
            hit = self._vanish[id(node)] = (node, self._vanishing(node))
        return hit[1]

    def _vanishing(self, node: ir.Expr):
        if not self.reads(node):
            return _ALL
        if isinstance(node, ir.Sym):
            return frozenset()
        children = _children(node)
        if isinstance(node, ir.BinOp) and node.op == "*":
            zero = frozenset()
            for child in children:
                if not self.reads(child):
                    zero |= self.zero_when(child)
            if zero:
                inner = [self.vanishing(c) for c in children if self.reads(c)]
                return zero | frozenset.intersection(
                    *(frozenset(self.parameters) if v is _ALL else v for v in inner))
        found = frozenset(self.parameters)
        for child in children:
            vanish = self.vanishing(child)
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
    analysis = _Analysis(term, parameters)
    found = set(parameters)
    for expr in _expressions(model):
        vanish = analysis.vanishing(expr)
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
