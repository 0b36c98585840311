# Shared helpers of rules/*.smk - the study, stage settings as JSON, code hashes, outputs.
import hashlib
import json
from pathlib import Path

from brainsweep.backends import get_target
from brainsweep.simulate.memory import available_memory_bytes
from brainsweep.study.capacity import check_study_fits
from brainsweep.study import SECTIONS as SIMULATE_SECTIONS
from brainsweep.study import load_study

PACKAGE = Path(workflow.basedir) / "workflow" / "brainsweep"
# the validated config, read once into typed settings (brainsweep.study; schema defaults)
SETTINGS = load_study(config)
STUDY = SETTINGS.name
# A study with a reproduce: section (rules/reproduce.smk) has none of the fitting workflow's
# sections: the Snakefile includes only that rule file, and these names stay undefined.
REPRODUCE = SETTINGS.reproduce is not None
if not REPRODUCE:
    MODEL = Path(SETTINGS.kernel.model.name).stem
    TARGET = SETTINGS.target
    # what rules need of the target (file suffix, conda env, GPU or not) is the target's
    TARGET_INFO = get_target(TARGET)
    # counted, not expanded: a grid or shard too large for this host is refused here, with
    # the numbers, before Snakemake plans a job (brainsweep.study.capacity)
    check_study_fits(SETTINGS, {"this host": available_memory_bytes()})
    SHARDS = list(range(SETTINGS.simulate.shard_count()))
    # every output that depends on a study's settings lives under the study's name, so two
    # studies never write (or plan to overwrite) each other's connectome, empirical FC or
    # kernel
    CONNECTOME = f"results/connectome/{STUDY}/{SETTINGS.connectome['name']}"
    EMPIRICAL = f"results/empirical/{STUDY}/{SETTINGS.empirical['name']}.npz"
    KERNEL = f"results/kernels/{STUDY}/{MODEL}{TARGET_INFO.file_suffix}"
    FIGURE_FORMAT = SETTINGS.figures["format"]


def code_hash(*parts):
    """sha256 of the package files a stage runs (modules or folders): editing them reruns it."""
    digest = hashlib.sha256()
    for part in parts:
        path = PACKAGE / part
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def settings_json(*sections, **extra):
    """The named config sections as one JSON object (one section: that section alone)."""
    if len(sections) == 1 and not extra:
        return json.dumps(SETTINGS.section(sections[0]), sort_keys=True)
    merged = {
        name: SETTINGS.section(name) if name in SETTINGS.config else None
        for name in sections
    }
    merged.update(extra)
    return json.dumps(merged, sort_keys=True)


def empirical_settings_json():
    """The empirical section with the bold post-processing merged in (Study.empirical_settings)."""
    return json.dumps(SETTINGS.empirical_settings(), sort_keys=True)


def figure_settings_json():
    """The figures section, its units those of every swept parameter (Study.parameter_units:
    a unit the study gives in figures.units wins over the model file's)."""
    figures = dict(SETTINGS.section("figures"))
    figures["units"] = SETTINGS.parameter_units()
    return json.dumps(figures, sort_keys=True)


def fit_settings_json():
    """The fit section, the swept parameters' units added for the tables' sidecars."""
    return json.dumps(
        {**SETTINGS.section("fit"), "units": SETTINGS.parameter_units()}, sort_keys=True
    )


def netcdf_settings_json():
    """What the netCDF stage reads: the swept parameters' units."""
    return json.dumps({"units": SETTINGS.parameter_units()}, sort_keys=True)


def netcdf_outputs():
    """The netCDF-4 twins of the shards and of the fit tables (rules/netcdf.smk)."""
    shards = [
        f"results/{stage}/{STUDY}/shard-{shard}.nc"
        for stage in ("sims", "bold")
        for shard in SHARDS
    ]
    tables = [f"results/fit/{STUDY}/{name}.nc" for name in ("scores", "realisations")]
    return shards + tables


def kernel_settings_json():
    """What a kernel is made of (Study.kernel_settings): model, coupling, the integrator's
    method, noise and type, and simulation.history_dtype; nothing else regenerates it.
    """
    return json.dumps(SETTINGS.kernel_settings(), sort_keys=True)


