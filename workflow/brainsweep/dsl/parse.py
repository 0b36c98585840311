"""Expression text → IR, through Python's :mod:`ast`.

Only a small, safe subset of Python is accepted: numbers, names, ``+ - * / **``, unary minus,
calls of the functions in :data:`brainsweep.dsl.ir.FUNCTIONS`, comparisons and ``and``/``or``
inside ``where(cond, a, b)``. Anything else is an error naming the model file and line.
``^`` is a power with the precedence and associativity of ``**`` (``a + b^2`` is
``a + b**2``, ``-x^2`` is ``-(x**2)``, ``a^b^c`` is ``a^(b^c)``, ``x^-1`` is ``1/x``), as in
RateML's files and in mathematical notation; Python's own ``^`` (exclusive or, binding looser
than ``+``) has no meaning in a model.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Collection

from brainsweep.dsl import ir
from brainsweep.errors import InputError

__all__ = ["caret_to_power", "parse_expression"]

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
            ast.NotEq: "!="}
_ALIASES = {"fabs": "abs", "power": "pow", "atan": "arctan", "fmin": "min", "fmax": "max"}


def parse_expression(
    text: str | float | int,
    *,
    known: Collection[str],
    source: str | None = None,
    line: int | None = None,
    field: str | None = None,
) -> ir.Expr:
    """Parse one expression into the IR and check that it only reads known symbols.

    Parameters
    ----------
    text
        The expression, e.g. ``"(Delta / (pi * tau) + 2 * V * r) / tau"``.
    known
        Names the expression may read (parameters, state variables, coupling terms, ...);
        the constants ``pi`` and ``e`` are always known.
    source, line, field
        Where the text came from, for error messages.

    Examples
    --------
    >>> parse_expression("x**2", known={"x"})
    BinOp(op='**', left=Sym(name='x'), right=Num(value=2.0))
    """
    where = f"{source}:{line}" if source and line else source

    def fail(message: str) -> InputError:
        return InputError(message, source=where, field=field)

    if isinstance(text, bool):
        raise fail(f"expected an expression, got the boolean {text}")
    if isinstance(text, int | float):
        return ir.Num(float(text))
    if not isinstance(text, str) or not text.strip():
        raise fail(f"expected an expression, got {text!r}")
    try:
        tree = ast.parse(caret_to_power(text.strip()), mode="eval")
    except SyntaxError as err:
        raise fail(f"bad expression syntax in {text!r}: {err.msg}") from None

    def convert(node: ast.AST) -> ir.Expr:
        match node:
            case ast.Constant(value=value) if isinstance(value, int | float) and not isinstance(
                value, bool
            ):
                return ir.Num(float(value))
            case ast.Name(id=name):
                if name in ir.CONSTANTS and name not in known:
                    return ir.Num(ir.CONSTANTS[name])
                if name not in known:
                    raise fail(f"unknown symbol {name!r} in {text!r}; known: {sorted(known)}")
                return ir.Sym(name)
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                inner = convert(operand)
                if isinstance(inner, ir.Num):
                    return ir.Num(-inner.value)
                return ir.Unary("-", inner)
            case ast.UnaryOp(op=ast.UAdd(), operand=operand):
                return convert(operand)
            case ast.BinOp(op=op, left=left, right=right) if type(op) in _BINARY:
                return ir.BinOp(_BINARY[type(op)], convert(left), convert(right))
            case ast.BinOp(op=op):
                raise fail(f"operator {type(op).__name__} is not allowed in {text!r}")
            case ast.Compare(left=left, ops=[op], comparators=[right]) if type(op) in _COMPARE:
                return ir.Compare(_COMPARE[type(op)], convert(left), convert(right))
            case ast.BoolOp(op=op, values=values):
                name = "and" if isinstance(op, ast.And) else "or"
                result = convert(values[0])
                for value in values[1:]:
                    result = ir.Logical(name, result, convert(value))
                return result
            case ast.Attribute(value=ast.Name(id="np" | "numpy" | "math"), attr=attr):
                # numpy.pi / math.pi as TVB's model code writes them
                if attr in ir.CONSTANTS:
                    return ir.Num(ir.CONSTANTS[attr])
                raise fail(f"only pi and e may be read from numpy/math, not {attr!r}")
            case ast.Call(func=func, args=args, keywords=[]):
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and (
                    func.value.id in ("np", "numpy", "math")
                ):
                    name = func.attr
                elif isinstance(func, ast.Name):
                    name = func.id
                else:
                    raise fail(f"cannot call {ast.unparse(func)!r} in {text!r}")
                name = _ALIASES.get(name, name)
                if name == "where":
                    if len(args) != 3:
                        raise fail(f"where() takes 3 arguments, got {len(args)} in {text!r}")
                    cond, then, otherwise = (convert(a) for a in args)
                    return ir.Where(cond, then, otherwise)
                if name not in ir.FUNCTIONS:
                    raise fail(
                        f"unknown function {name!r} in {text!r}; known: "
                        f"{sorted([*ir.FUNCTIONS, 'where'])}"
                    )
                if len(args) != ir.FUNCTIONS[name]:
                    raise fail(
                        f"{name}() takes {ir.FUNCTIONS[name]} argument(s), got {len(args)} "
                        f"in {text!r}"
                    )
                return ir.Call(name, tuple(convert(a) for a in args))
            case _:
                raise fail(f"{type(node).__name__} is not allowed in an expression: {text!r}")

    result = convert(tree.body)
    _check_constant_division(result, fail, text)
    return result


def caret_to_power(text: str) -> str:
    """``text`` with every ``^`` operator token spelled ``**``, nothing else changed.

    The swap happens on Python's tokens before :mod:`ast` parses the text, so that the parser
    itself gives ``^`` the precedence and right associativity of ``**``. A ``^`` inside a
    string literal is left alone (a string is an error later anyway); text that does not
    tokenize is returned unchanged, for :func:`ast.parse` to report.

    Examples
    --------
    >>> caret_to_power("-x^2 + a^b^c * x^-1")
    '-x**2 + a**b**c * x**-1'
    """
    if "^" not in text:
        return text
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    offsets = [starts[tok.start[0] - 1] + tok.start[1] for tok in tokens
               if tok.type == tokenize.OP and tok.string == "^"]
    for offset in reversed(offsets):
        text = text[:offset] + "**" + text[offset + 1:]
    return text


def _check_constant_division(node: ir.Expr, fail, text: str) -> None:
    for sub in ir.walk(node):
        if isinstance(sub, ir.BinOp) and sub.op == "/" and isinstance(sub.right, ir.Num):
            if sub.right.value == 0.0:
                raise fail(f"division by the constant zero in {text!r}")
