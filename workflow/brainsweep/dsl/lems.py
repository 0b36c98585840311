"""RateML's LEMS XML models → the same :class:`~brainsweep.dsl.Model` IR as the YAML files.

RateML (TVB's rate-model generator, van der Vlag et al. 2022) describes a model in a LEMS
dialect. The parts read here, and where each goes:

``ComponentType name="derivatives"``
    ``Parameter`` (swept, ``dimension='lo, hi'``): ``global_coupling`` becomes the coupling's
    global parameter, ``global_speed`` the conduction speed, any other a model parameter
    (default ``lo``, range ``[lo, hi]``). ``Constant`` (``value`` or ``default``, range from
    ``dimension``/``domain="lo=…, hi=…, step=…"``): model parameters. ``DerivedParameter``:
    ``rec_n`` (``1 / n_node``), ``rec_speed_dt`` (``1 / speed / dt``) and ``nsig`` (noise
    amplitude per step) are read as simulator settings, any other becomes an auxiliary.
    ``Exposure``: the first drives BOLD. ``Dynamics``: ``StateVariable`` (``dimension``: initial
    range, ``exposure``: boundaries), ``DerivedVariable`` and ``ConditionalDerivedVariable``
    (auxiliaries, in RateML's order: plain ones first), ``TimeDerivative`` (paired with the
    state variables in order, as RateML does).
``ComponentType name="coupling…"``
    ``c_pop = value * sum_j w_ij * post * pre`` with ``pre``/``post`` reading ``<var>_j`` (the
    delayed afferent value of state variable number ``dimension``) and the node's own state.
    This maps to a coupling term on that variable and a :class:`~brainsweep.dsl.Coupling` with
    ``pre = post_rateml * pre_rateml`` and ``post = value * gx`` (``rec_n`` → ``1 / N``). A
    coupling type without pre/post is a local definition (Epileptor's ``c_pop1 = g``).
``ComponentType name="noise"``
    Present: additive noise on every state variable with TVB's intensity
    ``D = nsig**2 / (2 dt)``.

Expressions are C-like: ``{x^2}`` and ``x^2`` are powers, ``1.0f`` is a float literal, ``&&``
and ``||`` are ``and``/``or``. Every error names the XML file, line and element.
"""

from __future__ import annotations

import math
import re
import xml.parsers.expat
from dataclasses import dataclass, field
from pathlib import Path

from brainsweep.dsl import ir
from brainsweep.dsl.coupling import Coupling
from brainsweep.dsl.evaluate import evaluate
from brainsweep.dsl.model import Model
from brainsweep.dsl.parse import parse_expression
from brainsweep.dsl.parts import CouplingTerm, Parameter, StateVariable
from brainsweep.errors import InputError

__all__ = [
    "LemsImport",
    "coupling_from_lems",
    "model_from_lems",
    "read_lems",
    "translate_expression",
]

RATEML_REFERENCE = ("van der Vlag M, Woodman M, Fousek J, et al. (2022). RateML: A code "
                    "generation tool for brain network models. Front Netw Physiol 2, 826345.")

# Names a model may not use (see brainsweep.dsl.model); a RateML file that defines one gets it
# renamed with a trailing underscore, in every expression of the file.
_RESERVED = {"t", "dt", "N", "gx", "x_i", "x_j", "where", *ir.CONSTANTS, *ir.FUNCTIONS}
# RateML's simulator settings: read here, never model parameters.
_SETTINGS = {"rec_n", "rec_speed_dt", "nsig"}
_GLOBAL_COUPLING = "global_coupling"
_GLOBAL_SPEED = "global_speed"

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?P<suffix>[fF](?![\w]))?
  | (?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)
  | (?P<op>&&|\|\||\*\*|<=|>=|==|!=|[-+*/^(){}<>,!])
