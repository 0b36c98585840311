"""Separable couplings without running a kernel: the declarations in couplings.yaml, their
check against ``pre``, the history channels a spec gets, its hash, and the generated sources
(the factorised ones read no ``pre`` per connection; tests/backends/test_factorised_coupling.py
compiles and runs them)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from brainsweep import codegen
from brainsweep.codegen.channels import history_channels, needs_row_sums, term_sums
from brainsweep.codegen.generate import spec_hash
from brainsweep.dsl import ir, list_couplings, load_coupling
from brainsweep.dsl.evaluate import evaluate
from brainsweep.dsl.separable import parse_separable
from brainsweep.dsl.yamlsource import read_lined_yaml
from brainsweep.errors import InputError

SEPARABLE = {"kuramoto", "kuramoto_mean_field", "difference"}


def test_the_shipped_separable_couplings_are_declared_and_equal_pre():
    declared = {name for name in list_couplings() if load_coupling(name).separable}
    assert declared == SEPARABLE
    # independent of the loader's own check: sin(a - b) and a - b at other points
    rng = np.random.default_rng(7)
    xi, xj = rng.uniform(-50.0, 50.0, (2, 1000))
    env = {"x_i": xi, "x_j": xj, "x_i0": xi, "x_j0": xj}
    for name in SEPARABLE:
        coupling = load_coupling(name)
        parts = sum(evaluate(p.target, env) * evaluate(p.source, env)
                    for p in coupling.separable)
        np.testing.assert_allclose(parts, evaluate(coupling.pre, env), rtol=0, atol=1e-13)


def _declare(tmp_path: Path, pre: str, entries: str):
    path = tmp_path / "couplings.yaml"
    path.write_text(f"c:\n  pre: {pre}\n  post: a * gx\n  global: a\n"
                    f"  parameters: {{a: {{default: 1.0}}}}\n  separable:\n{entries}")
    doc = read_lined_yaml(path)
    from brainsweep.dsl.parse import parse_expression
    from brainsweep.dsl.parts import COUPLING_INPUTS

    spec = doc.data["c"]
    pre_ir = parse_expression(spec["pre"], known={"a", *COUPLING_INPUTS})
    return path, lambda: parse_separable(spec["separable"], parameters={"a"}, pre=pre_ir,
                                         doc=doc, name="c")


@pytest.mark.parametrize(("pre", "entries", "message", "field"), [
    # cos x_j cos x_i + sin x_j sin x_i is cos(x_j - x_i), not sin
    ("sin(x_j - x_i)", "    - {target: cos(x_i), source: cos(x_j)}\n"
                       "    - {target: sin(x_i), source: sin(x_j)}\n",
     "do not add up to pre", "c.separable"),
    ("x_j - x_i", "    - {target: 1.0, source: x_j - x_i}\n", "unknown symbol 'x_i'",
     "c.separable[0].source"),
    ("a * x_j", "    - {target: 1.0, source: a * x_j}\n", "unknown symbol 'a'",
     "c.separable[0].source"),
    ("x_j", "    - {target: 1.0, source: x_j1}\n", "which pre does not read",
     "c.separable[0]"),
    ("x_j", "    - {target: 1.0}\n", "exactly the keys target and source", "c.separable[0]"),
])
def test_a_wrong_declaration_names_the_file_and_key(tmp_path, pre, entries, message, field):
    path, parse = _declare(tmp_path, pre, entries)
    with pytest.raises(InputError, match=message) as error:
        parse()
    assert error.value.field == field and str(path) in str(error.value)


def test_a_right_declaration_with_a_parameter_in_the_target_loads(tmp_path):
    _, parse = _declare(tmp_path, "a * (x_j - x_i)", "    - {target: a, source: x_j}\n"
                                                     "    - {target: -a * x_i, source: 1}\n")
    parts = parse()
    assert [p.constant for p in parts] == [False, True]


def test_channels_of_kuramoto_are_sine_and_cosine_of_the_phase():
    spec = codegen.kernel_spec("kuramoto", coupling="kuramoto_mean_field", dtype="float32")
    assert spec.factorise
    channels = history_channels(spec)
    assert [c.expr for c in channels] == [ir.Call("sin", (ir.Sym("theta"),)),
                                          ir.Call("cos", (ir.Sym("theta"),))]
    assert not needs_row_sums(spec)
    sums = term_sums(spec, spec.model.coupling_terms[0])
    assert [channel for _, channel, _ in sums.parts] == [0, 1]


def test_difference_keeps_the_state_and_reads_row_sums():
    spec = codegen.kernel_spec("epileptor", coupling="difference")
    assert [c.expr for c in history_channels(spec)] == [
        ir.Sym(name) for name in spec.model.coupled_states]
    assert needs_row_sums(spec)


def test_unfactorised_specs_keep_their_hash_and_channels():
    linear = codegen.kernel_spec("montbrio", coupling="linear")
    assert not linear.factorise  # nothing declared: nothing to factorise
    assert linear == codegen.kernel_spec("montbrio", coupling="linear", factorise=False)
    on = codegen.kernel_spec("kuramoto", coupling="kuramoto")
    off = codegen.kernel_spec("kuramoto", coupling="kuramoto", factorise=False)
    assert spec_hash(on, "cuda") != spec_hash(off, "cuda")
    assert [c.expr for c in history_channels(off)] == [ir.Sym("theta")]


@pytest.mark.parametrize("target", ["numba", "cuda", "opencl"])
def test_factorised_sources_read_no_pre_per_connection(target):
    on = codegen.generate("kuramoto", target=target, coupling="kuramoto", dtype="float32")
    off = codegen.generate("kuramoto", target=target, coupling="kuramoto", dtype="float32",
                           factorise=False)
    # the unfactorised kernel evaluates sin of a difference per connection; the factorised
    # one stores sin and cos per node and reads plain products per connection
    assert re.search(r"sinf?\(xj_0 - s_theta\)", off)
    assert not re.search(r"sinf?\(xj", on)
    assert re.search(r"cos\w*\(s_theta\) \* gx_0_0(\[i\])? \+ -(math\.)?sin\w*\(s_theta\) "
                     r"\* gx_0_1", on)
    diff = codegen.generate("sup_hopf", target=target, coupling="difference")
    assert "row_sums[i]" in diff