def kernel_files():
    """The files the kernel is generated from (model file, couplings file, every template the
    target's main template renders, found by following its includes): the rule's inputs.
    """
    return {
        name: [str(path) for path in paths]
        for name, paths in SETTINGS.kernel.files(TARGET).items()
    }


def truth_settings_json():
    """The simulate settings of a recovery study's planted truth (brainsweep.recovery)."""
    from brainsweep.recovery import truth_path, truth_settings

    empirical = config["empirical"]
    if (
        empirical["source"] != truth_path(STUDY)
        or empirical.get("format") != "simulated"
    ):
        raise ValueError(
            f"a recovery study reads its truth as empirical data: set empirical.source to "
            f"{truth_path(STUDY)} and empirical.format to simulated"
        )
    return json.dumps(truth_settings(config), sort_keys=True)


def recovery_outputs():
    if SETTINGS.recovery is None:
        return []
    return [
        f"results/fit/{STUDY}/recovery.json",
        f"results/figures/{STUDY}/recovery_landscape.{FIGURE_FORMAT}",
    ]


def figure_outputs(kind=None):
    """Figures of the figures stage (brainsweep.figures.figure_files): one kind or all."""
    from brainsweep.figures import figure_files

    # which parameters take more than one value, from the axes (the grid is not expanded)
    axes = SETTINGS.simulate.grid.axes_values()
    swept = [name for name, values in axes.items() if len(set(values.tolist())) > 1]
    # the FCD figure needs FCD values, which the bold and empirical stages compute together
    has_fcd = SETTINGS.bold["fcd"] is not None
    files = figure_files(SETTINGS.section("figures"), swept, fcd=has_fcd)
    kinds = [kind] if kind else list(files)
    return [f"results/figures/{STUDY}/{name}" for k in kinds for name in files[k]]


def get_bold_shards(wildcards=None):
    return expand("results/bold/{study}/shard-{shard}.npz", study=STUDY, shard=SHARDS)


def reproduce_outputs():
    """The CSV, PNG and machine record of a reproduce study (brainsweep.reproduce)."""
    from brainsweep.reproduce import output_paths

    paths = output_paths(STUDY, f"results/reproduce/{STUDY}")
    return [str(paths[kind]) for kind in ("csv", "png", "machine")]


def optimise_outputs():
    """An optimise study's tables and figures (rules/optimise.smk)."""
    return [
        f"results/optimise/{STUDY}/history.csv",
        f"results/optimise/{STUDY}/best.csv",
        f"results/figures/{STUDY}/optimise_convergence.{FIGURE_FORMAT}",
        f"results/figures/{STUDY}/optimise_parameters.{FIGURE_FORMAT}",
    ]


def get_final_outputs():
    if REPRODUCE:
        return reproduce_outputs()
    if SETTINGS.optimise is not None:
        # the grid of its sweep: section stays a target of its own (results/fit/<study>/)
        return [f"{CONNECTOME}.png", *optimise_outputs()]
    return [
        f"{CONNECTOME}.png",
        f"results/fit/{STUDY}/scores.csv",
        f"results/fit/{STUDY}/best.json",
        f"results/fit/{STUDY}/scores.html",
        f"results/config/{STUDY}.yaml",
        f"results/figures/{STUDY}/landscape.html",
        *netcdf_outputs(),
        *figure_outputs(),
        *recovery_outputs(),
    ]


def check_target_runs_here():
    """Stop a local run whose target cannot run on this machine, before any job runs.

    The target's own check gives the one-line reason (an OpenCL whose compiler does not know
    this CPU, no GPU, a missing package), so the study writes nothing. A run through a
    cluster executor is not checked here: its jobs run on other nodes (GPU partitions).
    """
    if REPRODUCE or not workflow.local_exec:
        return
    from snakemake.exceptions import WorkflowError

    from brainsweep.backends import get_target

    ok, why = get_target(TARGET).available()
    if not ok:
        raise WorkflowError(
            f"simulation.target {TARGET!r} cannot run on this machine: {why}"
        )
