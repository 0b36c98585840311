"""The stage contract and the one registry of stages.

A stage is a module with a settings type (``Settings``: built from the stage's config
section by ``Settings.from_mapping``, which checks it and raises InputError naming the key)
and ``run(settings, inputs, outputs)``, where ``inputs`` and ``outputs`` map the names of the
stage's :class:`Port` s to paths (and options to values). Each stage is registered here once,
by import string, with its ports, its help and the part of a study it reads
(:attr:`Stage.from_study`); :mod:`brainsweep.cli` builds its subcommands from this registry,
and a stage's module is imported only when it runs. Top layer but one: only the CLI is above.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Port", "Stage", "get_stage", "list_stages", "register"]


@dataclass(frozen=True)
class Port:
    """One input, output or option of a stage: its name (the key of ``inputs``/``outputs``),
    help, and how the command line spells it (``flag`` None: positional)."""

    name: str
    help: str
    flag: str | None = None
    many: bool = False
    required: bool = True
    type: Callable[[str], Any] = str
    default: Any = None


@dataclass(frozen=True)
class Stage:
    """A registered stage (see the module's description)."""

    name: str
    help: str
    settings_help: str
    module: str  # import path of the module holding ``Settings`` and ``run``
    inputs: tuple[Port, ...] = ()
    outputs: tuple[Port, ...] = ()
    options: tuple[Port, ...] = ()  # passed with the inputs
    # the stage's settings out of a whole study (brainsweep.study.Study -> mapping)
    from_study: Callable[[Any], Mapping[str, Any]] = field(default=lambda study: {})

    def load(self):
        return importlib.import_module(self.module)

    def settings(self, mapping: Mapping[str, Any]):
        """The stage's checked, typed settings (InputError naming the key)."""
        return self.load().Settings.from_mapping(mapping)

    def run(self, settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]):
        if not isinstance(settings, self.load().Settings):
            settings = self.settings(settings)
        return self.load().run(settings, inputs, outputs)


_REGISTRY: dict[str, Stage] = {}


def register(stage: Stage) -> Stage:
    _REGISTRY[stage.name] = stage
    return stage


def list_stages() -> list[str]:
    return list(_REGISTRY)


def get_stage(name: str) -> Stage:
    from brainsweep.errors import InputError

    if name not in _REGISTRY:
        raise InputError(f"unknown stage {name!r}; known: {list_stages()}", field="stage")
    return _REGISTRY[name]


def _section(name: str) -> Callable[[Any], dict[str, Any]]:
    return lambda study: study.section(name)


OUT = Port("out", "output file (written atomically with a .json provenance sidecar)", "--out")
EMPIRICAL = Port("empirical", "the empirical stage's .npz", "--empirical")

register(Stage(
    "connectome", "read, clean and average a connectome into results/connectome/",
    "the study's connectome: section (keys in config/schema.yaml)",
    "brainsweep.connectome.stage",
    outputs=(Port("out", "output .npz (a .json sidecar is added)", "--out"),
             Port("figure", "also write an overview figure (PNG) here, with a provenance "
                            "sidecar", "--figure", required=False)),
    from_study=_section("connectome")))
register(Stage(
    "empirical", "empirical BOLD -> per-subject and group FC and FCD",
    "the study's empirical: section with the bold: post-processing under postprocess",
    "brainsweep.empirical", outputs=(Port("out", "output .npz", "--out"),),
    from_study=lambda study: study.empirical_settings()))
register(Stage(
    "simulate", "simulate one shard of a study's parameter grid (planned and checked "
                "against the memory first)",
    "the study's model, coupling, integration, simulation, monitors, sweep and shards "
    "sections as one object", "brainsweep.simulate_stage.stage",
    inputs=(Port("connectome", "the connectome stage's .npz", "--connectome"),
            Port("kernel", "the kernel source to run (`brainsweep kernels` wrote it; refused "
                           "unless its spec hash is these settings' spec); default: "
                           "generated here", "--kernel", required=False)),
    outputs=(Port("out", "output shard .npz", "--out"),),
    options=(Port("shard", "0-based shard id", "--shard", type=int),
             Port("memory_mb", "host memory the shard may use, MiB (the rule passes its "
                               "mem_mb); a shard planned to need more, or more than the "
                               "machine has available, is refused with the numbers before "
                               "anything runs", "--memory-mb", required=False, type=float)),
    from_study=lambda study: study.simulate.as_dict()))
register(Stage(
    "bold", "post-process a shard's BOLD into FC (and FCD) per simulation",
    "the study's bold: section (transient_s, detrend, bandpass, zscore, gsr, fcd)",
    "brainsweep.bold.stage",
    inputs=(Port("shard", "a simulate stage shard .npz", "--shard"),),
    outputs=(Port("out", "output .npz", "--out"),), from_study=_section("bold")))
register(Stage(
    "fit", "score every simulation against empirical FC; scores.csv (one row per parameter "
           "point: mean and spread over its noise realisations), realisations.csv (one row "
           "per simulation) and best.json (best point per metric, degenerate points "
           "excluded, uncertainty across subjects)",
    "the study's fit: section (metric, weights, degenerate)", "brainsweep.fit.stage",
    inputs=(EMPIRICAL, Port("shards", "the study's bold shards", many=True)),
    outputs=(Port("out_dir", "folder for scores.csv, realisations.csv and best.json",
                  "--out-dir"),),
    from_study=_section("fit")))
register(Stage(
    "figures", "score landscapes, FC and FCD at the best fit beside the empirical data; each "
               "figure with a provenance sidecar",
    "the study's figures: section (metric, pairs, others, dpi, format)",
    "brainsweep.figures.stage",
    inputs=(Port("scores", "scores.csv of the fit stage", "--scores"), EMPIRICAL,
            Port("shards", "the study's bold shards", many=True)),
    outputs=(Port("out_dir", "folder for the figures", "--out-dir"),),
    from_study=_section("figures")))
register(Stage(
    "recovery", "parameter recovery: the best fit's error in grid steps from a planted truth "
                "(recovery.json, landscape)",
    "the study's recovery: section (truth, seed, replicas, tolerance_steps)",
    "brainsweep.recovery",
    inputs=(Port("scores", "scores.csv of the fit stage", "--scores"),
            Port("empirical", "the empirical stage's .npz built from the truth shard "
                              "(format: simulated); the planted truth is read from it",
                 "--empirical")),
    outputs=(Port("out", "output recovery.json", "--out"),
             Port("figure", "also draw the landscape with truth and best fit marked here "
                            "(.png, .pdf or .svg)", "--figure", required=False)),
    options=(Port("metric", "the metric that picks the best fit: the study's fit.metric",
                  "--metric", required=False, default="fc_corr"),),
    from_study=_section("recovery")))
