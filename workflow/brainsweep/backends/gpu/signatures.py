"""The GPU kernels' parameters, declared once: the C parameter lists and the host arguments.

Each kernel is a list of ``(name, kind)``. A kind is the C type of the parameter in the
shared GPU dialect (``kernels/templates/gpu``): a scalar passed by value (``int``,
``uint32``, ``double``) or a device array, spelled with ``*`` and ``const`` when the kernel
only reads it (``const real*``). From this one table come

* the C parameter lists of the templates (:func:`c_parameters`, the template variable
  ``kernel_parameters``),
* pycuda's prepared-call type string (:func:`prepared_types`),
* the ordered host arguments, scalars as the NumPy types OpenCL's ``set_args`` needs
  (:func:`arguments`), looked up by name, never by position.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["KERNELS", "STEP_KERNELS", "arguments", "c_parameters", "is_array", "kernel_table",
           "prepared_types"]

_GROUP_TABLES = [("delay_set", "const int*"), ("group_first", "const int*"),
                 ("group_size", "const int*"), ("group_horizon", "const int*"),
                 ("group_offset", "const index_t*")]
_RUNNING = [("state", "real*"), ("history", "history_t*"), ("tavg_sum", "real*"),
            ("drive_sum", "real*"), ("hemo", "double*")]

KERNELS: dict[str, list[tuple[str, str]]] = {
    # fills the history with the initial state and resets the monitors' sums
    "initialise_shard": [
        ("n_sims", "int"), ("n_nodes", "int"), *_GROUP_TABLES, ("state", "const real*"),
        *_RUNNING[1:], ("diverged", "int*"),
    ],
    # steps [step_begin, step_end) of every simulation of the shard
    "simulate_shard": [
        ("n_sims", "int"), ("n_nodes", "int"), ("n_connections", "int"),
        ("step_begin", "int"), ("step_end", "int"), ("params", "const double*"),
        ("row_start", "const int*"), ("sources", "const int*"), ("weights", "const real*"),
        ("delays", "const int*"), *_GROUP_TABLES, ("dt_model", "double"),
        ("noise", "const double*"), ("seed", "uint32"), ("sim_key", "const uint32*"),
        ("raw_period", "int"), ("tavg_period", "int"), ("bold_period", "int"),
        ("bold_substeps", "int"), ("balloon", "const double*"), ("dt_bold", "double"),
        *_RUNNING, ("out_raw", "real*"), ("out_tavg", "real*"), ("out_bold", "real*"),
        ("diverged", "int*"),
    ],
    # the same steps with many threads per simulation, for small shards: `lanes`
    # simulations a block, each summed by node_parts x conn_parts threads (launch.py)
    "simulate_split": [],  # filled below: simulate_shard's, with lanes and conn_parts
    # the noise generator on its own, for tests
    "philox_sample": [
        ("n", "int"), ("seed", "uint32"), ("sim", "const uint32*"), ("step", "const uint32*"),
        ("node", "const uint32*"), ("block", "const uint32*"), ("words_out", "uint32*"),
        ("normals_out", "real*"),
    ],
}

_STEP = KERNELS["simulate_shard"]
_AFTER = _STEP.index(("step_end", "int")) + 1
KERNELS["simulate_split"] = [*_STEP[:_AFTER], ("lanes", "int"), ("conn_parts", "int"),
                             *_STEP[_AFTER:]]
STEP_KERNELS = ("simulate_shard", "simulate_split")

# The step kernel of a spec with regional parameters (KernelSpec.regional) reads them from
# one more array, after params; one whose coupling sums a constant part (a factorised
# difference coupling: codegen.channels.needs_row_sums) reads the weights' row sums, after
# weights. A kernel without them keeps the parameter list it had.
_REGIONAL = ("regional", "const double*")
_ROW_SUMS = ("row_sums", "const real*")


def kernel_table(regional: bool = False, row_sums: bool = False
                 ) -> dict[str, list[tuple[str, str]]]:
    """:data:`KERNELS`, with the ``regional`` table in the step kernels when ``regional``
    and the ``row_sums`` array when ``row_sums``."""
    if not regional and not row_sums:
        return KERNELS
    table = dict(KERNELS)
    for kernel in STEP_KERNELS:
        step = list(table[kernel])
        if regional:
            step.insert(step.index(("params", "const double*")) + 1, _REGIONAL)
        if row_sums:
            step.insert(step.index(("weights", "const real*")) + 1, _ROW_SUMS)
        table[kernel] = step
    return table


# Scalar kinds: NumPy type (what OpenCL's set_args takes) and pycuda's struct code.
_SCALARS = {"int": (np.int32, "i"), "uint32": (np.uint32, "I"), "double": (np.float64, "d")}


def is_array(kind: str) -> bool:
    """Whether ``kind`` is a device array (passed as a buffer) rather than a scalar."""
    return kind.endswith("*")


def _c_parameter(name: str, kind: str) -> str:
    if not is_array(kind):
        return f"const {kind} {name}"
    return f"GLOBAL {kind[:-1]} *RESTRICT {name}"  # no two arguments alias


def c_parameters(kernel: str, regional: bool = False, row_sums: bool = False) -> list[str]:
    """The C parameters of ``kernel``: ``const int n_sims``, ``GLOBAL real *RESTRICT state``."""
    return [_c_parameter(name, kind) for name, kind in kernel_table(regional, row_sums)[kernel]]


def prepared_types(kernel: str, regional: bool = False, row_sums: bool = False) -> str:
    """pycuda's prepared-call type string of ``kernel`` (``P`` for every array)."""
    return "".join("P" if is_array(kind) else _SCALARS[kind][1]
                   for _, kind in kernel_table(regional, row_sums)[kernel])


def arguments(kernel: str, buffers: Mapping[str, Any], scalars: Mapping[str, Any],
              regional: bool = False, row_sums: bool = False) -> list:
    """``kernel``'s arguments in order: arrays from ``buffers``, scalars from ``scalars``
    (converted to their kind's NumPy type). A name that is missing is a KeyError naming it.
    ``regional``, ``row_sums``: the kernel was generated with them (:func:`kernel_table`)."""
    out = []
    for name, kind in kernel_table(regional, row_sums)[kernel]:
        if is_array(kind):
            out.append(buffers[name])
        else:
            out.append(_SCALARS[kind][0](scalars[name]))
    return out
