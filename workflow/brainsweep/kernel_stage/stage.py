"""``brainsweep kernels``: write one generated kernel source file.

The kernel is described either by a study's model, coupling, integration and simulation
sections (``--settings``; what the workflow's ``generate_kernel`` rule passes, so the file it
writes is exactly the kernel the shards run) or, by hand, by a model and options
(``--model montbrio --target cuda --dtype float32``). Settings and options together are an
error: a kernel has one description. Given a whole study's sections (with its sweep) and no
``model.coupling_terms``, the terms are chosen from the sweep as the shard stage chooses them,
so the kernel written is one the shards accept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainsweep.errors import InputError
from brainsweep.io import atomic_path
from brainsweep.study import KernelSettings, SimulateSettings

__all__ = ["Settings", "run"]

# the by-hand options and their defaults (the command line's; a study's come from the schema)
_OPTION_DEFAULTS = {"dtype": "float64", "history_dtype": None, "coupling": None,
                    "integrator": "heun", "deterministic": False}


@dataclass(frozen=True)
class Settings:
    """The study sections of a kernel (None: the kernel is described by options)."""

    kernel: KernelSettings | None

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Settings:
        if not mapping:
            return cls(None)
        if "sweep" in mapping:
            # a whole study's sections: the coupling terms chosen from its sweep, as the
            # shard stage chooses them, so that the kernel written is the one shards accept
            return cls(SimulateSettings.from_sections(mapping).with_automatic_terms().kernel)
        return cls(KernelSettings.from_sections(mapping))


def run(settings: Settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Path:
    """Generate the kernel for ``inputs["target"]`` and write it to ``outputs["out"]`` (a
    file, or a folder that gets ``<model><target suffix>``); return the path written."""
    from brainsweep.backends import get_target
    from brainsweep.codegen import generate

    target_name = inputs.get("target") or "numba"
    target = get_target(target_name)
    model = inputs.get("model")
    changed = [name for name, default in _OPTION_DEFAULTS.items()
               if inputs.get(name, default) != default]
    if settings.kernel is not None:
        if model or changed:
            raise InputError("give either --settings or --model with options, not both "
                             f"(options given: {['model'] * bool(model) + changed})",
                             field="settings")
        source = generate(settings.kernel.spec(target=target_name), target=target_name)
        stem = Path(settings.kernel.model.name).stem
    elif model:
        options = {name: inputs.get(name, default) for name, default in _OPTION_DEFAULTS.items()}
        source = generate(model, target=target_name, dtype=options["dtype"],
                          coupling=options["coupling"], integrator=options["integrator"],
                          stochastic=not options["deterministic"],
                          history_dtype=options["history_dtype"])
        stem = Path(str(model)).stem
    else:
        raise InputError("give --model or --settings", field="model")
    out = Path(outputs["out"])
    path = out / f"{stem}{target.file_suffix}" if out.suffix == "" else out
    with atomic_path(path) as tmp:
        tmp.write_text(source)
    print(path)
    return path
