"""The coupling functions of kernels/couplings.yaml and coupling terms that list several
variables: what each coupling reads, and the errors for terms that cannot serve it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from brainsweep.codegen import kernel_spec
from brainsweep.dsl import list_couplings, load_coupling, load_model
from brainsweep.dsl.evaluate import evaluate
from brainsweep.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
MODEL = """\
name: Pair
parameters: {}
state_variables:
  x: {initial: 1.0}
  y: {initial: 0.0}
coupling_terms:
  c: {terms}
derivatives:
  x: -x + c
  y: -y
"""


def write(tmp_path: Path, terms: str) -> Path:
    path = tmp_path / "pair.yaml"
    path.write_text(MODEL.replace("{terms}", terms))
    return path


def test_two_variable_couplings_read_two_and_the_others_one():
    reads = {name: load_coupling(name).n_inputs for name in list_couplings()}
    assert reads.pop("sigmoidal_jansen_rit") == 2 and reads.pop("pre_sigmoidal_dynamic") == 2
    assert set(reads.values()) == {1}


def test_kuramoto_is_tvb_simulators_and_kuramoto_mean_field_divides_by_n():
    """TVB's simulator: a * gx (its sparse path divides by n_cvar = 1); the documented form:
    a / N * gx."""
    gx = np.array([0.3, -1.2])
    assert evaluate(load_coupling("kuramoto").post, {"a": 2.0, "gx": gx, "N": 76.0}) \
        == pytest.approx(2.0 * gx)
    assert evaluate(load_coupling("kuramoto_mean_field").post,
                    {"a": 2.0, "gx": gx, "N": 76.0}) == pytest.approx(2.0 / 76.0 * gx)


def test_sigmoidal_jansen_rit_is_tvbs_sigmoid_of_y1_minus_y2():
    coupling = load_coupling("sigmoidal_jansen_rit")
    y1, y2 = np.array([12.0, 3.0]), np.array([5.0, 1.0])
    env = {**coupling.defaults, "x_j0": y1, "x_j1": y2}
    # TVB's defaults: cmin 0, cmax 2 * 0.0025, midpoint 6, r 0.56
    expected = 0.005 / (1.0 + np.exp(0.56 * (6.0 - (y1 - y2))))
    assert evaluate(coupling.pre, env) == pytest.approx(expected, rel=1e-15)


def test_a_term_may_list_several_variables(tmp_path):
    model = load_model(write(tmp_path, "[x, y]"))
    assert model.coupling_terms[0].variables == ("x", "y")
    assert kernel_spec(model, coupling="sigmoidal_jansen_rit").model.coupled_states == ("x", "y")
    # a single-variable coupling reads the first, and only that is stored
    assert kernel_spec(model, coupling="linear").model.coupled_states == ("x",)


@pytest.mark.parametrize(("terms", "message"), [
    ("[x, x]", "one state variable or a list of distinct ones"),
    ("[]", "one state variable or a list of distinct ones"),
    ("[x, z]", "reads 'z', which is not a state variable"),
])
def test_bad_term_lists_name_the_file_and_key(tmp_path, terms, message):
    with pytest.raises(InputError, match=message) as error:
        load_model(write(tmp_path, terms))
    assert "pair.yaml" in str(error.value) and "coupling_terms.c" in str(error.value)


def test_a_coupling_reading_more_variables_than_listed_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"pair\.yaml.*coupling_terms\.c.*reads 2 variables"):
        kernel_spec(write(tmp_path, "x"), coupling="pre_sigmoidal_dynamic")


def test_the_tvb_benchmark_maps_every_tvb_coupling_to_a_shipped_one():
    spec = importlib.util.spec_from_file_location(
        "tvb_side_by_side", ROOT / "benchmarks" / "tvb_side_by_side.py")
    script = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = script  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(script)
    finally:
        del sys.modules[spec.name]
    tvb_classes = {"Linear", "Scaling", "HyperbolicTangent", "Sigmoidal", "SigmoidalJansenRit",
                   "PreSigmoidal", "Difference", "Kuramoto"}
    assert set(script.BRAINSWEEP_COUPLING) == tvb_classes
    assert set(script.BRAINSWEEP_COUPLING.values()) <= set(list_couplings())
    assert {note.coupling for _, _, note in script.COUPLINGS} == tvb_classes


def test_the_config_schema_offers_every_shipped_coupling():
    import yaml

    schema = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
    names = schema["properties"]["coupling"]["properties"]["name"]["enum"]
    assert sorted(names) == list_couplings()
