"""Evaluate IR expressions with NumPy (float64), for the oracle and for tests."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import special

from brainsweep.dsl import ir

__all__ = ["evaluate"]

_FUNCTIONS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log,
    "sqrt": np.sqrt, "tanh": np.tanh, "abs": np.abs, "sinh": np.sinh, "cosh": np.cosh,
    "arctan": np.arctan, "floor": np.floor, "ceil": np.ceil, "expm1": np.expm1,
    "log1p": np.log1p, "erfc": special.erfc, "pow": np.power, "min": np.minimum, "max": np.maximum,
    "heaviside": lambda x: np.where(x > 0, 1.0, 0.0),
}
_BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power}
_COMPARE = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
            "==": np.equal, "!=": np.not_equal}


def evaluate(node: ir.Expr, env: Mapping[str, object]):
    """The value of ``node`` with symbols taken from ``env`` (scalars or arrays)."""
    match node:
        case ir.Num(value=value):
            return value
        case ir.Sym(name=name):
            return env[name]
        case ir.Unary(op=op, operand=operand):
            value = evaluate(operand, env)
            return -value if op == "-" else value
        case ir.BinOp(op=op, left=left, right=right):
            return _BINARY[op](evaluate(left, env), evaluate(right, env))
        case ir.Compare(op=op, left=left, right=right):
            return _COMPARE[op](evaluate(left, env), evaluate(right, env))
        case ir.Logical(op=op, left=left, right=right):
            combine = np.logical_and if op == "and" else np.logical_or
            return combine(evaluate(left, env), evaluate(right, env))
        case ir.Call(func=func, args=args):
            return _FUNCTIONS[func](*(evaluate(a, env) for a in args))
        case ir.Where(cond=cond, then=then, otherwise=otherwise):
            return np.where(evaluate(cond, env), evaluate(then, env), evaluate(otherwise, env))
    raise TypeError(f"cannot evaluate {node!r}")
