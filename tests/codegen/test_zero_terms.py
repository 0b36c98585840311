"""Coupling terms whose coefficient is zero in every simulation are left out of the kernel:
which parameters remove a term (read from the model's expressions), when a parameter table
drops it, that the results do not change (bit for bit on Numba: ``cv * c`` with ``cv = 0`` is
the 0 the dropped term reads), that the kernel's hash follows the choice, and the study's
automatic choice from its sweep."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from brainsweep import codegen, simulate
from brainsweep.codegen.zero_terms import (
    active_coupling_terms,
    vanishing_parameters,
    zero_coupling_terms,
)
from brainsweep.dsl import load_model
from brainsweep.study import load_study

MODEL = """\
name: Terms
parameters:
  k: {default: 0.0}
  m: {default: 0.0}
  g: {default: 1.0}
state_variables:
  x: {initial: 0.1}
  y: {initial: 0.2}
coupling_terms:
  a: x
  b: y
  c: x
auxiliaries:
  drive: m * b
derivatives:
  x: -x + k * a + drive
  y: -y + g * exp(c)
observables:
  bold: x + k * (2.0 * a)
"""


@pytest.fixture(scope="module")
def terms_model(tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("terms")) / "terms.yaml"
    path.write_text(MODEL)
    return load_model(path)


def test_the_parameters_that_remove_each_term(terms_model):
    # a: k * a in a derivative and inside a product in the observable; b: through the
    # auxiliary m * b; c: inside exp, which is 1, not 0, at c = 0: only g removes it
    assert vanishing_parameters(terms_model, "a") == {"k"}
    assert vanishing_parameters(terms_model, "b") == {"m"}
    assert vanishing_parameters(terms_model, "c") == {"g"}
    montbrio = load_model("montbrio")
    assert vanishing_parameters(montbrio, "Coupling_Term_V") == {"cv"}
    assert vanishing_parameters(montbrio, "Coupling_Term_r") == {"cr"}
    assert vanishing_parameters(load_model("kuramoto"), "c_0") == set()


def test_a_table_drops_a_term_only_where_every_row_is_zero(terms_model):
    columns = ("k", "m", "g")
    table = np.array([[0.0, 0.0, 1.0], [0.0, 0.5, 2.0]])
    assert zero_coupling_terms(terms_model, columns, table) == ("a",)
    assert active_coupling_terms(terms_model, columns, table) == ("b", "c")
    assert zero_coupling_terms(terms_model, columns, table, regional=("k",)) == ()
    assert active_coupling_terms(terms_model, columns, np.ones((3, 3))) is None
    # every term zero: the kernel keeps one (its input is still multiplied by zero)
    assert active_coupling_terms(terms_model, columns, np.zeros((1, 3))) == ("a",)


@pytest.fixture(scope="module")
def network(hcp_connectome):
    keep = np.arange(0, 80, 4)
    return SimpleNamespace(weights=hcp_connectome.weights[np.ix_(keep, keep)],
                           lengths=hcp_connectome.lengths[np.ix_(keep, keep)])


def test_dropping_cv_zero_changes_no_bit_of_the_results(network):
    common = dict(target="numba", dt=0.01, n_steps=1000, stochastic=True, seed=4,
                  monitors=("raw", "bold"), bold_period_s=0.002, bold_dt_s=1e-4,
                  params={"global_coupling": [0.3, 0.6], "speed": [3.0, 6.0], "cv": 0.0})
    dropped = simulate.run(network, "montbrio", **common)
    kept = simulate.run(network, "montbrio", drop_zero_terms=False, **common)
    assert not dropped.diverged.any()
    np.testing.assert_array_equal(dropped.raw, kept.raw)
    np.testing.assert_array_equal(dropped.bold, kept.bold)


def test_the_kernel_and_its_hash_follow_the_choice():
    full = codegen.kernel_spec("montbrio", dtype="float32")
    fewer = codegen.kernel_spec(full.model.with_coupling_terms(["Coupling_Term_r"]),
                                dtype="float32")
    assert codegen.spec_hash(full, "cuda") != codegen.spec_hash(fewer, "cuda")
    assert len(codegen.history_channels(fewer)) == 1
    source = codegen.generate(fewer, target="cuda")
    assert "gx_1" not in source and "gx_0" in source


@pytest.fixture(scope="module")
def study_config(repo_root):
    """The tiny study without its hand-written coupling_terms (MontbrioPazoRoxin, cv = 0)."""
    import yaml

    config = yaml.safe_load((repo_root / "config" / "studies" / "tiny.yaml").read_text())
    config["model"].pop("coupling_terms")
    assert "cv" not in config["sweep"]
    return config


def test_a_study_chooses_the_terms_from_its_whole_sweep(study_config):
    study = load_study(study_config, validate=True)
    assert study.kernel_settings()["model"]["coupling_terms"] == ["Coupling_Term_r"]
    assert study.simulate.with_automatic_terms().kernel.spec().model.coupling_terms[0].name \
        == "Coupling_Term_r"
    swept = {**study_config, "sweep": {**study_config["sweep"], "cv": [0.0, 0.5]}}
    assert load_study(swept, validate=True).kernel_settings()["model"]["coupling_terms"] \
        is None
    named = {**study_config, "model": {**study_config["model"],
                                       "coupling_terms": ["Coupling_Term_V", "Coupling_Term_r"]}}
    assert load_study(named, validate=True).kernel_settings()["model"]["coupling_terms"] \
        == ["Coupling_Term_V", "Coupling_Term_r"]  # a study's own choice stands
