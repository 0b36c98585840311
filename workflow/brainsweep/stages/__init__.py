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
from collections.abc import Callable, Mapping, Sequence
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
    # the only values the command line accepts (a function: asked when the CLI is built)
    choices: tuple[str, ...] | Callable[[], Sequence[str]] | None = None
    switch: bool = False  # a flag without a value (True when given)


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
    # the settings are a whole study file as it is (a reproduce study: {study, reproduce}),
    # not one section of a study of the workflow's schema
    whole_study: bool = False

    def load(self):
        return importlib.import_module(self.module)

    def settings(self, mapping: Mapping[str, Any]):
        """The stage's checked, typed settings (InputError naming the key)."""
        return self.load().Settings.from_mapping(mapping)

    def run(self, settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]):
        """Run the stage; its outputs (files, their sidecars, whatever it writes under an
        output folder) appear together when it succeeds, and none of them when it fails."""
        from brainsweep.io import output_set

        if not isinstance(settings, self.load().Settings):
            settings = self.settings(settings)
        declared = [(path, name.endswith("_dir")) for name, path in outputs.items()
                    if path is not None]
        with output_set(declared):
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


def _plain_config(study: Any) -> dict[str, Any]:
    """A study's whole config as plain dicts and lists (the study layer keeps it frozen)."""
    def plain(value):
        if isinstance(value, Mapping):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, tuple | list):
            return [plain(item) for item in value]
        return value

    return plain(study.config)


def _target_names() -> list[str]:
    from brainsweep.registry import list_targets

    return list_targets()


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
    inputs=(Port("connectome", "the study's connectome .npz: the empirical regions must be "
                               "its regions, label by label", "--connectome", required=False),),
    from_study=lambda study: study.empirical_settings()))
_DTYPES = ("float32", "float64")
register(Stage(
    "kernels", "write a model's generated kernel source (from --settings with the study's "
               "model, coupling and integration sections, or from --model and options)",
    "the study's model, coupling and integration sections (and simulation, for its "
    "history_dtype) as one object, instead of --model and the options",
    "brainsweep.kernel_stage.stage",
    options=(Port("model", "shipped name, .yaml or RateML .xml", "--model", required=False),
             Port("target", "the target the kernel is for (default numba; `brainsweep info` "
                            "lists them)", "--target", required=False, default="numba",
                  choices=_target_names),
             Port("dtype", "the kernel's floating-point type (default float64)", "--dtype",
                  required=False, default="float64", choices=_DTYPES),
             Port("history_dtype", "storage type of the delay history (default: --dtype; "
                                   "float16 on the cuda and opencl targets)",
                  "--history-dtype", required=False, choices=("float16", *_DTYPES)),
             Port("coupling", "a shipped coupling (default: the model file's own, else "
                              "linear)", "--coupling", required=False),
             Port("integrator", "integration scheme (default heun)", "--integrator",
                  required=False, default="heun", choices=("euler", "heun", "rk4")),
             Port("deterministic", "no noise", "--deterministic", required=False,
                  switch=True, default=False)),
    outputs=(Port("out", "a folder (gets <model><target suffix>) or a file path", "--out"),),
    from_study=lambda study: study.kernel_settings()))
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
    options=(Port("shard", "0-based shard id (of the study's shards.count)", "--shard-id",
                  type=int),
             Port("memory_mb", "host memory the shard may use, MiB (the rule passes its "
                               "mem_mb); a shard planned to need more, or more than the "
                               "machine has available, is refused with the numbers before "
                               "anything runs", "--memory-mb", required=False, type=float)),
    from_study=lambda study: study.simulate.as_dict()))
