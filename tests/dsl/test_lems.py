"""RateML LEMS XML import: the mapping itself, errors that name file and line, and each shipped
RateML file generated with its own coupling, run on Numba and on OpenCL (PoCL) and checked
against the float64 oracle (cases, steps and the bound in tests/model_cases.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from brainsweep import codegen, reference, simulate
from brainsweep.backends.opencl_target import OpenCLTarget
from brainsweep.codegen import kernel_spec
from brainsweep.dsl import ir, load_model
from brainsweep.dsl.evaluate import evaluate
from brainsweep.dsl.lems import coupling_from_lems, read_lems, translate_expression
from brainsweep.errors import InputError
from model_cases import (
    N_REGIONS,
    RATEML_CASES,
    RTOL,
    initial_state,
    relative_error,
    run_oracle,
    run_target,
    subnetwork,
)

ROOT = Path(__file__).resolve().parents[2]
XML = ROOT / "resources" / "rateml-xml"
RATEML_MODELS = ("kuramoto", "montbrio", "epileptor", "rwongwang", "oscillator")
OPENCL_OK, OPENCL_WHY = OpenCLTarget.available()
needs_opencl = pytest.mark.skipif(not OPENCL_OK, reason=f"OpenCL unavailable: {OPENCL_WHY}")


# --- expression syntax --------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("{V^2}", "(V ** 2)"),
    ("a * x^2 + b", "a * x ** 2 + b"),  # a bare ^ binds like a power, not like XOR
    ("1.0f / n_node", "1.0 / n_node"),
    ("x < 0.0 && y > 1e-3", "x < 0.0 and y > 1e-3"),
])
def test_translate_expression(text, expected):
    assert translate_expression(text) == expected


def test_bare_power_has_power_precedence():
    expr = read_expr("-a * x1^2 + b * x1", {"a": 1.0, "b": 3.0, "x1": -2.0})
    assert expr == pytest.approx(-1.0 * 4.0 + 3.0 * -2.0)


def read_expr(text: str, env: dict[str, float]) -> float:
    from brainsweep.dsl.parse import parse_expression

    return float(evaluate(parse_expression(translate_expression(text), known=set(env)), env))


# --- the mapping of the shipped files --------------------------------------------------------
def test_kuramoto_mapping():
    imported = read_lems(XML / "kuramoto.xml")
    model, coupling = imported.model, imported.coupling
    assert model.state_names == ("V",)
    assert [(t.name, t.variable) for t in model.coupling_terms] == [("c_pop0", "V")]
    assert model.defaults["omega"] == pytest.approx(60.0 * 2.0 * 3.1415927 / 1e3)
    # the file's exposure="-2, 1" are RateML boundaries: kept (see docs/models.md)
    assert (model.states[0].lower, model.states[0].upper) == (-2.0, 1.0)
    # c_pop0 = global_coupling * sum_j w_ij * a * sin(V_j - V)
    x_i, x_j = np.array([[0.3]]), np.array([[1.1]])
    pre = evaluate(coupling.pre, {"a": 2.0, "x_i": x_i, "x_j": x_j})
    assert pre == pytest.approx(2.0 * np.sin(0.8))
    assert evaluate(coupling.post, {"global_coupling": 0.5, "gx": 3.0, "N": 7.0}) == 1.5
    assert coupling.global_parameter == "global_coupling"
    # nsig = sqrt(dt) sqrt(2 * 1e-5) is TVB's sqrt(2 D dt) with D = 1e-5
    assert imported.noise == pytest.approx(1e-5) and imported.noise_exact
    assert all(s.noise == pytest.approx(1e-5) for s in model.states)
    assert load_model(XML / "kuramoto.xml") == model


def test_epileptor_mapping():
    imported = read_lems(XML / "epileptor.xml")
    model = imported.model
    assert model.state_names == ("x1", "y1", "z", "x2", "y2", "g")
    assert model.coupled_states == ("x1",)
    auxiliaries = dict(model.auxiliaries)
    # the second coupling type has no pre/post: it defines c_pop1 = g locally
    assert auxiliaries["c_pop1"] == ir.Sym("g")
    env = {**model.defaults, "z": 3.0, "x2": -1.0, "ztmp": -1.0}
    # ConditionalDerivedVariable → where(): both branches
    assert evaluate(auxiliaries["ydot0"], {**env, "x1": -1.0}) == pytest.approx(-1.0 - 3.0)
    assert evaluate(auxiliaries["ydot0"], {**env, "x1": 1.0}) == pytest.approx(0.0 + 1.0 + 0.6)
    # the bare `modification` condition is C truth (non-zero)
    h_env = {**env, "x1": -1.0, "ydot2": 0.0}
    assert evaluate(auxiliaries["h"], h_env) == pytest.approx(4.0 * (-1.0 + 1.6))
    assert evaluate(auxiliaries["h"], {**h_env, "modification": 1.0}) == pytest.approx(
        -1.6 + 3.0 / (1.0 + np.exp(5.0)))
    assert imported.speed is None and imported.speed_range == (0.0, 2.0)
    assert imported.global_coupling_range == (1.6, 3.0)
    assert imported.noise == 0.0  # the noise type is commented out


def test_reserved_and_repeated_names():
    oscillator = read_lems(XML / "oscillator.xml").model
    assert "e_" in oscillator.parameter_names and "e" not in oscillator.parameter_names
    assert oscillator.parameter("e_").default == 3.0
    wong_wang = read_lems(XML / "rwongwang.xml").model  # J_NMDA is declared twice, equal
    assert wong_wang.parameter("J_NMDA").default == 0.15
    assert wong_wang.parameter("gamma_E").default == pytest.approx(0.641 / 1000.0)
    assert (wong_wang.states[0].lower, wong_wang.states[0].upper) == (0.0, 1.0)


def test_montbrio_mapping():
    imported = read_lems(XML / "montbrio.xml")
    model = imported.model
    assert imported.speed == 1.0  # rec_speed_dt = 1.0f / 1.0 / dt
    # nsig = 0.01 per step whatever dt: reproduced at dt = 1 only
    assert imported.noise == pytest.approx(0.5e-4) and not imported.noise_exact
    r = model.states[0]
    assert (r.lower, r.upper) == (0.0, None) and r.initial == 0.0  # inside its boundary
    assert model.parameter("Delta").range == (0.0, 10.0)
    assert coupling_from_lems(XML / "montbrio.xml").defaults == {"global_coupling": 0.33}


# --- errors name the file and the line -------------------------------------------------------
GOOD = """<Lems description="test">
    <ComponentType name="derivatives">
        <Constant name="tau" dimension="" value="2.0"/>
        <Exposure name="x" dimension="x"/>
        <Dynamics>
            <StateVariable name="x" dimension="0.5" exposure="None"/>
            <TimeDerivative variable="dx" value="-x / tau + c_pop0"/>
        </Dynamics>
    </ComponentType>
    <ComponentType name="coupling_function">
        <Parameter name="x_j" dimension='0'/>
        <DerivedParameter name="c_pop0" value="global_coupling * rec_n"/>
        <Dynamics>
            <DerivedVariable name="pre" value="x_j - x"/>
            <DerivedVariable name="post" value="1"/>
        </Dynamics>
    </ComponentType>
