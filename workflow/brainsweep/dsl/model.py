"""Neural mass model descriptions: YAML files → immutable :class:`Model` objects.

A model is data: parameters (default, unit, range, description), state variables (initial
value, bounds, noise), derivatives as expressions, the coupling terms (the state variable, or
the list of them, whose delayed values each reads), auxiliaries (named intermediate
expressions) and the observables (``bold``: what drives the BOLD monitor, which may read
auxiliaries and coupling terms; the temporal average records every state variable). See
``kernels/models/montbrio.yaml`` for a documented example.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brainsweep.dsl import ir
from brainsweep.dsl.parse import caret_to_power, parse_expression
from brainsweep.dsl.parts import (
    COUPLING_INPUTS,
    CouplingTerm,
    Parameter,
    StateVariable,
    kernels_dir,
)
from brainsweep.dsl.yamlsource import LinedYaml, read_lined_yaml
from brainsweep.errors import InputError

if TYPE_CHECKING:
    from brainsweep.dsl.coupling import Coupling

__all__ = [
    "OBSERVABLES",
    "CouplingTerm",
    "Model",
    "Parameter",
    "StateVariable",
    "kernels_dir",
    "model_from_yaml",
]

# Observables a model may define: an expression of states, parameters, coupling terms and
# auxiliaries, evaluated on each new state (coupling terms: the input held over the step that
# produced it). ``bold`` drives the Balloon-Windkessel model (default: the first state).
OBSERVABLES = ("bold",)
_RESERVED = {"t", "dt", "N", "gx", *COUPLING_INPUTS, *ir.CONSTANTS, *ir.FUNCTIONS, "where"}


@dataclass(frozen=True)
class Model:
    """An immutable, validated neural mass model.

    Examples
    --------
    >>> from brainsweep.dsl import load_model
    >>> model = load_model("montbrio")
    >>> model.state_names, model.coupled_states
    (('r', 'V'), ('r', 'V'))
    """

    name: str
    parameters: tuple[Parameter, ...]
    states: tuple[StateVariable, ...]
    coupling_terms: tuple[CouplingTerm, ...]
    auxiliaries: tuple[tuple[str, ir.Expr], ...] = ()
    observables: Mapping[str, ir.Expr] = field(default_factory=dict)
    time_unit_s: float = 1e-3
    description: str = ""
    references: tuple[str, ...] = ()
    source: str = ""
    # The coupling function the model's own file declares (RateML's LEMS files do; the YAML
    # files leave it to the study): what kernel_spec and simulate.run use when given none.
    default_coupling: Coupling | None = None

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    @property
    def coupled_states(self) -> tuple[str, ...]:
        """State variables whose delayed values feed the coupling terms, in term order."""
        seen: list[str] = []
        for term in self.coupling_terms:
            for variable in term.variables:
                if variable not in seen:
                    seen.append(variable)
        return tuple(seen)

    def for_coupling(self, coupling: Coupling) -> Model:
        """The model as ``coupling`` reads it: each term keeps the variables the coupling reads.

        A single-variable coupling reads a term's first variable (TVB's coupling row 0 of a
        model with several cvars), so the delay history holds only what is read; a coupling
        that reads more variables than a term lists is an error naming both.
        """
        needed = coupling.n_inputs
        terms = []
        for term in self.coupling_terms:
            if len(term.variables) < needed:
                raise InputError(
                    f"coupling {coupling.name} reads {needed} variables of each coupling term, "
                    f"but {self.name}'s term {term.name!r} lists {list(term.variables)}; list "
                    f"{needed} state variables there", source=self.source or None,
                    field=f"coupling_terms.{term.name}")
            terms.append(replace(term, variables=term.variables[:needed]))
        return replace(self, coupling_terms=tuple(terms))

    @property
    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.parameters}

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise InputError(
            f"model {self.name} has no parameter {name!r}; known: {list(self.parameter_names)}",
            source=self.source or None,
        )

    def with_defaults(self, **values: float) -> Model:
        """A copy with other default values (unknown names are an error)."""
        params = []
        for p in self.parameters:
            params.append(replace(p, default=float(values.pop(p.name))) if p.name in values
                          else p)
        if values:
            self.parameter(next(iter(values)))  # raises, naming the unknown one
        return replace(self, parameters=tuple(params))

    def with_coupling_terms(self, active: tuple[str, ...] | list[str]) -> Model:
        """A copy in which only the ``active`` coupling terms exist; the others read 0.

        A term whose weight is zero in a study (MontbrioPazoRoxin's ``cv = 0``) still costs a
        full network sum per step; dropping it gives the same trajectories at less cost.
        """
        names = [t.name for t in self.coupling_terms]
        unknown = set(active) - set(names)
        if unknown or not active:
            raise InputError(f"active coupling terms must be a non-empty subset of {names}, got "
                             f"{list(active)}", source=self.source or None,
                             field="coupling_terms")
        zero = {name: ir.Num(0.0) for name in names if name not in active}
        return replace(
            self,
            coupling_terms=tuple(t for t in self.coupling_terms if t.name in active),
            states=tuple(replace(s, derivative=ir.substitute(s.derivative, zero))
                         for s in self.states),
            auxiliaries=tuple((n, ir.substitute(e, zero)) for n, e in self.auxiliaries),
            observables={k: ir.substitute(e, zero) for k, e in self.observables.items()},
        )

    def with_initial(self, **values: float) -> Model:
        """A copy with other initial values (also the constant history before t = 0)."""
        unknown = set(values) - set(self.state_names)
        if unknown:
            raise InputError(
                f"model {self.name} has no state variable(s) {sorted(unknown)}; "
                f"known: {list(self.state_names)}", source=self.source or None,
                field="initial")
        states = tuple(replace(s, initial=float(values.get(s.name, s.initial)))
                       for s in self.states)
        return replace(self, states=states)

    def with_noise(self, **values: float) -> Model:
        """A copy with other noise intensities per state variable."""
        unknown = set(values) - set(self.state_names)
        if unknown:
            raise InputError(
                f"model {self.name} has no state variable(s) {sorted(unknown)} for noise; "
                f"known: {list(self.state_names)}"
            )
        states = tuple(replace(s, noise=float(values.get(s.name, s.noise))) for s in self.states)
        return replace(self, states=states)


def _number(value: Any, where: str, field_name: str, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"expected a number, got {value!r}", source=where, field=field_name)
    return float(value)


def model_from_yaml(path: str | Path) -> Model:
    """Parse and validate one YAML model file."""
    doc = read_lined_yaml(path)
    return model_from_mapping(doc)


def model_from_mapping(doc: LinedYaml) -> Model:
    data = doc.data
    if not isinstance(data, dict):
        raise InputError("a model file must be a mapping", source=doc.source)
    for key in ("name", "parameters", "state_variables", "derivatives"):
        if key not in data:
            raise InputError(f"missing required key {key!r}", source=doc.where(), field=key)
    known_keys = {"name", "description", "references", "time_unit", "parameters",
                  "state_variables", "coupling_terms", "auxiliaries", "derivatives",
                  "observables"}
    for key in data:
        if key not in known_keys:
            raise InputError(f"unknown key {key!r}; known: {sorted(known_keys)}",
                             source=doc.where(key), field=key)

    parameters = []
    for name, spec in (data["parameters"] or {}).items():
        where = doc.where("parameters", name)
        _check_name(name, where, "parameters")
        if not isinstance(spec, dict):
            spec = {"default": spec}
        rng = spec.get("range")
        if rng is not None:
            if not (isinstance(rng, list) and len(rng) == 2):
                raise InputError("range must be [low, high]", source=where,
                                 field=f"parameters.{name}.range")
            rng = (_number(rng[0], where, "range"), _number(rng[1], where, "range"))
        parameters.append(Parameter(
            name=name,
            default=_number(spec.get("default"), where, f"parameters.{name}.default"),
            unit=str(spec.get("unit", "")),
            range=rng,
            description=str(spec.get("description", "")).strip(),
        ))
    param_names = {p.name for p in parameters}

    state_specs = data["state_variables"] or {}
    if not isinstance(state_specs, dict) or not state_specs:
        raise InputError("state_variables must be a non-empty mapping",
                         source=doc.where("state_variables"), field="state_variables")
    state_names = list(state_specs)
    for name in state_names:
        _check_name(name, doc.where("state_variables", name), "state_variables")
        if name in param_names:
            raise InputError(f"{name!r} is both a parameter and a state variable",
                             source=doc.where("state_variables", name), field=name)

    terms = []
    for name, listed in (data.get("coupling_terms") or {}).items():
        where = doc.where("coupling_terms", name)
        _check_name(name, where, "coupling_terms")
        # one state variable, or a list of them for couplings that read several (TVB's cvar)
        variables = listed if isinstance(listed, list) else [listed]
        if not variables or len(set(variables)) != len(variables):
            raise InputError(f"coupling term {name!r} must name one state variable or a list "
                             f"of distinct ones, got {listed!r}", source=where,
                             field=f"coupling_terms.{name}")
        for variable in variables:
            if variable not in state_specs:
                raise InputError(f"coupling term {name!r} reads {variable!r}, which is not a "
                                 f"state variable ({state_names})", source=where,
                                 field=f"coupling_terms.{name}")
        terms.append(CouplingTerm(name=name, variables=tuple(variables)))

    known = set(param_names) | set(state_names) | {t.name for t in terms}
    _check_auxiliary_order(data.get("auxiliaries") or {}, doc)
    auxiliaries = []
    for name, text in (data.get("auxiliaries") or {}).items():
        where = doc.source
        _check_name(name, doc.where("auxiliaries", name), "auxiliaries")
        expr = parse_expression(text, known=known, source=where,
                                line=doc.line("auxiliaries", name), field=f"auxiliaries.{name}")
        auxiliaries.append((name, expr))
        known.add(name)

    derivatives = data["derivatives"] or {}
    states = []
    for name in state_names:
        spec = state_specs[name] or {}
        where = doc.where("state_variables", name)
        if name not in derivatives:
            raise InputError(f"state variable {name!r} has no derivative", source=where,
                             field=f"derivatives.{name}")
        bounds = spec.get("bounds", [None, None])
        if not (isinstance(bounds, list) and len(bounds) == 2):
            raise InputError("bounds must be [low, high] (null for none)", source=where,
                             field=f"state_variables.{name}.bounds")
        states.append(StateVariable(
            name=name,
            initial=_number(spec.get("initial", 0.0), where, f"state_variables.{name}.initial"),
            derivative=parse_expression(derivatives[name], known=known, source=doc.source,
                                        line=doc.line("derivatives", name),
                                        field=f"derivatives.{name}"),
            lower=_number(bounds[0], where, "bounds", allow_none=True),
            upper=_number(bounds[1], where, "bounds", allow_none=True),
            noise=_number(spec.get("noise", 0.0), where, f"state_variables.{name}.noise"),
            line=doc.line("derivatives", name),
        ))
    for name in derivatives:
        if name not in state_specs:
            raise InputError(f"derivative given for {name!r}, which is not a state variable",
                             source=doc.where("derivatives", name), field=f"derivatives.{name}")

    observables = {}
    for name, text in (data.get("observables") or {}).items():
        if name not in OBSERVABLES:
            raise InputError(f"unknown observable {name!r}; known: {list(OBSERVABLES)}",
                             source=doc.where("observables", name), field=f"observables.{name}")
        observables[name] = parse_expression(
            text, known=known, source=doc.source, line=doc.line("observables", name),
            field=f"observables.{name}")

    unit = data.get("time_unit", "ms")
    units = {"ms": 1e-3, "s": 1.0}
    if unit not in units:
        raise InputError(f"time_unit must be one of {list(units)}", source=doc.where("time_unit"),
                         field="time_unit")
    refs = data.get("references") or []
    return Model(
        name=str(data["name"]),
        parameters=tuple(parameters),
        states=tuple(states),
        coupling_terms=tuple(terms),
        auxiliaries=tuple(auxiliaries),
        observables=observables,
        time_unit_s=units[unit],
        description=str(data.get("description", "")).strip(),
        references=tuple(str(r) for r in refs),
        source=doc.source,
    )


def _names_read(text: Any) -> set[str]:
    """The bare names an expression reads (empty for a number or unparsable text: the parser
    reports those)."""
    import ast

    if not isinstance(text, str):
        return set()
    try:
        tree = ast.parse(caret_to_power(text.strip()), mode="eval")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _check_auxiliary_order(texts: dict[str, Any], doc) -> None:
    """Auxiliaries are evaluated in the order written: one reading itself or, through
    others, itself is circular; one reading a later one must be moved below it. Either is
    named here, not reported as an unknown symbol."""
    names = list(texts)
    reads = {name: _names_read(text) & set(names) for name, text in texts.items()}

    def cycle_from(start: str) -> list[str] | None:
        path, seen = [start], set()

        def walk(node: str) -> list[str] | None:
            for nxt in sorted(reads[node]):
                if nxt == start:
                    return [*path, start]
                if nxt not in seen:
                    seen.add(nxt)
                    path.append(nxt)
                    found = walk(nxt)
                    if found:
                        return found
                    path.pop()
            return None

        return walk(start)

    for position, name in enumerate(names):
        cycle = cycle_from(name)
        if cycle:
            raise InputError(f"circular auxiliaries: {' -> '.join(cycle)}; an auxiliary may "
                             "read only those written above it",
                             source=doc.where("auxiliaries", name), field=f"auxiliaries.{name}")
        later = sorted(reads[name] & set(names[position + 1:]))
        if later:
            raise InputError(f"auxiliary {name!r} reads {later[0]!r}, which is written below "
                             f"it: auxiliaries are evaluated in the order written; move "
                             f"{later[0]!r} above {name!r}", source=doc.where("auxiliaries", name),
                             field=f"auxiliaries.{name}")


def _check_name(name: Any, where: str, section: str) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise InputError(f"{name!r} is not a valid name", source=where, field=section)
    if name in _RESERVED:
        raise InputError(f"{name!r} is reserved; choose another name", source=where,
                         field=section)
