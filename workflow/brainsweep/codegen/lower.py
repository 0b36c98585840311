"""Lowering: a :class:`KernelSpec` and a target's renderer → the template context.

The context holds only names and rendered expressions: the templates never see the IR and the
renderer never sees a template. Inspect it with :func:`lower` to see what a template receives.
"""

from __future__ import annotations

from dataclasses import dataclass

from brainsweep.codegen.channels import history_channels, needs_row_sums, term_sums
from brainsweep.codegen.render import ExpressionRenderer
from brainsweep.codegen.spec import INTEGRATORS, KernelSpec
from brainsweep.dsl import ir
from brainsweep.dsl.parts import coupling_input

__all__ = ["KernelContext", "lower", "needed_inputs"]


@dataclass(frozen=True)
class KernelContext:
    """What every target's templates receive (plus target-specific extras)."""

    model_name: str
    source: str
    dtype: str
    integrator: str
    n_stages: int
    stochastic: bool
    params: tuple[dict, ...]  # {name, var, index}: every parameter, scalar or regional
    # {name, var, index, row}: the model parameters read per node from the regional table
    # (row: the parameter's row in it); empty for a homogeneous kernel, whose source is then
    # the one of before regional parameters existed
    regional_params: tuple[dict, ...]
    scalar_params: tuple[dict, ...]  # the params read once per simulation
    states: tuple[dict, ...]  # {name, var, index, derivative, lower, upper}
    auxiliaries: tuple[dict, ...]  # {var, expr}: those the derivatives read, in order
    # {name, var, cvar, state, pre, pre_reads_target, post, gx, xj, sources, targets,
    # combine}: cvar, state and xj are those of the term's first variable, sources those of
    # every one. A factorised term (combine not None) sums each source {xj, batch, cvar, sum}
    # as sum += w * xj, and gx = combine (reading the sums, targets and row_sums) after them
    terms: tuple[dict, ...]
    # {index, state, value, reads}: the history rows (brainsweep.codegen.channels). value is
    # None for a plain coupled state variable (its state index); else the rendered function
    # of the node's own state, reading reads [{var, state}]
    cvars: tuple[dict, ...]
    speed_index: int
    bold_drive: str
    # what the drive reads besides states and parameters, in evaluation order: the coupling
    # terms (the inputs held over the step that produced the state) and the auxiliaries
    bold_terms: tuple[dict, ...]  # the entries of terms the drive needs
    bold_auxiliaries: tuple[dict, ...]  # {var, expr}, the auxiliaries the drive needs
    n_params: int
    n_states: int
    n_cvars: int
    row_sums: bool  # a factorised part reads the weights' row sums (row_sums[i])

    def as_dict(self) -> dict:
        return {field: getattr(self, field) for field in self.__dataclass_fields__}


