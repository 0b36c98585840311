"""Expression renderers: IR → source text, one small table per target language.

A renderer never sees strings of code from the model file: it walks the IR. Per-language
differences (function names, float suffixes, how to spell a power) are data in the tables of
each subclass, not branches in the walker.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from brainsweep.dsl import ir

__all__ = ["CRenderer", "ExpressionRenderer", "PythonRenderer"]

# Binding strength, to print only the parentheses that are needed.
_PRECEDENCE = {"or": 1, "and": 2, "cmp": 3, "+": 4, "-": 4, "*": 5, "/": 5, "unary": 6,
               "**": 7, "atom": 8}


class ExpressionRenderer:
    """Base renderer. Subclasses fill the tables and a few hooks.

    Parameters
    ----------
    names
        IR symbol → name in the generated code (unmapped symbols keep their names).
    dtype
        ``"float32"`` or ``"float64"``: picks literal suffixes and function variants.
    """

    functions: Mapping[str, str] = {}
    max_integer_power = 4  # x**n for integer 2 <= n <= this becomes repeated products

    def __init__(self, names: Mapping[str, str] | None = None, *, dtype: str = "float64"):
        self.names = dict(names or {})
        self.dtype = np.dtype(dtype).name

    # hooks -------------------------------------------------------------------------------
    def number(self, value: float) -> str:
        raise NotImplementedError

    def call(self, func: str, args: list[str]) -> str:
        return f"{self.functions[func]}({', '.join(args)})"

    def where(self, cond: str, then: str, otherwise: str) -> str:
        raise NotImplementedError

    def logical(self, op: str) -> str:
        raise NotImplementedError

    def power(self, base: str, exponent: str) -> str:
        return self.call("pow", [base, exponent])

    # walker ------------------------------------------------------------------------------
    def render(self, node: ir.Expr) -> str:
        """The expression as source text."""
        return self._render(node)[0]

    def _render(self, node: ir.Expr) -> tuple[str, int]:
        match node:
            case ir.Num(value=value):
                text = self.number(value)
                return (f"({text})" if value < 0 else text), _PRECEDENCE["atom"]
            case ir.Sym(name=name):
                return self.names.get(name, name), _PRECEDENCE["atom"]
            case ir.Unary(op=op, operand=operand):
                inner = self._wrap(operand, _PRECEDENCE["unary"])
                return f"{op}{inner}", _PRECEDENCE["unary"]
            case ir.BinOp(op="**", left=left, right=right):
                if isinstance(right, ir.Num) and float(right.value).is_integer() and (
                    2 <= right.value <= self.max_integer_power
                ):
                    base = self._wrap(left, _PRECEDENCE["*"] + 1)
                    return "*".join([base] * int(right.value)), _PRECEDENCE["*"]
                if isinstance(right, ir.Num) and right.value == 1.0:
                    return self._render(left)
                return self.power(self.render(left), self.render(right)), _PRECEDENCE["atom"]
            case ir.BinOp(op=op, left=left, right=right):
                prec = _PRECEDENCE[op]
                lhs = self._wrap(left, prec)
                # right operands of - and / need parentheses at equal precedence
                rhs = self._wrap(right, prec + (1 if op in "-/" else 0))
                return f"{lhs} {op} {rhs}", prec
            case ir.Compare(op=op, left=left, right=right):
                prec = _PRECEDENCE["cmp"]
                return (f"{self._wrap(left, prec + 1)} {op} {self._wrap(right, prec + 1)}",
                        prec)
            case ir.Logical(op=op, left=left, right=right):
                prec = _PRECEDENCE[op]
                return (f"{self._wrap(left, prec)} {self.logical(op)} "
                        f"{self._wrap(right, prec)}", prec)
            case ir.Call(func=func, args=args):
                return self.call(func, [self.render(a) for a in args]), _PRECEDENCE["atom"]
            case ir.Where(cond=cond, then=then, otherwise=otherwise):
                text = self.where(self.render(cond), self.render(then), self.render(otherwise))
                return f"({text})", _PRECEDENCE["atom"]
        raise TypeError(f"cannot render {node!r}")

    def _wrap(self, node: ir.Expr, needed: int) -> str:
        text, prec = self._render(node)
        return text if prec >= needed else f"({text})"


class PythonRenderer(ExpressionRenderer):
    """Python for Numba's ``@njit`` (``math`` functions; float32 literals wrapped)."""

    functions = {
        "sin": "math.sin", "cos": "math.cos", "tan": "math.tan", "exp": "math.exp",
        "log": "math.log", "sqrt": "math.sqrt", "tanh": "math.tanh", "abs": "abs",
        "sinh": "math.sinh", "cosh": "math.cosh", "arctan": "math.atan",
        "floor": "math.floor", "ceil": "math.ceil", "expm1": "math.expm1",
        "log1p": "math.log1p", "erfc": "math.erfc", "pow": "math.pow", "min": "min", "max": "max",
    }

    def number(self, value: float) -> str:
        text = repr(float(value))
        # Numba would promote a float32 expression to float64 on a bare Python float.
        return f"real({text})" if self.dtype == "float32" else text

    def call(self, func: str, args: list[str]) -> str:
        if func == "heaviside":  # TVB's convention: 1 where x > 0, else 0
            return f"({self.number(1.0)} if {args[0]} > 0 else {self.number(0.0)})"
        if func == "pow":  # ** keeps float32 in Numba; math.pow would promote to float64
            return self.power(*args)
        if func in ("floor", "ceil"):  # math.floor returns an int in Python
            return f"real({self.functions[func]}({args[0]}))"
        return super().call(func, args)

    def power(self, base: str, exponent: str) -> str:
        return f"({base}) ** ({exponent})"

    def where(self, cond: str, then: str, otherwise: str) -> str:
        return f"{then} if {cond} else {otherwise}"

    def logical(self, op: str) -> str:
        return op


class CRenderer(ExpressionRenderer):
    """C99 as CUDA and OpenCL compile it; float32 uses the ``f`` suffix and functions."""

    _double = {
        "sin": "sin", "cos": "cos", "tan": "tan", "exp": "exp", "log": "log", "sqrt": "sqrt",
        "tanh": "tanh", "abs": "fabs", "sinh": "sinh", "cosh": "cosh", "arctan": "atan",
        "floor": "floor", "ceil": "ceil", "expm1": "expm1", "log1p": "log1p", "erfc": "erfc",
        "pow": "pow", "min": "fmin", "max": "fmax",
    }
    # OpenCL overloads the plain names for float; CUDA needs the f-suffixed ones.
    float_suffix_functions = True

    @property
    def functions(self):  # type: ignore[override]
        if self.dtype == "float32" and self.float_suffix_functions:
            return {k: f"{v}f" for k, v in self._double.items()}
        return self._double

    def number(self, value: float) -> str:
        text = repr(float(value))
        if "e" not in text and "." not in text and "inf" not in text:
            text += ".0"
        return f"{text}f" if self.dtype == "float32" else text

    def call(self, func: str, args: list[str]) -> str:
        if func == "heaviside":
            return f"({args[0]} > {self.number(0.0)} ? {self.number(1.0)} : {self.number(0.0)})"
        return super().call(func, args)

    def where(self, cond: str, then: str, otherwise: str) -> str:
        return f"{cond} ? {then} : {otherwise}"

    def logical(self, op: str) -> str:
        return {"and": "&&", "or": "||"}[op]
