"""brainsweep: reproducible whole-brain network model sweeps on CPUs and GPUs.

The stages are subpackages, imported on first use so that ``import brainsweep`` stays cheap::

    from brainsweep import connectome, dsl, codegen, simulate, bold, fit
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "bold",
    "codegen",
    "connectome",
    "dsl",
    "empirical",
    "figures",
    "fit",
    "reference",
    "simulate",
]

_SUBMODULES = {"bold", "codegen", "connectome", "dsl", "empirical", "figures", "fit",
               "reference", "simulate", "backends"}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