def lower(spec: KernelSpec, renderer_class: type[ExpressionRenderer], *,
          coupling_sum: str = "{gx}") -> KernelContext:
    """Render every expression of ``spec`` with ``renderer_class`` into a template context.

    ``coupling_sum`` spells how ``post`` reads a term's weighted sum in the target's code,
    from the sum's name ``{gx}`` (``"{gx}[i]"`` where the sums are held per node).
    """
    model, coupling = spec.model, spec.coupling
    names: dict[str, str] = {}
    params = []
    for index, name in enumerate(model.parameter_names):
        names[name] = f"p_{name}"
        params.append({"name": name, "var": f"p_{name}", "index": index})
    coupling_names = {}
    for offset, name in enumerate(coupling.parameter_names):
        var = f"k_{name}"
        coupling_names[name] = var
        params.append({"name": f"coupling.{name}", "var": var,
                       "index": len(model.parameter_names) + offset})
    speed_index = len(params)
    regional_params = [{**p, "row": row} for row, p in
                       enumerate(p for p in params if p["name"] in spec.regional)]
    scalar_params = [p for p in params if p["name"] not in spec.regional]

    for state in model.states:
        names[state.name] = f"s_{state.name}"
    for term in model.coupling_terms:
        names[term.name] = f"c_{term.name}"
    for name, _ in model.auxiliaries:
        names[name] = f"a_{name}"

    render = renderer_class(names, dtype=spec.dtype).render
    states = []
    for index, state in enumerate(model.states):
        states.append({
            "name": state.name, "var": names[state.name], "index": index,
            "derivative": render(state.derivative),
            "lower": None if state.lower is None else render(ir.Num(state.lower)),
            "upper": None if state.upper is None else render(ir.Num(state.upper)),
        })
    rendered = {name: {"var": names[name], "expr": render(expr)}
                for name, expr in model.auxiliaries}
    # only what a derivative reads, directly or through others (C compilers warn of the rest)
    dfun_needs, _ = needed_inputs(model, *(s.derivative for s in model.states))
    auxiliaries = [rendered[name] for name, _ in model.auxiliaries if name in dfun_needs]

    cvar_states = list(model.coupled_states)
    state_index = {s.name: i for i, s in enumerate(model.states)}
    channels = history_channels(spec)
    pre_reads = [coupling_input(name) for name in ir.symbols(coupling.pre)]
    target_reads = sorted({m for side, m in filter(None, pre_reads) if side == "i"})
    terms = []
    for k, term in enumerate(model.coupling_terms):
        gx = f"gx_{k}"
        # the delayed source value of each variable m the term lists (xj_k for the first,
        # the one most couplings read), and the history row and batch it comes from
        sources = [{"xj": f"xj_{k}" if m == 0 else f"xj_{k}_{m}",
                    "batch": f"batch_{k}" if m == 0 else f"batch_{k}_{m}",
                    "cvar": cvar_states.index(variable), "state": state_index[variable]}
                   for m, variable in enumerate(term.variables)]
        sums = term_sums(spec, term)
        pre_names = dict(coupling_names)
        for m, variable in enumerate(term.variables):
            pre_names[f"x_j{m}"] = sources[m]["xj"]
            pre_names[f"x_i{m}"] = names[variable]
        pre_names["x_j"], pre_names["x_i"] = pre_names["x_j0"], pre_names["x_i0"]
        post_names = {**coupling_names, "gx": coupling_sum.format(gx=gx), "N": "n_nodes_real"}
        combine, reads, first = None, target_reads, sources[0]
        if sums is not None:
            sources, combine, reads = _factorised_sums(k, sums, pre_names, coupling_sum,
                                                       renderer_class, spec.dtype)
        terms.append({
            "name": term.name, "var": names[term.name], "xj": first["xj"], "gx": gx,
            "cvar": first["cvar"], "state": first["state"], "sources": sources,
            # the target's own current values that pre reads: {var, state}
            "targets": [{"var": names[term.variables[m]],
                         "state": state_index[term.variables[m]]} for m in reads],
            "pre": renderer_class(pre_names, dtype=spec.dtype).render(coupling.pre),
            "pre_reads_target": bool(target_reads),
            "post": renderer_class(post_names, dtype=spec.dtype).render(coupling.post),
            "combine": combine,
        })
    cvars = []
    for i, channel in enumerate(channels):
        reads = channel.reads(model.state_names)
        cvars.append({"index": i, "state": state_index[reads[0]],
                      "value": None if channel.plain else render(channel.expr),
                      "reads": [{"var": names[name], "state": state_index[name]}
                                for name in reads]})

    drive = model.observables.get("bold", ir.Sym(model.states[0].name))
    aux_needed, terms_needed = needed_inputs(model, drive)
    return KernelContext(
        model_name=model.name, source=model.source, dtype=spec.dtype,
        integrator=spec.integrator, n_stages=INTEGRATORS[spec.integrator][0],
        stochastic=spec.stochastic, params=tuple(params),
        regional_params=tuple(regional_params), scalar_params=tuple(scalar_params),
        states=tuple(states),
        auxiliaries=tuple(auxiliaries), terms=tuple(terms), cvars=tuple(cvars),
        speed_index=speed_index, bold_drive=render(drive),
        bold_terms=tuple(t for t in terms if t["name"] in terms_needed),
        bold_auxiliaries=tuple(rendered[name] for name, _ in model.auxiliaries
                               if name in aux_needed),
        n_params=speed_index + 1, n_states=len(states), n_cvars=len(cvars),
        row_sums=needs_row_sums(spec),
    )


def _factorised_sums(k: int, sums, pre_names: dict[str, str], coupling_sum: str,
                     renderer_class, dtype: str):
    """A factorised term's per-channel sums and its combination ``sum_p target_p * S_p``.

    Returns the sources (one per history channel the term reads: ``{xj, batch, cvar, sum}``),
    the rendered combination and the target variables ``m`` it reads.
    """
    sources, by_channel, products = [], {}, []
    for target, channel, constant in sums.parts:
        if channel is None:
            factor = _times(constant, ir.Sym("row_sums"))
        else:
            if channel not in by_channel:
                c = len(sources)
                by_channel[channel] = f"gx_{k}_{c}"
                sources.append({"xj": f"xj_{k}_{c}", "batch": f"batch_{k}_{c}",
                                "cvar": channel, "sum": f"gx_{k}_{c}"})
            factor = ir.Sym(by_channel[channel])
        products.append(_times(target, factor))
    combined = products[0]
    for product in products[1:]:
        combined = ir.BinOp("+", combined, product)
    names = dict(pre_names)
    names.update({s["sum"]: coupling_sum.format(gx=s["sum"]) for s in sources})
    names["row_sums"] = "row_sums[i]"
    reads = sorted({m for side, m in filter(None, (coupling_input(name) for name in
                                                   ir.symbols(combined))) if side == "i"})
    return sources, renderer_class(names, dtype=dtype).render(combined), reads


def _times(a: ir.Expr, b: ir.Expr) -> ir.Expr:
    """``a * b`` without a factor of one (exact: x * 1 is x)."""
    if isinstance(a, ir.Num) and a.value == 1.0:
        return b
    if isinstance(b, ir.Num) and b.value == 1.0:
        return a
    return ir.BinOp("*", a, b)


def needed_inputs(model, *exprs: ir.Expr) -> tuple[set[str], set[str]]:
    """The auxiliaries and coupling terms ``exprs`` read, directly or through auxiliaries."""
    definitions = dict(model.auxiliaries)
    term_names = {t.name for t in model.coupling_terms}
    auxiliaries: set[str] = set()
    direct = set().union(*(ir.symbols(e) for e in exprs))
    pending = list(direct)
    while pending:
        name = pending.pop()
        if name in definitions and name not in auxiliaries:
            auxiliaries.add(name)
            pending.extend(ir.symbols(definitions[name]))
    reads = direct.union(*(ir.symbols(definitions[a]) for a in auxiliaries))
    return auxiliaries, reads & term_names
