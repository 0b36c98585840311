"""The ``brainsweep`` command line: one subcommand per stage, plus models/kernels/info.

Every stage subcommand takes its config section as JSON (``--settings``), reads its inputs,
and writes its outputs atomically with a provenance sidecar. Snakemake rules call these; they
work just as well by hand. Bad input ends with one clear ``error:`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from brainsweep import __version__
from brainsweep.errors import BrainsweepError

__all__ = ["main"]


def _settings(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"--settings is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--settings must be a JSON object")
    return value


def _cmd_connectome(args) -> None:
    from brainsweep import connectome

    # `name` only names the output file (the rule's wildcard); the stage needs the rest
    settings = {k: v for k, v in args.settings.items() if k != "name"}
    path = connectome.run_stage(settings, args.out)
    if args.figure:
        from brainsweep.io import provenance, write_sidecar

        figure = connectome.plot(connectome.Connectome.from_npz(path), args.figure)
        write_sidecar(figure, provenance(
            inputs={"connectome": path}, config=settings, stage="connectome",
            figure="connectome_overview"))


def _cmd_empirical(args) -> None:
    from brainsweep import empirical

    empirical.run_stage(args.settings, args.out)


def _cmd_simulate(args) -> None:
    from brainsweep.simulate import run_stage

    memory = None if args.memory_mb is None else int(args.memory_mb * 2**20)
    run_stage(args.settings, args.connectome, args.shard, args.out, memory_bytes=memory)


def _cmd_bold(args) -> None:
    from brainsweep import bold

    bold.run_stage(args.shard, args.settings, args.out)


def _cmd_fit(args) -> None:
    from brainsweep import fit

    fit.run_stage(args.shards, args.empirical, args.settings, args.out_dir)


def _cmd_figures(args) -> None:
    from brainsweep import figures

    figures.run_stage(args.scores, args.shards, args.empirical, args.settings, args.out_dir)


def _cmd_recovery(args) -> None:
    from brainsweep import recovery

    recovery.run_stage(args.scores, args.empirical, args.settings, args.out,
                       metric=args.metric, figure=args.figure)


def _cmd_models(args) -> None:
    from brainsweep.dsl import list_couplings, list_models, load_model

    for name, path in list_models().items():
        model = load_model(path)
        print(f"{name}: {model.name} ({path.name})")
        print(f"  state variables: {', '.join(model.state_names)}; coupled: "
              f"{', '.join(model.coupled_states)}")
        for p in model.parameters:
            unit = f" {p.unit}" if p.unit else ""
            print(f"  {p.name} = {p.default:g}{unit}  {p.description}")
    print(f"couplings: {', '.join(list_couplings())}")


def _cmd_kernels(args) -> None:
    from brainsweep.backends import get_target
    from brainsweep.codegen import generate
    from brainsweep.io import atomic_path

    target = get_target(args.target)
    if args.settings:
        from brainsweep.simulate.stage import study_kernel_spec

        spec = study_kernel_spec(args.settings)
        source = generate(spec, target=args.target)
        stem = Path(str(args.settings["model"]["name"])).stem
    elif args.model:
        source = generate(args.model, target=args.target, dtype=args.dtype,
                          coupling=args.coupling, integrator=args.integrator,
                          stochastic=not args.deterministic, history_dtype=args.history_dtype)
        stem = Path(str(args.model)).stem
    else:
        raise BrainsweepError("give --model or --settings")
    out = Path(args.out)
    path = out / f"{stem}{target.file_suffix}" if out.suffix == "" else out
    with atomic_path(path) as tmp:
        tmp.write_text(source)
    print(path)


def _cmd_info(args) -> None:
    from brainsweep.backends import get_target, list_targets

    print(f"brainsweep {__version__}")
    for name in list_targets():
        target = get_target(name)
        ok, why = target.available()
        print(f"{name}: {'available' if ok else 'unavailable: ' + why}")
        if ok:
            for device in target.devices():
                print(f"  {device}")
    from brainsweep.info import hardware_lines

    for line in hardware_lines():  # what the targets cannot see themselves
        print(line)


def _cmd_bench(args) -> None:
    from brainsweep.bench import main_from_args

    main_from_args(args)


def _cmd_reproduce(args) -> None:
    from brainsweep.reproduce import run_stage
    from brainsweep.reproduce.settings import read_study

    if bool(args.settings) == bool(args.config):
        raise BrainsweepError("give exactly one of --settings (JSON) and --config (a study file)")
    settings = read_study(args.config) if args.config else args.settings
    paths = run_stage(settings, args.out_dir, plot_only=args.plot_only, panels=args.panels,
                      source=args.config)
    for path in paths.values():
        print(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brainsweep",
        description="Whole-brain network model sweeps: connectome -> kernels -> shards -> "
                    "BOLD -> FC -> fit -> figures. Each subcommand runs one stage.",
        epilog="The Snakemake workflow runs the stages: `snakemake -j2` the default study, "
               "`snakemake -j8 --configfile config/studies/<study>.yaml` another one. A stage "
               "takes its config section(s) as JSON (--settings), writes its outputs "
               "atomically with a provenance sidecar (<output>.json), and on bad input prints "
               "one `error:` line naming the file and key and exits with status 2. "
               "`brainsweep COMMAND --help` describes a command.")
    parser.add_argument("--version", action="version", version=f"brainsweep {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def stage(name: str, help_text: str, *,
              settings_help: str = "the stage's config section as a JSON object"
              ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--settings", type=_settings, default={}, help=settings_help)
        return p

    p = stage("connectome", "read, clean and average a connectome into results/connectome/",
              settings_help="the study's connectome: section as a JSON object (keys in "
                            "config/schema.yaml)")
    p.add_argument("--out", required=True, help="output .npz (a .json sidecar is added)")
    p.add_argument("--figure", help="also write an overview figure (PNG) here, with a "
                                    "provenance sidecar")
    p.set_defaults(func=_cmd_connectome)

    p = stage("empirical", "empirical BOLD -> per-subject and group FC and FCD",
              settings_help="the study's empirical: section with the bold: post-processing "
                            "under postprocess, as a JSON object")
    p.add_argument("--out", required=True, help="output .npz")
    p.set_defaults(func=_cmd_empirical)

    p = stage("simulate", "simulate one shard of a study's parameter grid (planned and "
                          "checked against the memory first)",
              settings_help="the study's model, coupling, integration, simulation, monitors, "
                            "sweep and shards sections as one JSON object")
    p.add_argument("--connectome", required=True, help="the connectome stage's .npz")
    p.add_argument("--shard", type=int, required=True, help="0-based shard id")
    p.add_argument("--out", required=True, help="output shard .npz")
    p.add_argument("--memory-mb", type=float, default=None,
                   help="host memory the shard may use, MiB (the rule passes its mem_mb); a "
                        "shard planned to need more, or more than the machine has available, "
                        "is refused with the numbers before anything runs")
    p.set_defaults(func=_cmd_simulate)

    p = stage("bold", "post-process a shard's BOLD into FC (and FCD) per simulation",
              settings_help="the study's bold: section (transient_s, detrend, bandpass, "
                            "zscore, gsr, fcd) as a JSON object")
    p.add_argument("--shard", required=True, help="a simulate stage shard .npz")
    p.add_argument("--out", required=True, help="output .npz")
    p.set_defaults(func=_cmd_bold)

    p = stage("fit", "score every simulation against empirical FC; scores.csv and best.json "
                     "(best row per metric, uncertainty across subjects)",
              settings_help="the study's fit: section (metric, weights) as a JSON object")
    p.add_argument("--empirical", required=True, help="the empirical stage's .npz")
    p.add_argument("--out-dir", required=True, help="folder for scores.csv and best.json")
    p.add_argument("shards", nargs="+", help="the study's bold shards")
    p.set_defaults(func=_cmd_fit)

    p = stage("figures", "score landscapes, FC and FCD at the best fit beside the empirical "
                         "data; each figure with a provenance sidecar",
              settings_help="the study's figures: section (metric, pairs, others, dpi, "
                            "format) as a JSON object")
    p.add_argument("--scores", required=True, help="scores.csv of the fit stage")
    p.add_argument("--empirical", required=True, help="the empirical stage's .npz")
    p.add_argument("--out-dir", required=True, help="folder for the figures")
    p.add_argument("shards", nargs="+", help="the study's bold shards")
    p.set_defaults(func=_cmd_figures)

    p = sub.add_parser("recovery", help="parameter recovery: the best fit's error in grid "
                                        "steps from a planted truth (recovery.json, landscape)",
                       description="Compare a recovery study's best fit with the truth it "
                                   "planted (docs/recovery.md); the workflow's rule "
                                   "evaluate_recovery runs this.")
    from brainsweep.recovery import add_arguments as add_recovery_arguments

    add_recovery_arguments(p)
    p.set_defaults(func=_cmd_recovery)

    p = sub.add_parser("models", help="list shipped models, their parameters and couplings",
                       description="List the shipped models (kernels/models/*.yaml): state and "
                                   "coupled variables, every parameter with its default, unit "
                                   "and meaning; then the coupling functions.")
    p.set_defaults(func=_cmd_models)

    p = stage("kernels", "write a model's generated kernel source (from --settings with the "
                         "study's model, coupling and integration sections, or from options)",
              settings_help="the study's model, coupling and integration sections (and "
                            "simulation, for its history_dtype) as one JSON object (instead "
                            "of --model and the options below)")
    p.add_argument("--model", help="shipped name, .yaml or RateML .xml")
    p.add_argument("--target", default="numba", help="numba, cuda or opencl")
    p.add_argument("--dtype", default="float64", choices=("float32", "float64"),
                   help="the kernel's floating-point type (default float64)")
    p.add_argument("--history-dtype", default=None, choices=("float16", "float32", "float64"),
                   help="storage type of the delay history (default: --dtype; float16 on the "
                        "cuda and opencl targets)")
    p.add_argument("--coupling", default=None,
                   help="a shipped coupling (default: the model file's own, else linear)")
    p.add_argument("--integrator", default="heun", choices=("euler", "heun", "rk4"),
                   help="integration scheme (default heun)")
    p.add_argument("--deterministic", action="store_true", help="no noise")
    p.add_argument("--out", required=True, help="a folder or a file path")
    p.set_defaults(func=_cmd_kernels)

    p = sub.add_parser("info", help="targets and the devices each can see (CPU cores, CUDA "
                                    "GPUs, OpenCL platforms)",
                       description="List every target (numba, cuda, opencl and plug-ins), "
                                   "whether it can run here and why not, the devices it sees, "
                                   "then the CPU cores this process may use, the GPUs the "
                                   "NVIDIA driver reports and the device variables set.")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("bench", help="time the sweep engine's fixed benchmark problem "
                                     "(Kuramoto, TVB 68 regions) and print a table",
                       description="Time the sweep engine's fixed benchmark problem (Kuramoto "
                                   "on TVB's 68-region connectome) on the chosen targets and "
                                   "print a table (docs/benchmarks.md).")
    from brainsweep.bench import add_arguments

    add_arguments(p)
    p.set_defaults(func=_cmd_bench)

    p = stage("reproduce", "measure and draw a published figure (config/studies/rateml-fig1, "
                           "rateml-fig2, tvbhpc-fig2): CSV, machine.json and PNG")
    p.add_argument("--config", help="a study file with a reproduce: section (instead of "
                                    "--settings)")
    p.add_argument("--out-dir", required=True, help="folder for <study>.csv, .png, machine.json")
    p.add_argument("--panels", nargs="+", help="run only these panels (the others' rows in "
                                               "the CSV are kept)")
    p.add_argument("--plot-only", action="store_true",
                   help="redraw the PNG from the CSV without measuring")
    p.set_defaults(func=_cmd_reproduce)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except BrainsweepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