</Lems>
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.xml"
    path.write_text(text)
    return path


def test_minimal_file(tmp_path):
    imported = read_lems(write(tmp_path, GOOD))
    assert imported.model.states[0].initial == 0.5
    # rec_n is 1 / N; the missing global_coupling Parameter defaults to 1
    post = evaluate(imported.coupling.post, {"global_coupling": 1.0, "gx": 6.0, "N": 3.0})
    assert post == pytest.approx(2.0)


@pytest.mark.parametrize(("old", "new", "line", "words"), [
    ('value="-x / tau + c_pop0"', 'value="-x / tau + c_pop0 + y"', 7, "unknown symbol 'y'"),
    ('value="-x / tau + c_pop0"', 'value="-x / tau +* c_pop0"', 7, "syntax"),
    ('value="-x / tau + c_pop0"', 'value="-x / tau + cbrt(c_pop0)"', 7, "unknown function"),
    ('value="-x / tau + c_pop0"', 'value="-x / tau + pow(c_pop0)"', 7, "argument"),
    ('<TimeDerivative variable="dx" value="-x / tau + c_pop0"/>', "", 6, "no <TimeDerivative>"),
    ('value="x_j - x"', 'value="x_j - z"', 14, "unknown symbol 'z'"),
    ('exposure="None"', 'exposure="PI"', 6, "wrap"),
    ('<Parameter name="x_j" dimension=\'0\'/>', '<Parameter name="x_j" dimension=\'3\'/>', 11,
     "state index"),
    ("</Dynamics>\n    </ComponentType>\n    <ComponentType", "</Dynamic>", 8, "XML"),
])
def test_errors_name_file_and_line(tmp_path, old, new, line, words):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(InputError) as caught:
        read_lems(path)
    message = str(caught.value)
    assert f"{path}:{line}" in message, message
    assert words in message, message


