"""Model-file mistakes give errors that name the file and the line of the bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainsweep.dsl import load_model
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
])
def test_errors_name_file_and_line(tmp_path, old, new, line, words):
    assert old in MODEL
    path = write(tmp_path, MODEL.replace(old, new, 1))
    with pytest.raises(InputError) as caught:
        load_model(path)
    message = str(caught.value)
    assert f"{path}:{line}" in message, message
    assert words in message, message