register(Stage(
    "bold", "post-process a shard's BOLD into FC (and FCD) per simulation",
    "the study's bold: section (transient_s, detrend, bandpass, zscore, gsr, fcd)",
    "brainsweep.bold.stage",
    inputs=(Port("shard", "a simulate stage shard .npz", "--shard-file"),),
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
    # the swept parameters' units go into the tables' sidecars
    from_study=lambda study: {**study.section("fit"), "units": study.parameter_units()}))
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
    "landscape", "the interactive score landscape: one self-contained HTML page (plotly) to "
                 "explore every swept parameter, metric and simulation's FC",
    "the study's figures: section (its metric opens the page, its units label the axes)",
    "brainsweep.figures.landscape_stage",
    inputs=(Port("scores", "scores.csv of the fit stage", "--scores"), EMPIRICAL,
            Port("shards", "the study's bold shards", many=True)),
    outputs=(Port("out", "output .html", "--out"),), from_study=_section("figures")))
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
register(Stage(
    "study-config", "the study's configuration as the workflow ran it (schema defaults filled "
                    "in): a YAML file and a page for the report",
    "a whole study config", "brainsweep.report.config_stage",
    outputs=(Port("out", "output .yaml", "--out"),
             Port("page", "also write the configuration as an HTML page here", "--page",
                  required=False)),
    from_study=lambda study: _plain_config(study)))
register(Stage(
    "table", "a study's scores.csv as an HTML table (units under the column names, the best "
             "and the diverged rows marked)",
    "the study's figures: section (its metric and units)", "brainsweep.report.table_stage",
    inputs=(Port("scores", "scores.csv of the fit stage", "--scores"),),
    outputs=(Port("out", "output .html", "--out"),), from_study=_section("figures")))
register(Stage(
    "netcdf", "one output of a study as labelled netCDF-4 (xarray.open_dataset): a "
              "simulation shard (BOLD), a bold shard (FC, FCD) or a fit table (scores.csv, "
              "realisations.csv)",
    "{units: {parameter: unit}} (a whole study file gives its swept parameters' units)",
    "brainsweep.export.stage",
    inputs=(Port("source", "a simulate or bold stage shard .npz, or scores.csv / "
                           "realisations.csv of the fit stage"),),
    outputs=(Port("out", "output .nc (a .json sidecar is added)", "--out"),),
    from_study=lambda study: {"units": study.parameter_units()}))
register(Stage(
    "reproduce", "measure and draw a published figure (config/studies/rateml-fig1, "
                 "rateml-fig2, tvbhpc-fig2): CSV, machine.json and PNG",
    "a reproduce study file (config/studies/rateml-fig1.yaml, ...) or its {study, "
    "reproduce} as one object", "brainsweep.reproduce.stage",
    options=(Port("panels", "run only these panels (the others' rows in the CSV are kept)",
                  "--panels", many=True, required=False),
             Port("plot_only", "redraw the PNG from the CSV without measuring",
                  "--plot-only", required=False, switch=True, default=False)),
    outputs=(Port("out_dir", "folder for <study>.csv, .png, machine.json", "--out-dir"),),
    whole_study=True))
register(Stage(
    "optimise", "fit free parameters per subject with CMA-ES or Optuna: one job's batch of "
                "subjects, every generation one batch of simulations, resumable per generation",
    "the study's optimise and bold sections with the shard stage's sections as one object",
    "brainsweep.optimise.stage",
    inputs=(Port("connectome", "the connectome stage's .npz (a per-subject stack for "
                               "optimise.structural: subject)", "--connectome"),
            EMPIRICAL,
            Port("kernel", "the kernel source to run (refused unless its spec hash is these "
                           "settings' spec); default: generated here", "--kernel",
                 required=False)),
    outputs=(Port("out", "the job's history: one CSV row per candidate", "--out"),),
    options=(Port("job", "0-based job id (a batch of subjects)", "--job", type=int),
             Port("study", "the study's name (it names the Optuna studies)", "--study",
                  required=False, default="study")),
    from_study=lambda study: study.optimise_settings()))
register(Stage(
    "optimise-summary", "merge an optimise study's jobs: history.csv, best.csv (per subject, "
                        "spread over restarts), convergence and fitted-parameter figures",
    "the study's optimise: section", "brainsweep.optimise.summary",
    inputs=(Port("jobs", "the jobs' history CSVs", many=True),),
    outputs=(Port("out_dir", "folder for history.csv and best.csv", "--out-dir"),
             Port("convergence", "the convergence figure (.png, .pdf or .svg)",
                  "--convergence"),
             Port("parameters", "the fitted parameters' distribution figure",
                  "--parameters")),
    from_study=_section("optimise")))
