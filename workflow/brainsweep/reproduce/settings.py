"""The ``reproduce:`` section of a study config: which figure, on which target, what sizes.

Every key has a default here (one place; ``config/schema.yaml`` documents them), so the same
settings give the same run whether Snakemake passes them (``--settings``) or a study file is
read directly (``--config``). Unknown keys and bad values are :class:`InputError` naming the
field, before anything runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brainsweep.errors import InputError

__all__ = ["FIGURES", "ModelCase", "ReproduceSettings", "parse_settings", "read_study"]

FIGURES = ("rateml-fig1", "rateml-fig2", "tvbhpc-fig2")
TVB68 = "resources/tvb-connectivity/connectivity_68.zip"
_PANELS = {"rateml-fig1": ("a",), "rateml-fig2": ("a",), "tvbhpc-fig2": ("a", "b", "c")}


@dataclass(frozen=True)
class ModelCase:
    """One model of a figure: what runs, with which coupling, noise and grid ranges.

    ``coupling: file`` takes a RateML XML file's own coupling function.
    ``initial_uniform: [lo, hi]`` draws every simulation's initial state uniformly (seeded);
    otherwise the model's initial values are used.
    """

    label: str
    model: str
    coupling: str = "linear"
    noise: dict[str, float] | None = None
    parameters: dict[str, float] = field(default_factory=dict)
    global_coupling: tuple[float, float] = (0.0, 1.0)
    initial_uniform: tuple[float, float] | None = None


@dataclass(frozen=True)
class ReproduceSettings:
    """A reproduce study, parsed and checked (see ``config/schema.yaml``)."""

    study: str
    figure: str
    target: str
    device: str | None
    connectome: str
    dt: float
    integrator: str
    dtype: str
    seed: int
    n_steps: int
    sizes: tuple[int, ...]
    speeds: tuple[float, float, int]
    models: tuple[ModelCase, ...]
    fill_memory: bool = False
    row_budget_s: float = 12.0
    min_steps: int = 1000
    runs: tuple[tuple[int, tuple[int, ...]], ...] = ()  # rateml-fig2: (n_steps, sizes)
    gpus: tuple[int, ...] = (1, 2, 4)
    sims_per_gpu: int = 21600
    scaling_steps: int = 40000
    panels: tuple[str, ...] = ()
    source: str | None = None  # the file the settings came from, for error messages

    @property
    def all_panels(self) -> tuple[str, ...]:
        return _PANELS[self.figure]


_DEFAULTS: dict[str, dict[str, Any]] = {
    "rateml-fig1": {
        "target": "cuda", "dt": 0.1, "integrator": "euler", "dtype": "float32",
        "n_steps": 40000, "sizes": [1024, 4096, 16384, 65536, 262144], "fill_memory": True,
        "speeds": [1.0, 10.0, 16],
    },
    "rateml-fig2": {
        "target": "numba", "dt": 0.1, "integrator": "euler", "dtype": "float64",
        "n_steps": 4000, "sizes": [1, 2, 4, 8, 16, 32], "speeds": [2.0, 2.0, 1],
        "runs": [{"n_steps": 4000, "sizes": [1, 2, 4, 8, 16, 32]},
                 {"n_steps": 100000, "sizes": [1, 2, 4]}],
    },
    "tvbhpc-fig2": {
        "target": "cuda", "dt": 0.1, "integrator": "euler", "dtype": "float32",
        "n_steps": 10000, "sizes": [2**k for k in range(5, 18)], "speeds": [1.0, 10.0, 16],
    },
}
_KEYS = {"figure", "target", "device", "connectome", "dt", "integrator", "dtype", "seed",
         "n_steps", "sizes", "speeds", "models", "fill_memory", "row_budget_s", "min_steps",
         "runs", "gpus", "sims_per_gpu", "scaling_steps", "panels"}
_MODEL_KEYS = {"label", "model", "coupling", "noise", "parameters", "global_coupling",
               "initial_uniform"}


def read_study(path: str | os.PathLike) -> dict[str, Any]:
    """A study config file (YAML) as a mapping with ``study`` and ``reproduce``."""
    import yaml

    source = os.fspath(path)
    if not Path(source).is_file():
        raise InputError("file not found", source=source)
    try:
        data = yaml.safe_load(Path(source).read_text())
    except yaml.YAMLError as error:
        raise InputError(f"not valid YAML: {error}", source=source) from error
    if not isinstance(data, Mapping) or "reproduce" not in data:
        raise InputError("a reproduce study needs a 'reproduce:' section", source=source,
                         field="reproduce")
    return {"study": data.get("study"), "reproduce": data["reproduce"], "_source": source}


def _number(value: Any, name: str, source: str | None, *, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"expected a number, got {value!r}", source=source, field=name)
    if positive and not value > 0:
        raise InputError(f"must be positive, got {value!r}", source=source, field=name)
    return float(value)


def _count(value: Any, name: str, source: str | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"expected a positive whole number, got {value!r}", source=source,
                         field=name)
    return int(value)


def _counts(value: Any, name: str, source: str | None) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise InputError(f"expected a non-empty list of whole numbers, got {value!r}",
                         source=source, field=name)
    return tuple(_count(v, f"{name}[{k}]", source) for k, v in enumerate(value))


def _pair(value: Any, name: str, source: str | None) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise InputError(f"expected [low, high], got {value!r}", source=source, field=name)
    low, high = (_number(v, name, source, positive=False) for v in value)
    if high < low:
        raise InputError(f"[low, high] with high < low: {value!r}", source=source, field=name)
    return low, high


def _model_case(value: Any, index: int, source: str | None) -> ModelCase:
    name = f"reproduce.models[{index}]"
    if not isinstance(value, Mapping) or "model" not in value:
        raise InputError("each model is a mapping with at least 'model'", source=source,
                         field=name)
    unknown = set(value) - _MODEL_KEYS
    if unknown:
        raise InputError(f"unknown keys {sorted(unknown)}; known: {sorted(_MODEL_KEYS)}",
                         source=source, field=name)
    noise = value.get("noise")
    if noise is not None and not isinstance(noise, Mapping):
        raise InputError("noise is {state variable: D}", source=source, field=f"{name}.noise")
    parameters = value.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise InputError("parameters is {name: value}", source=source,
                         field=f"{name}.parameters")
    initial = value.get("initial_uniform")
    return ModelCase(
        label=str(value.get("label", value["model"])), model=str(value["model"]),
        coupling=str(value.get("coupling", "linear")),
        noise=None if noise is None else {str(k): _number(v, f"{name}.noise.{k}", source,
                                                          positive=False)
                                          for k, v in noise.items()},
        parameters={str(k): _number(v, f"{name}.parameters.{k}", source, positive=False)
                    for k, v in parameters.items()},
        global_coupling=_pair(value.get("global_coupling", [0.0, 1.0]),
                              f"{name}.global_coupling", source),
        initial_uniform=None if initial is None else _pair(initial, f"{name}.initial_uniform",
                                                           source),
    )


def parse_settings(settings: Mapping[str, Any], *, source: str | None = None
                   ) -> ReproduceSettings:
    """Check a study's ``{study, reproduce}`` settings and fill in the figure's defaults.

    Examples
    --------
    >>> s = parse_settings({"study": "x", "reproduce": {"figure": "rateml-fig2",
    ...                     "models": [{"model": "montbrio"}]}})
    >>> s.target, s.runs
    ('numba', ((4000, (1, 2, 4, 8, 16, 32)), (100000, (1, 2, 4))))
    """
    source = source or settings.get("_source")
    section = settings.get("reproduce")
    if not isinstance(section, Mapping):
        raise InputError("expected a 'reproduce:' mapping", source=source, field="reproduce")
    unknown = set(section) - _KEYS
    if unknown:
        raise InputError(f"unknown keys {sorted(unknown)}; known: {sorted(_KEYS)}",
                         source=source, field="reproduce")
    figure = section.get("figure")
    if figure not in FIGURES:
        raise InputError(f"figure must be one of {list(FIGURES)}, got {figure!r}",
                         source=source, field="reproduce.figure")
    merged = {**_DEFAULTS[figure], **section}
    study = settings.get("study") or figure
    if not isinstance(study, str):
        raise InputError(f"expected a name, got {study!r}", source=source, field="study")
    if merged.get("integrator") not in ("euler", "heun", "rk4"):
        raise InputError(f"unknown integrator {merged.get('integrator')!r}", source=source,
                         field="reproduce.integrator")
    if merged.get("dtype") not in ("float32", "float64"):
        raise InputError(f"dtype is float32 or float64, got {merged.get('dtype')!r}",
                         source=source, field="reproduce.dtype")
    models = merged.get("models")
    if not isinstance(models, list) or not models:
        raise InputError("give at least one model", source=source, field="reproduce.models")
    speeds = merged["speeds"]
    if not isinstance(speeds, list) or len(speeds) != 3:
        raise InputError(f"speeds is [lowest, highest, count] (m/s), got {speeds!r}",
                         source=source, field="reproduce.speeds")
    low, high = _pair(speeds[:2], "reproduce.speeds", source)
    if low <= 0:
        raise InputError("speeds must be positive (m/s)", source=source,
                         field="reproduce.speeds")
    n_speeds = _count(speeds[2], "reproduce.speeds", source)
    sizes = _counts(merged["sizes"], "reproduce.sizes", source)
    if figure != "rateml-fig2" and any(p % n_speeds for p in sizes):
        raise InputError(f"every size must be a multiple of the {n_speeds} speeds: {sizes}",
                         source=source, field="reproduce.sizes")
    runs = []
    for k, run in enumerate(merged.get("runs") or []):
        if not isinstance(run, Mapping) or set(run) != {"n_steps", "sizes"}:
            raise InputError("each run is {n_steps, sizes}", source=source,
                             field=f"reproduce.runs[{k}]")
        runs.append((_count(run["n_steps"], f"reproduce.runs[{k}].n_steps", source),
                     _counts(run["sizes"], f"reproduce.runs[{k}].sizes", source)))
    panels = merged.get("panels") or list(_PANELS[figure])
    if not isinstance(panels, list) or set(panels) - set(_PANELS[figure]):
        raise InputError(f"panels of {figure} are {list(_PANELS[figure])}, got {panels!r}",
                         source=source, field="reproduce.panels")
    gpus = _counts(merged.get("gpus", [1, 2, 4]), "reproduce.gpus", source)
    device = merged.get("device")
    return ReproduceSettings(
        study=study, figure=figure, target=str(merged["target"]),
        device=None if device is None else str(device),
        connectome=str(merged.get("connectome", TVB68)),
        dt=_number(merged["dt"], "reproduce.dt", source),
        integrator=merged["integrator"], dtype=merged["dtype"],
        seed=int(_number(merged.get("seed", 42), "reproduce.seed", source, positive=False)),
        n_steps=_count(merged["n_steps"], "reproduce.n_steps", source),
        sizes=sizes, speeds=(low, high, n_speeds),
        models=tuple(_model_case(m, k, source) for k, m in enumerate(models)),
        fill_memory=bool(merged.get("fill_memory", False)),
        row_budget_s=_number(merged.get("row_budget_s", 12.0), "reproduce.row_budget_s",
                             source),
        min_steps=_count(merged.get("min_steps", 1000), "reproduce.min_steps", source),
        runs=tuple(runs), gpus=gpus,
        sims_per_gpu=_count(merged.get("sims_per_gpu", 21600), "reproduce.sims_per_gpu",
                            source),
        scaling_steps=_count(merged.get("scaling_steps", 40000), "reproduce.scaling_steps",
                             source),
        panels=tuple(p for p in _PANELS[figure] if p in panels), source=source,
    )
