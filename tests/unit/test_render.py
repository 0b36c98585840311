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

EXPRESSIONS = [
    "(Delta / (pi * tau) + 2 * V * r) / tau",
    "V**2 - pi**2 * tau**2 * r**2 + eta",
    "a - (b - c) - (a / (b / c))",
    "-a**2 + (-b)**3",
    "exp(-a) * tanh(b) + sqrt(abs(c))",
    "where(a > b and b > 0, a, -b)",
    "pow(abs(a), 0.5) + a**1.5 * 0 + max(a, b) - min(b, c)",
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
