"""Model-file mistakes give errors that name the file and the line of the bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainsweep.dsl import ir, load_model
from brainsweep.errors import InputError

# line numbers below count from 1 in this text
MODEL = """\
name: Decay
parameters:
  tau: {default: 2.0}
state_variables:
  x: {initial: 1.0}
  y: {initial: 0.0}
coupling_terms:
  c: x
auxiliaries:
  rate: 1.0 / tau
derivatives:
  x: -x * rate + c
  y: x - y
observables:
  bold: x
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "decay.yaml"
    path.write_text(text)
    return path


def test_the_valid_file_loads(tmp_path):
    model = load_model(write(tmp_path, MODEL))
    assert model.state_names == ("x", "y") and model.coupled_states == ("x",)


@pytest.mark.parametrize(("old", "new", "line", "words"), [
    ("x: -x * rate + c", "x: -x * rate + c + z", 12, "unknown symbol 'z'"),
    ("x: -x * rate + c", "x: -x * rate +* c", 12, "syntax"),
    ("y: x - y", "y: x - cbrt(y)", 13, "unknown function 'cbrt'"),
    ("y: x - y", "y: x - exp(y, 2)", 13, "exp() takes 1 argument"),
    ("rate: 1.0 / tau", "rate: max(tau)", 10, "max() takes 2 argument"),
    ("rate: 1.0 / tau", "rate: 1.0 / 0.0", 10, "division by the constant zero"),
    ("  y: x - y\n", "", 6, "'y' has no derivative"),
    ("  c: x", "  c: w", 8, "not a state variable"),
    ("y: x - y", "y: x ^^ y", 13, "syntax"),
    ("bold: x", "bold: x + rates", 15, "unknown symbol 'rates'"),
    ("bold: x", "tavg: x", 15, "unknown observable 'tavg'"),
])
def test_errors_name_file_and_line(tmp_path, old, new, line, words):
    assert old in MODEL
    path = write(tmp_path, MODEL.replace(old, new, 1))
    with pytest.raises(InputError) as caught:
        load_model(path)
    message = str(caught.value)
    assert f"{path}:{line}" in message, message
    assert words in message, message


def test_caret_in_a_model_file_is_a_power(tmp_path):
    """``x^2`` in a YAML file means ``x**2``, with a power's precedence (not Python's xor)."""
    caret = load_model(write(tmp_path, MODEL.replace("y: x - y", "y: -x^2 + y^2^0.5 * rate")))
    power = load_model(write(tmp_path, MODEL.replace("y: x - y",
                                                     "y: -(x**2) + y**(2**0.5) * rate")))
    assert caret.states[1].derivative == power.states[1].derivative


def test_observables_may_read_auxiliaries_and_coupling_terms(tmp_path):
    model = load_model(write(tmp_path, MODEL.replace("bold: x", "bold: rate * x + c")))
    assert ir.symbols(model.observables["bold"]) == {"rate", "x", "c"}