""", re.VERBOSE)


@dataclass(frozen=True)
class _Element:
    """One XML element with the line it starts on (ElementTree does not keep lines)."""

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_Element] = field(default_factory=list)

    def find_all(self, tag: str) -> list[_Element]:
        return [child for child in self.children if child.tag == tag]


@dataclass(frozen=True)
class LemsImport:
    """Everything read from one RateML file.

    Attributes
    ----------
    model
        The model, as :func:`brainsweep.dsl.load_model` returns it.
    coupling
        The file's network coupling function, or None when it declares none. It is also the
        model's ``default_coupling``: :func:`brainsweep.simulate.run` and
        :func:`brainsweep.codegen.kernel_spec` use it when the caller names no coupling, so
        the file runs unchanged.
    global_coupling_range, speed_range
        The sweep ranges the file declares (``Parameter dimension='lo, hi'``), if any.
    speed
        The fixed conduction speed that ``rec_speed_dt`` encodes, or None when it reads the
        swept ``global_speed`` (see ``speed_range``) or the file has no delays.
    noise
        The additive noise intensity D of every state variable (0 without a noise type).
    noise_exact
        False when ``nsig`` does not scale with ``sqrt(dt)``: then D reproduces it at dt = 1.
    """

    model: Model
    coupling: Coupling | None
    global_coupling_range: tuple[float, float] | None = None
    speed_range: tuple[float, float] | None = None
    speed: float | None = None
    noise: float = 0.0
    noise_exact: bool = True


def translate_expression(text: str, *, rename: dict[str, str] | None = None,
                         where: str = "", field_name: str | None = None) -> str:
    """RateML's C-like expression text → the DSL's (Python-like) expression text.

    ``{a^b}`` and ``a^b`` become ``(a)**b``-style powers, ``1.0f`` becomes ``1.0``, ``&&``/``||``
    become ``and``/``or``, ``numpy.pi`` stays readable by the parser, and names in ``rename``
    are renamed.

    Examples
    --------
    >>> translate_expression("1/tau * ({V^2} - {pi^2} * r) + 1.0f")
    '1 / tau * ((V ** 2) - (pi ** 2) * r) + 1.0'
    """
    rename = rename or {}
    out: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise InputError(f"cannot read {text[position:]!r} in expression {text!r}",
                             source=where or None, field=field_name)
        position = match.end()
        if match.group("space"):
            continue
        if match.group("number"):
            out.append(match.group("number"))
        elif match.group("name"):
            name = match.group("name")
            out.append(rename.get(name, name))
        else:
            op = match.group("op")
            if op == "!":
                raise InputError(f"'!' (not) is not supported in {text!r}; compare instead",
                                 source=where or None, field=field_name)
            out.append({"{": "(", "}": ")", "^": "**", "&&": "and", "||": "or"}.get(op, op))
    # one space between tokens, none inside parentheses, keeps error messages readable
    text_out = " ".join(out)
    return text_out.replace("( ", "(").replace(" )", ")").replace(" ,", ",")


def read_lems(path: str | Path) -> LemsImport:
    """Read one RateML LEMS XML file into a model, its coupling and its settings.

    Parameters
    ----------
    path
        The ``.xml`` file.

    Raises
    ------
    InputError
        Naming the file, line and element of anything that cannot be read or expressed.
    """
    return _LemsReader(Path(path)).read()


def model_from_lems(path: str | Path) -> Model:
    """The :class:`~brainsweep.dsl.Model` of a RateML LEMS XML file.

    Examples
    --------
    >>> model = model_from_lems("resources/rateml-xml/kuramoto.xml")  # doctest: +SKIP
    >>> model.state_names, model.coupled_states  # doctest: +SKIP
    (('V',), ('V',))
    """
    return read_lems(path).model


def coupling_from_lems(path: str | Path) -> Coupling:
    """The network coupling function a RateML LEMS XML file declares (an error if none)."""
    imported = read_lems(path)
    if imported.coupling is None:
        raise InputError("the file declares no network coupling (a coupling type with a "
                         "Parameter and pre/post)", source=str(path))
    return imported.coupling


def _parse_xml(path: Path) -> _Element:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", source=str(path)) from None
    parser = xml.parsers.expat.ParserCreate()
    stack: list[_Element] = []
    roots: list[_Element] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = _Element(tag=tag, attrs=dict(attrs), line=parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(tag: str) -> None:
        stack.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        # RateML's files may start with blank lines before the root (no XML declaration)
        parser.Parse(data.lstrip() if not data.lstrip().startswith(b"<?xml") else data, True)
    except xml.parsers.expat.ExpatError as err:
        raise InputError(f"not valid XML: {xml.parsers.expat.errors.messages[err.code]}",
                         source=f"{path}:{err.lineno}") from None
    if not roots or roots[0].tag != "Lems":
        raise InputError("the root element must be <Lems>", source=f"{path}:1")
    return roots[0]


def _numbers(text: str, where: str, field_name: str) -> list[float | None]:
    """``"lo, hi"`` (or ``lo=…, hi=…, step=…``) → numbers; None/inf/blank → None."""
    values: list[float | None] = []
    for part in text.split(","):
        part = part.strip()
        if "=" in part:
            part = part.split("=", 1)[1].strip()
        if part.lower() in ("", "none", "inf", "+inf", "-inf"):
            values.append(None)
            continue
        try:
            values.append(float(part.rstrip("fF")))
        except ValueError:
            raise InputError(f"expected numbers, got {text!r}", source=where,
                             field=field_name) from None
    return values


class _LemsReader:
    """One pass over one file; keeps the file name for every error."""

    def __init__(self, path: Path):
        self.path = path
        self.rename: dict[str, str] = {}

    # helpers -----------------------------------------------------------------------------
    def where(self, element: _Element) -> str:
        return f"{self.path}:{element.line}"

    def fail(self, element: _Element, message: str, field_name: str | None = None
             ) -> InputError:
        return InputError(message, source=self.where(element),
                          field=field_name or self.describe(element))

    @staticmethod
    def describe(element: _Element) -> str:
        name = element.attrs.get("name") or element.attrs.get("variable")
        return f"{element.tag}[{name}]" if name else element.tag

    def attr(self, element: _Element, *names: str, required: bool = True) -> str | None:
        for name in names:
            if name in element.attrs:
                return element.attrs[name]
        if required:
            raise self.fail(element, f"<{element.tag}> needs the attribute {names[0]!r}")
        return None

    def expression(self, element: _Element, text: str, known: set[str],
                   field_name: str | None = None) -> ir.Expr:
        label = field_name or self.describe(element)
        python = translate_expression(text, rename=self.rename, where=self.where(element),
                                      field_name=label)
        return parse_expression(python, known=known, source=str(self.path), line=element.line,
                                field=label)

    def constant(self, element: _Element, text: str, known: dict[str, float]) -> float:
        """A number, or an expression of numbers and earlier constants."""
        expr = self.expression(element, text, set(known))
        value = float(evaluate(expr, known))
        if not math.isfinite(value):
            raise self.fail(element, f"value {text!r} is not a finite number")
        return value

    def condition(self, element: _Element, text: str, known: set[str]) -> ir.Expr:
        expr = self.expression(element, text, known)
        if isinstance(expr, ir.Compare | ir.Logical):
            return expr
        # C truth: any non-zero value (Epileptor's `modification` flag)
        return ir.Compare("!=", expr, ir.Num(0.0))

    def setting(self, element: _Element, text: str, values: dict[str, float]) -> float:
        """A simulator setting's value (reads dt, n_node, global_* and numbers)."""
        expr = self.expression(element, text, set(values))
        return float(evaluate(expr, values))

    # reading -----------------------------------------------------------------------------
    def read(self) -> LemsImport:
        root = _parse_xml(self.path)
        types = root.find_all("ComponentType")
        by_name = {t.attrs.get("name", ""): t for t in types}
        if "derivatives" not in by_name:
            raise self.fail(root, "no <ComponentType name=\"derivatives\"> (the model's "
                            "dynamics)", field_name="Lems")
        derivatives = by_name["derivatives"]
        couplings = [t for name, t in by_name.items() if name.startswith("coupling")]
        has_noise = "noise" in by_name
        dynamics_list = derivatives.find_all("Dynamics")
        if len(dynamics_list) != 1:
            raise self.fail(derivatives, "the derivatives type needs exactly one <Dynamics>")
        dynamics = dynamics_list[0]

        # names the file defines that the DSL reserves get a trailing underscore
        defined = [e.attrs.get("name", "") for e in (
            *derivatives.children, *dynamics.children,
            *(c for t in couplings for c in t.children),
            *(c for t in couplings for d in t.find_all("Dynamics") for c in d.children))]
        self.rename = {name: f"{name}_" for name in defined if name in _RESERVED}

        # parameters: swept Parameters and Constants -------------------------------------
        parameters: dict[str, Parameter] = {}
        sweeps: dict[str, tuple[float, float]] = {}
        constants: dict[str, float] = {}
        for element in derivatives.find_all("Parameter"):
            name = self.attr(element, "name")
            bounds = _numbers(self.attr(element, "dimension", "domain") or "",
                              self.where(element), self.describe(element))
            if len(bounds) != 2 or None in bounds:
                raise self.fail(element, "a swept Parameter needs dimension='lo, hi'")
            low, high = float(bounds[0]), float(bounds[1])
            if name in (_GLOBAL_COUPLING, _GLOBAL_SPEED):
                sweeps[name] = (low, high)
                continue
            default_text = self.attr(element, "default", "value", required=False)
            default = low if default_text is None else self.constant(element, default_text,
                                                                     constants)
            self.add_parameter(parameters, element, Parameter(
                name=self.rename.get(name, name), default=default, range=(low, high),
                description=element.attrs.get("description", "").strip()))
        for element in derivatives.find_all("Constant"):
            name = self.attr(element, "name")
            value = self.constant(element, self.attr(element, "value", "default"), constants)
            name = self.rename.get(name, name)
            if name in parameters:
                if parameters[name].default != value:
                    raise self.fail(element, f"{name!r} is defined twice with different "
                                    f"values ({parameters[name].default} and {value})")
                continue  # RateML's files repeat some constants verbatim
            span = element.attrs.get("dimension", element.attrs.get("domain", ""))
            value_range = None
            if "lo" in span and "hi" in span:
                numbers = _numbers(span, self.where(element), self.describe(element))[:2]
                if None not in numbers:
                    value_range = (float(numbers[0]), float(numbers[1]))
            self.add_parameter(parameters, element, Parameter(
                name=name, default=value, range=value_range,
                description=" ".join(element.attrs.get("description", "").split())))
            constants[name] = value
        param_names = set(parameters)

        # settings ------------------------------------------------------------------------
        global_coupling = sweeps.get(_GLOBAL_COUPLING, (1.0, 1.0))[0]
        settings_env = {"dt": 1.0, "n_node": 1.0, _GLOBAL_COUPLING: global_coupling,
                        _GLOBAL_SPEED: sweeps.get(_GLOBAL_SPEED, (1.0, 1.0))[0], **constants}
        derived_params = []
        speed = None
        nsig_element = None
        for element in derivatives.find_all("DerivedParameter"):
            name = self.attr(element, "name")
            text = self.attr(element, "value", "expression")
            if name == "rec_speed_dt":
                reads = ir.symbols(self.expression(element, text, set(settings_env)))
                if _GLOBAL_SPEED not in reads:
                    # a fixed speed: rec_speed_dt = 1 / speed / dt, read at dt = 1
                    per_mm = self.setting(element, text, settings_env)
                    speed = 1.0 / per_mm if per_mm > 0 else None
            elif name == "nsig":
                nsig_element = element
            elif name == "rec_n":
                continue  # read as 1 / N where a coupling uses it
            else:
                derived_params.append(element)

        states_elements = dynamics.find_all("StateVariable")
        if not states_elements:
            raise self.fail(dynamics, "no <StateVariable>")
        state_names = [self.rename.get(self.attr(e, "name"), self.attr(e, "name"))
                       for e in states_elements]
        for element, name in zip(states_elements, state_names, strict=True):
            if name in param_names:
                raise self.fail(element, f"{name!r} is both a parameter and a state variable")

        # coupling types ------------------------------------------------------------------
        terms: list[CouplingTerm] = []
        local_couplings: list[tuple[str, _Element, str]] = []
        network: list[tuple[Coupling, _Element]] = []
        for ctype in couplings:
            coupling, term = self.coupling_type(ctype, state_names, global_coupling, sweeps)
            if coupling is None:
                local_couplings.append(term)
            else:
                terms.append(term)
                network.append((coupling, ctype))
        coupling_obj = network[0][0] if network else None
        for other, ctype in network[1:]:
            if (other.pre, other.post, other.parameters) != (
                    coupling_obj.pre, coupling_obj.post, coupling_obj.parameters):
                raise self.fail(ctype, "brainsweep applies one coupling function to every "
                                "coupling term; this type's pre/post/scale differ from "
                                f"{couplings[0].attrs.get('name')!r}")

        # auxiliaries, in RateML's order -------------------------------------------------
        known = param_names | set(state_names) | {t.name for t in terms}
        auxiliaries: list[tuple[str, ir.Expr]] = []

        def add_auxiliary(element: _Element, name: str, expr: ir.Expr) -> None:
            if name in known:
                raise self.fail(element, f"{name!r} is defined twice")
            auxiliaries.append((name, expr))
            known.add(name)

        for name, element, text in local_couplings:
            add_auxiliary(element, name, self.expression(element, text, known))
        for element in derived_params:
            name = self.rename.get(self.attr(element, "name"), self.attr(element, "name"))
            add_auxiliary(element, name, self.expression(
                element, self.attr(element, "value", "expression"), known))
        for element in dynamics.find_all("DerivedVariable"):
            name = self.rename.get(self.attr(element, "name"), self.attr(element, "name"))
            add_auxiliary(element, name, self.expression(
                element, self.attr(element, "value", "expression"), known))
        for element in dynamics.find_all("ConditionalDerivedVariable"):
            name = self.rename.get(self.attr(element, "name"), self.attr(element, "name"))
            add_auxiliary(element, name, self.conditional(element, known))

        # state variables and their derivatives (paired in order, as RateML's templates do)
        time_derivatives = dynamics.find_all("TimeDerivative")
        noise = 0.0
        noise_exact = True
        if has_noise:
            noise, noise_exact = self.noise(nsig_element, settings_env)
        states = []
        for index, (element, name) in enumerate(zip(states_elements, state_names,
                                                    strict=True)):
            if index >= len(time_derivatives):
                raise self.fail(element, f"state variable {name!r} has no <TimeDerivative> "
                                f"(RateML pairs them in order; found {len(time_derivatives)})")
            derivative = time_derivatives[index]
            variable = self.attr(derivative, "variable")
            if variable not in (name, f"d{name}", f"d{self.attr(element, 'name')}"):
                raise self.fail(derivative, f"TimeDerivative {variable!r} is number {index} "
                                f"and so pairs with state variable {name!r}; name it "
                                f"'d{name}' or reorder")
            lower, upper = self.bounds(element)
            initial = self.initial(element, lower, upper)
            states.append(StateVariable(
                name=name, initial=initial,
                derivative=self.expression(derivative, self.attr(derivative, "value"), known),
                lower=lower, upper=upper, noise=noise, line=derivative.line))
        if len(time_derivatives) > len(states):
            extra = time_derivatives[len(states)]
            raise self.fail(extra, "more <TimeDerivative> elements than state variables")

        # observables: what the BOLD drive reads (states, parameters, derived variables and
        # the coupling input)
        observables = {}
        exposures = derivatives.find_all("Exposure")
        for element in exposures[:1]:
            text = element.attrs.get("dimension") or self.attr(element, "name")
            observables["bold"] = self.expression(element, text, known)

        description = " ".join(root.attrs.get("description", "").split())
        model = Model(
            name=self.path.stem,
            parameters=tuple(parameters.values()),
            states=tuple(states),
            coupling_terms=tuple(terms),
            auxiliaries=tuple(auxiliaries),
            observables=observables,
            time_unit_s=1e-3,
            description=description,
            references=(f"RateML LEMS XML: {self.path.name}", RATEML_REFERENCE),
            source=str(self.path),
            default_coupling=coupling_obj,
        )
        return LemsImport(model=model, coupling=coupling_obj,
                          global_coupling_range=sweeps.get(_GLOBAL_COUPLING),
                          speed_range=sweeps.get(_GLOBAL_SPEED), speed=speed, noise=noise,
                          noise_exact=noise_exact)

    def add_parameter(self, parameters: dict[str, Parameter], element: _Element,
                      parameter: Parameter) -> None:
        if parameter.name in parameters:
            raise self.fail(element, f"{parameter.name!r} is defined twice")
        parameters[parameter.name] = parameter

    def conditional(self, element: _Element, known: set[str]) -> ir.Expr:
        """``if / else if / else`` cases → nested ``where``; no else case leaves RateML's 0."""
        cases = element.find_all("Case")
        if not cases:
            raise self.fail(element, "a ConditionalDerivedVariable needs <Case> elements")
        result: ir.Expr = ir.Num(0.0)
        branches = []
        for case in cases:
            condition = (case.attrs.get("condition") or "").strip()
            value = self.expression(case, self.attr(case, "value"), known,
                                    field_name=f"{self.describe(element)}/Case")
            if condition in ("", "else"):
                result = value
            else:
                branches.append((self.condition(case, condition, known), value))
        for condition, value in reversed(branches):
            result = ir.Where(condition, value, result)
        return result

    def bounds(self, element: _Element) -> tuple[float | None, float | None]:
        text = (element.attrs.get("exposure") or element.attrs.get("boundaries") or "").strip()
        if text.lower() in ("", "none"):
            return None, None
        if text.upper() == "PI":
            raise self.fail(element, "exposure='PI' asks RateML to wrap the phase into "
                            "[0, 2 pi); brainsweep's state bounds clamp and cannot wrap")
        values = _numbers(text, self.where(element), self.describe(element))
        if len(values) != 2:
            raise self.fail(element, f"exposure (boundaries) must be 'lo, hi', got {text!r}")
        return values[0], values[1]

    def initial(self, element: _Element, lower: float | None, upper: float | None) -> float:
        """The middle of the ``dimension`` range (RateML's Python target draws from it)."""
        text = element.attrs.get("dimension") or element.attrs.get("default") or "0.0"
        values = [v for v in _numbers(text, self.where(element), self.describe(element))
                  if v is not None]
        value = sum(values) / len(values) if values else 0.0
        if lower is not None:
            value = max(value, lower)
        if upper is not None:
            value = min(value, upper)
        return value

    def noise(self, element: _Element | None, env: dict[str, float]) -> tuple[float, bool]:
        """TVB's D from RateML's per-step amplitude: ``nsig = sqrt(2 D dt)``."""
        if element is None:
            return 0.5, True  # RateML: nsig = 1 when undefined, i.e. D = 1/2 at dt = 1
        text = self.attr(element, "value", "expression")
        at_one = self.setting(element, text, {**env, "dt": 1.0})
        at_four = self.setting(element, text, {**env, "dt": 4.0})
        exact = math.isclose(at_four, 2.0 * at_one, rel_tol=1e-9)
        return at_one**2 / 2.0, exact

    def coupling_type(self, ctype: _Element, state_names: list[str], global_coupling: float,
                      sweeps: dict[str, tuple[float, float]]):
        """One coupling type → (Coupling, term) or (None, (name, element, local expression))."""
        outputs = ctype.find_all("DerivedParameter")
        if len(outputs) != 1:
            raise self.fail(ctype, "a coupling type needs exactly one <DerivedParameter> "
                            "(the coupling variable, e.g. c_pop0)")
        output = outputs[0]
        output_name = self.rename.get(self.attr(output, "name"), self.attr(output, "name"))
        scale_text = self.attr(output, "value", "expression")
        inputs = ctype.find_all("Parameter")
        dynamics = ctype.find_all("Dynamics")
        pre_post = {self.attr(e, "name"): e for d in dynamics
                    for e in d.find_all("DerivedVariable")}
        if not inputs and not pre_post:
            # no network sum: a local definition of the coupling variable
            return None, (output_name, output, scale_text)
        if len(inputs) != 1:
            raise self.fail(ctype, "a network coupling type needs exactly one <Parameter> "
                            "(the delayed variable, dimension = its state index)")
        source = inputs[0]
        try:
            index = int(float(self.attr(source, "dimension")))
            variable = state_names[index]
        except (ValueError, IndexError):
            raise self.fail(source, f"dimension must be a state index 0..{len(state_names) - 1}"
                            ) from None
        for key in ("pre", "post"):
            if key not in pre_post:
                raise self.fail(ctype, f"a network coupling type needs a DerivedVariable "
                                f"named {key!r}")
        coupling_params: dict[str, float] = {}
        for element in ctype.find_all("Constant"):
            name = self.rename.get(self.attr(element, "name"), self.attr(element, "name"))
            coupling_params[name] = self.constant(
                element, self.attr(element, "value", "default"), coupling_params)
        delayed = self.attr(source, "name")
        # RateML's pre/post read the delayed value by the Parameter's name and the node's own
        # value by the state's name: those are x_j and x_i of a brainsweep coupling function.
        own = {variable, *(k for k, v in self.rename.items() if v == variable)}
        rename = {**self.rename, delayed: "x_j", **dict.fromkeys(own, "x_i")}
        known = set(coupling_params) | {"x_i", "x_j"}
        parts = []
        for key in ("pre", "post"):
            element = pre_post[key]
            text = self.attr(element, "value", "expression")
            python = translate_expression(text, rename=rename, where=self.where(element),
                                          field_name=f"{ctype.attrs.get('name')}/{key}")
            parts.append(parse_expression(python, known=known, source=str(self.path),
                                          line=element.line,
                                          field=f"{ctype.attrs.get('name')}/{key}"))
        pre, post = parts
        inner = pre if post == ir.Num(1.0) else ir.BinOp("*", post, pre)
        # the scale reads global_coupling, rec_n (1 / N) and the coupling's constants
        scale_known = set(coupling_params) | {_GLOBAL_COUPLING, "rec_n", "N"}
        scale = self.expression(output, scale_text, scale_known)
        scale = ir.substitute(scale, {"rec_n": ir.BinOp("/", ir.Num(1.0), ir.Sym("N"))})
        if _GLOBAL_COUPLING not in ir.symbols(scale):
            # brainsweep sweeps a coupling's global parameter; 1.0 keeps the file's meaning
            scale = ir.BinOp("*", ir.Sym(_GLOBAL_COUPLING), scale)
        post_expr = ir.BinOp("*", scale, ir.Sym("gx"))
        low, high = sweeps.get(_GLOBAL_COUPLING, (global_coupling, global_coupling))
        params = (Parameter(name=_GLOBAL_COUPLING, default=global_coupling, range=(low, high),
                            description="RateML's global coupling (the coupling's scale)."),
                  *(Parameter(name=k, default=v, description="RateML coupling constant.")
                    for k, v in coupling_params.items()))
        coupling = Coupling(
            name=f"rateml_{self.path.stem}", pre=inner, post=post_expr, parameters=params,
            global_parameter=_GLOBAL_COUPLING,
            description=f"Imported from {self.path.name} ({ctype.attrs.get('name')}): "
                        f"c = scale * sum_j w_ij * post * pre.")
        return coupling, CouplingTerm(name=output_name, variables=(variable,))
