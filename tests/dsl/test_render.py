"""Expression renderers: the printed code computes what the IR means, on every language."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brainsweep.codegen.render import CRenderer, PythonRenderer
from brainsweep.dsl import parse_expression
from brainsweep.dsl.evaluate import evaluate
from brainsweep.dsl.parse import caret_to_power
from brainsweep.errors import InputError

EXPRESSIONS = [
    "(Delta / (pi * tau) + 2 * V * r) / tau",
    "V**2 - pi**2 * tau**2 * r**2 + eta",
    "a - (b - c) - (a / (b / c))",
    "-a**2 + (-b)**3",
    "exp(-a) * tanh(b) + sqrt(abs(c))",
    "where(a > b and b > 0, a, -b)",
    "pow(abs(a), 0.5) + a**1.5 * 0 + max(a, b) - min(b, c)",
    "erfc((a - b) / c) + erfc(-a) * b",  # libm's erfc (Numba, C) against SciPy's
    "-a^2 * b + c^b^0.5 / a^-1 - (a + b)^3",  # ^ is a power, as RateML and maths write it
]


def python_value(text: str, values: dict[str, float], dtype="float64") -> float:
    expr = parse_expression(text, known=set(values))
    code = PythonRenderer(dtype=dtype).render(expr)
    return eval(code, {"math": math, "real": np.dtype(dtype).type}, dict(values))


@pytest.mark.parametrize("text", EXPRESSIONS)
@settings(max_examples=50, deadline=None)
@given(values=st.fixed_dictionaries({
    name: st.floats(0.1, 5.0) for name in ("a", "b", "c", "r", "V", "tau", "eta", "Delta")}))
def test_python_rendering_agrees_with_the_evaluator(text, values):
    known = {k: v for k, v in values.items()}
    expected = evaluate(parse_expression(text, known=set(known)), known)
    assert python_value(text, known) == pytest.approx(float(expected), rel=1e-13, abs=1e-13)


def test_small_integer_powers_become_products_and_parentheses_are_minimal():
    expr = parse_expression("(x + y)**2 - z**3 / w", known={"x", "y", "z", "w"})
    assert PythonRenderer().render(expr) == "(x + y)*(x + y) - z*z*z / w"


def test_float32_literals_and_functions_per_language():
    expr = parse_expression("exp(-x) * 0.5 + pow(x, 2.5)", known={"x"})
    assert CRenderer(dtype="float32").render(expr) == "expf(-x) * 0.5f + powf(x, 2.5f)"
    assert CRenderer(dtype="float64").render(expr) == "exp(-x) * 0.5 + pow(x, 2.5)"
    assert PythonRenderer(dtype="float32").render(expr) == (
        "math.exp(-x) * real(0.5) + (x) ** (real(2.5))")


def test_c_conditionals_and_names():
    expr = parse_expression("where(x < 0 or y >= 1, x, y)", known={"x", "y"})
    assert CRenderer({"x": "s_x"}).render(expr) == "(s_x < 0.0 || y >= 1.0 ? s_x : y)"


@pytest.mark.parametrize(("caret", "power", "value"), [
    ("a^b^c", "a**(b**c)", 2.0**9.0),  # right-associative: not (a^b)^c = 64
    ("-a^2", "-(a**2)", -4.0),  # unary minus binds looser than the power: not (-a)^2 = 4
    ("(-a)^2", "(-a)**2", 4.0),
    ("c^-1", "c**-1", 0.5),  # a signed exponent
    ("a^-b^-1", "a**(-(b**-1))", 2.0**(-3.0**-1.0)),
    ("1 + a^2 * b", "1 + (a**2) * b", 13.0),  # Python's ^ (xor) would bind looser than +
    ("a * b^2 / c", "a * (b**2) / c", 9.0),
    ("exp(a)^b", "exp(a)**b", np.exp(2.0) ** 3.0),
])
def test_caret_is_a_power_with_power_precedence(caret, power, value):
    env = {"a": 2.0, "b": 3.0, "c": 2.0}
    expr = parse_expression(caret, known=set(env))
    assert expr == parse_expression(power, known=set(env))
    assert float(evaluate(expr, env)) == pytest.approx(value, rel=1e-15)


def test_caret_to_power_touches_only_operator_tokens():
    assert caret_to_power("x^2 + y ^ -z") == "x**2 + y ** -z"
    assert caret_to_power('f("a^b")') == 'f("a^b")'  # inside a string: left alone
    assert caret_to_power("x**2") == "x**2"
    with pytest.raises(InputError, match="m.yaml:4.*syntax"):
        parse_expression("x^^2", known={"x"}, source="m.yaml", line=4)
