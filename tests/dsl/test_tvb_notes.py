"""The notes of benchmarks/tvb_side_by_side.py (how each model runs beside TVB's simulator)
name shipped models, their parameters and state variables: a renamed parameter or a typo
would otherwise reach TVB as a silently ignored attribute. TVB itself is not needed here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from brainsweep.dsl import list_models, load_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location(
        "tvb_side_by_side", ROOT / "benchmarks" / "tvb_side_by_side.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@pytest.fixture(scope="module")
def shipped():
    return {model.name: model for model in map(load_model, list_models().values())}


def every_note(script):
    yield from script.MODEL_NOTES.items()
    for _label, name, note in (*script.VARIANTS, *script.COUPLINGS):
        yield name, note


def test_every_note_names_a_shipped_model_and_its_parameters(script, shipped):
    for name, note in every_note(script):
        assert name in shipped, f"{name}: no shipped model file of that name"
        unknown = set(note.params) - set(shipped[name].parameter_names)
        assert not unknown, f"{name}: {sorted(unknown)} are not parameters of its file"
        assert note.coupling in script.BRAINSWEEP_COUPLING
        assert 0.0 < note.dt <= script.DT
        assert 0.0 < note.start_span <= 1.0, f"{name}: the start leaves TVB's state range"


def test_every_mapping_names_the_files_own_parameters_and_states(script, shipped):
    for name, mapping in script.MAPPINGS.items():
        model = shipped[name]
        parts = [part for array in mapping.arrays.values() for part in array]
        unknown = (set(mapping.names) | set(parts)) - set(model.parameter_names)
        assert not unknown, f"{name}: {sorted(unknown)} are not parameters of its file"
        assert set(mapping.recorded) <= set(model.state_names)
        assert len(parts) == len(set(parts)), f"{name}: a parameter in two arrays"


def test_tvb_values_renames_and_packs_the_files_parameters(script, shipped):
    zerlaut = shipped["ZerlautAdaptationFirstOrder"]
    values = script.tvb_values(zerlaut, script.Note(params={"P_e3": 0.5}))
    assert len(values["P_e"]) == len(values["P_i"]) == 10
    assert values["P_e"][3] == 0.5 and values["P_e"][0] == zerlaut.defaults["P_e0"]
    assert not any(name.startswith(("P_e", "P_i")) and name[-1].isdigit() for name in values)
    codim3 = script.tvb_values(shipped["EpileptorCodim3"], script.Note(params={"N_": 2.0}))
    assert codim3["N"] == [2.0] and "N_" not in codim3
