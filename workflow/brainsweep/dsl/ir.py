"""The expression IR: a small immutable tree that every target renders.

Model files hold expressions as text; :mod:`brainsweep.dsl.parse` turns them into these nodes,
the renderers in :mod:`brainsweep.codegen.render` print them per target language, and
:mod:`brainsweep.dsl.evaluate` evaluates them with NumPy for the float64 oracle.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "BINARY_OPS",
    "COMPARE_OPS",
    "FUNCTIONS",
    "BinOp",
    "Call",
    "Compare",
    "Expr",
    "Logical",
    "Num",
    "Sym",
    "Unary",
    "Where",
    "substitute",
    "symbols",
    "walk",
]

BINARY_OPS = ("+", "-", "*", "/", "**")
COMPARE_OPS = ("<", "<=", ">", ">=", "==", "!=")

# name -> number of arguments. Every target maps each of these to its own spelling.
FUNCTIONS: dict[str, int] = {
    "sin": 1, "cos": 1, "tan": 1, "exp": 1, "log": 1, "sqrt": 1, "tanh": 1, "abs": 1,
    "sinh": 1, "cosh": 1, "arctan": 1, "floor": 1, "ceil": 1, "expm1": 1, "log1p": 1,
    "erfc": 1, "pow": 2, "min": 2, "max": 2, "heaviside": 1,
}

# Named constants every expression may use.
CONSTANTS: dict[str, float] = {
    "pi": 3.141592653589793,
    "e": 2.718281828459045,
}


class Expr:
    """Base class of IR nodes."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Num(Expr):
    value: float


@dataclass(frozen=True, slots=True)
class Sym(Expr):
    name: str


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    op: str  # "-" or "+"
    operand: Expr


@dataclass(frozen=True, slots=True)
class BinOp(Expr):
    op: str  # one of BINARY_OPS
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Call(Expr):
    func: str  # one of FUNCTIONS
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Compare(Expr):
    op: str  # one of COMPARE_OPS
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Logical(Expr):
    op: str  # "and" | "or"
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Where(Expr):
    """``where(cond, a, b)``: ``a`` where ``cond`` holds, else ``b`` (both evaluated)."""

    cond: Expr
    then: Expr
    otherwise: Expr


def walk(node: Expr) -> Iterator[Expr]:
    """Every node of the tree, parents before children."""
    yield node
    match node:
        case Unary(operand=operand):
            yield from walk(operand)
        case BinOp(left=left, right=right) | Compare(left=left, right=right) | Logical(
            left=left, right=right
        ):
            yield from walk(left)
            yield from walk(right)
        case Call(args=args):
            for arg in args:
                yield from walk(arg)
        case Where(cond=cond, then=then, otherwise=otherwise):
            yield from walk(cond)
            yield from walk(then)
            yield from walk(otherwise)


def symbols(node: Expr) -> set[str]:
    """The names of the symbols an expression reads."""
    return {n.name for n in walk(node) if isinstance(n, Sym)}


def substitute(node: Expr, values: dict[str, Expr]) -> Expr:
    """A copy of ``node`` with the symbols named in ``values`` replaced."""
    match node:
        case Sym(name=name):
            return values.get(name, node)
        case Num():
            return node
        case Unary(op=op, operand=operand):
            return Unary(op, substitute(operand, values))
        case BinOp(op=op, left=left, right=right):
            return BinOp(op, substitute(left, values), substitute(right, values))
        case Compare(op=op, left=left, right=right):
            return Compare(op, substitute(left, values), substitute(right, values))
        case Logical(op=op, left=left, right=right):
            return Logical(op, substitute(left, values), substitute(right, values))
        case Call(func=func, args=args):
            return Call(func, tuple(substitute(a, values) for a in args))
        case Where(cond=cond, then=then, otherwise=otherwise):
            return Where(substitute(cond, values), substitute(then, values),
                         substitute(otherwise, values))
    raise TypeError(f"cannot substitute in {node!r}")
