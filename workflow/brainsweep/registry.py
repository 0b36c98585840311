"""The registry of targets, by name: the built-ins and plug-ins of the ``brainsweep.targets``
entry-point group.

It sits in the bottom layer and imports no target: a target's module registers its class
when it is imported, and the built-ins and plug-ins are imported here by their import
strings on the first look-up. So code generation (which needs a target's templates and
renderer) can find a target by name without importing the layer that runs kernels, and no
layer imports one above it. The :class:`~brainsweep.backends.base.Target` base class lives
with the targets.
"""

from __future__ import annotations

import importlib
import importlib.metadata

from brainsweep.errors import InputError

__all__ = ["get_target", "list_targets", "refresh_targets", "register"]

_REGISTRY: dict[str, type] = {}  # name -> Target subclass
_BUILTIN = {
    "numba": "brainsweep.backends.numba_target:NumbaTarget",
    "cuda": "brainsweep.backends.cuda_target:CudaTarget",
    "opencl": "brainsweep.backends.opencl_target:OpenCLTarget",
}


def register(target: type) -> type:
    """Register a target class under its ``name`` (usable as a decorator)."""
    _REGISTRY[target.name] = target
    return target


def _load(reference: str) -> type:
    module, _, attr = reference.partition(":")
    return getattr(importlib.import_module(module), attr)


_SCANNED = False  # whether the built-ins and entry points have been looked at


def _discover() -> None:
    # Once per process: scanning the installed distributions' entry points costs ~9 ms, and
    # every simulate.run() asks for its target several times (refresh_targets() rescans).
    global _SCANNED
    if _SCANNED:
        return
    for name, ref in _BUILTIN.items():
        if name not in _REGISTRY:
            try:
                _REGISTRY[name] = _load(ref)
            except ImportError:  # a built-in whose optional dependency is missing
                continue
    for entry in importlib.metadata.entry_points(group="brainsweep.targets"):
        if entry.name not in _REGISTRY:
            try:
                _REGISTRY[entry.name] = entry.load()
            except ImportError:
                continue
    _SCANNED = True


def refresh_targets() -> None:
    """Look for targets again (after installing a plug-in into a running process)."""
    global _SCANNED
    _SCANNED = False
    _discover()


def list_targets() -> list[str]:
    _discover()
    return sorted(_REGISTRY)


def get_target(name: str):
    """An instance of the target registered as ``name``."""
    _discover()
    if name not in _REGISTRY:
        raise InputError(f"unknown target {name!r}; known: {sorted(_REGISTRY)}", field="target")
    return _REGISTRY[name]()
