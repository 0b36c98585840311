"""Coupling functions (TVB's): ``c_i = post(sum_j w_ij * pre(x_i, x_j(t - d_ij)))``.

``pre`` may read ``x_i`` (the node's own current value) and ``x_j`` (the delayed afferent
value) of the coupling term's variable; where a term lists several variables (TVB's cvar),
``x_j0, x_j1, ...`` and ``x_i0, x_i1, ...`` read each of them (``x_j`` is ``x_j0``).
``post`` reads ``gx`` (the weighted sum) and ``N`` (the number of nodes). Each coupling names
the parameter that a study's ``global_coupling`` sets, and may declare ``pre`` separable
(:mod:`brainsweep.dsl.separable`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from brainsweep.dsl import ir
from brainsweep.dsl.parse import parse_expression
from brainsweep.dsl.parts import COUPLING_INPUTS, Parameter, coupling_input, kernels_dir
from brainsweep.dsl.separable import SeparablePart, parse_separable
from brainsweep.dsl.yamlsource import read_lined_yaml
from brainsweep.errors import InputError

__all__ = ["Coupling", "list_couplings", "load_coupling"]


@dataclass(frozen=True)
class Coupling:
    name: str
    pre: ir.Expr
    post: ir.Expr
    parameters: tuple[Parameter, ...]
    global_parameter: str
    description: str = ""
    # pre as a sum of products target(x_i) * source(x_j) (brainsweep.dsl.separable), if the
    # file declares one: the kernels may then sum per source function instead of per pre
    separable: tuple[SeparablePart, ...] = ()

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def n_inputs(self) -> int:
        """How many variables of each coupling term ``pre`` reads (1 for most couplings)."""
        read = [coupling_input(s) for s in ir.symbols(self.pre)]
        return 1 + max((m for _, m in filter(None, read)), default=0)

    @property
    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.parameters}

    def with_defaults(self, **values: float) -> Coupling:
        unknown = set(values) - set(self.parameter_names)
        if unknown:
            raise InputError(f"coupling {self.name} has no parameter(s) {sorted(unknown)}; "
                             f"known: {list(self.parameter_names)}", field="coupling")
        params = tuple(replace(p, default=float(values.get(p.name, p.default)))
                       for p in self.parameters)
        return replace(self, parameters=params)


def _couplings_file() -> Path:
    return kernels_dir() / "couplings.yaml"


def list_couplings() -> list[str]:
    return sorted(read_lined_yaml(_couplings_file()).data)


_LOADED: dict[tuple, Coupling] = {}  # (name, file's mtime and size) -> Coupling


def load_coupling(name: str | Coupling) -> Coupling:
    """A shipped coupling function by name (``linear``, ``kuramoto``, ...)."""
    if isinstance(name, Coupling):
        return name
    # Parsed once per process and file version: every simulate.run() asks for its coupling,
    # and reading the YAML file costs ~10 ms; Coupling is frozen, so sharing it is safe.
    stat = _couplings_file().stat()
    key = (name, stat.st_mtime_ns, stat.st_size)
    if key not in _LOADED:
        _LOADED[key] = _parse_coupling(name)
    return _LOADED[key]


def _parse_coupling(name: str) -> Coupling:
    doc = read_lined_yaml(_couplings_file())
    if name not in doc.data:
        raise InputError(f"unknown coupling {name!r}; known: {sorted(doc.data)}",
                         field="coupling")
    spec = doc.data[name]
    params = tuple(
        Parameter(name=p, default=float(v["default"]), description=str(v.get("description", "")))
        for p, v in (spec.get("parameters") or {}).items()
    )
    names = {p.name for p in params}
    pre = parse_expression(spec["pre"], known=names | set(COUPLING_INPUTS), source=doc.source,
                           line=doc.line(name, "pre"), field=f"{name}.pre")
    post = parse_expression(spec["post"], known=names | {"gx", "N"}, source=doc.source,
                            line=doc.line(name, "post"), field=f"{name}.post")
    global_parameter = spec["global"]
    if global_parameter not in names:
        raise InputError(f"global parameter {global_parameter!r} is not a parameter",
                         source=doc.where(name, "global"), field=f"{name}.global")
    separable = parse_separable(spec.get("separable"), parameters=names, pre=pre, doc=doc,
                                name=name)
    return Coupling(name=name, pre=pre, post=post, parameters=params,
                    global_parameter=global_parameter,
                    description=str(spec.get("description", "")).strip(), separable=separable)