def test_conflicting_duplicate_constant(tmp_path):
    path = write(tmp_path, GOOD.replace(
        '<Constant name="tau" dimension="" value="2.0"/>',
        '<Constant name="tau" dimension="" value="2.0"/>\n'
        '        <Constant name="tau" dimension="" value="3.0"/>'))
    with pytest.raises(InputError, match=rf"{path}:4.*tau.*different values"):
        read_lems(path)


# --- every shipped RateML file runs on every CPU target and matches the oracle ---------------
# (CUDA: tests/backends/test_cuda_compile.py compiles them, tests/gpu/test_models_gpu.py runs them)
@pytest.fixture(scope="module")
def network(hcp_connectome) -> SimpleNamespace:
    return subnetwork(hcp_connectome)


@pytest.fixture(scope="module")
def rateml_oracle(network):
    """``get(name)``: (model, initial state, oracle trajectory) of one file, computed once."""
    store = {}

    def get(name: str):
        if name not in store:
            case, model = RATEML_CASES[name], load_model(XML / f"{name}.xml")
            initial = initial_state(model, N_REGIONS, case.perturbation, seed=len(name))
            ref = run_oracle(network, model, case, integrator="euler", initial=initial)
            assert not ref.diverged
            store[name] = model, initial, ref.raw
        return store[name]

    return get


def test_every_rateml_file_has_a_case():
    assert set(RATEML_MODELS) == set(RATEML_CASES)
    assert {p.stem for p in XML.glob("*.xml")} == {*RATEML_MODELS, "model_template"}


@pytest.mark.parametrize("target", ["numba", pytest.param("opencl", marks=needs_opencl)])
@pytest.mark.parametrize("name", RATEML_MODELS)
def test_rateml_file_runs_and_matches_oracle(network, rateml_oracle, name, target):
    """Generated and run unchanged: no coupling given, so the file's own is used."""
    model, initial, ref = rateml_oracle(name)
    source = codegen.generate(XML / f"{name}.xml", target=target, dtype="float64")
    assert f"from {XML / name}.xml" in source
    out = run_target(network, XML / f"{name}.xml", RATEML_CASES[name], target=target,
                     integrator="euler", initial=initial)
    assert "coupling.global_coupling" in out.parameter_names  # the file's, not "linear"
    assert not out.diverged[0] and np.all(np.isfinite(out.raw))
    assert relative_error(out.raw[0], ref) <= RTOL


def test_default_coupling_is_the_files_own():
    for name in RATEML_MODELS:
        imported = read_lems(XML / f"{name}.xml")
        assert imported.model.default_coupling == imported.coupling is not None
        for model in (XML / f"{name}.xml", str(XML / f"{name}.xml"), imported.model):
            assert kernel_spec(model).coupling == imported.coupling
        # a coupling the caller names still wins
        assert kernel_spec(XML / f"{name}.xml", coupling="linear").coupling.name == "linear"
    assert load_model("montbrio").default_coupling is None
    assert kernel_spec("montbrio").coupling.name == "linear"


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # the divergence is the point
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_rateml_epileptor_diverges_as_written():
    """The file's Epileptor diverges (numba and oracle agree); TVB's, shipped, does not."""
    conn = SimpleNamespace(weights=np.array([[0.0, 1.0], [1.0, 0.0]]),
                           lengths=np.full((2, 2), 20.0))
    imported = read_lems(XML / "epileptor.xml")
    start = np.array([s.initial for s in imported.model.states])[:, None] * np.ones((1, 2))
    as_written = simulate.run(conn, imported.model, dt=0.05, n_steps=400, integrator="euler",
                              coupling=imported.coupling, params={"speed": 2.0},
                              stochastic=False, monitors=("raw",), initial_state=start)
    spec = kernel_spec(imported.model, coupling=imported.coupling, integrator="euler",
                       stochastic=False)
    ref = reference.simulate_one(
        spec, weights=conn.weights, lengths=conn.lengths,
        params=dict(zip(as_written.parameter_names, as_written.parameters[0], strict=True)),
        dt=0.05, n_steps=400, initial=start, noise=np.zeros(6))
    assert as_written.diverged[0] and ref.diverged
    assert np.all(np.isnan(as_written.raw))  # a diverged simulation is masked whole
    tvb = simulate.run(conn, "epileptor", dt=0.05, n_steps=400, integrator="euler",
                       coupling="difference", stochastic=False, monitors=("raw",),
                       initial_state=start)
    assert not tvb.diverged[0] and np.all(np.isfinite(tvb.raw))
