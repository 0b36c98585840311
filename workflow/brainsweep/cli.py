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
        connectome.plot(connectome.Connectome.from_npz(path), args.figure)


def _cmd_empirical(args) -> None:
    from brainsweep import empirical

    empirical.run_stage(args.settings, args.out)


def _cmd_simulate(args) -> None:
    from brainsweep.simulate import run_stage

    run_stage(args.settings, args.connectome, args.shard, args.out)


def _cmd_bold(args) -> None:
    from brainsweep import bold

    bold.run_stage(args.shard, args.settings, args.out)


def _cmd_fit(args) -> None:
    from brainsweep import fit

    fit.run_stage(args.shards, args.empirical, args.settings, args.out_dir)


def _cmd_figures(args) -> None:
    from brainsweep import figures

    figures.run_stage(args.scores, args.shards, args.empirical, args.settings, args.out_dir)


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
                          stochastic=not args.deterministic)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brainsweep",
        description="Whole-brain network model sweeps: connectome -> kernels -> shards -> "
                    "BOLD -> FC -> fit -> figures. Each subcommand runs one stage.")
    parser.add_argument("--version", action="version", version=f"brainsweep {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def stage(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--settings", type=_settings, default={},
                       help="the stage's config section as a JSON object")
        return p

    p = stage("connectome", "read, clean and average a connectome into results/connectome/")
    p.add_argument("--out", required=True, help="output .npz (a .json sidecar is added)")
    p.add_argument("--figure", help="also write an overview figure (PNG) here")
    p.set_defaults(func=_cmd_connectome)

    p = stage("empirical", "empirical BOLD -> per-subject and group FC and FCD")
    p.add_argument("--out", required=True, help="output .npz")
    p.set_defaults(func=_cmd_empirical)

    p = stage("simulate", "simulate one shard of a study's parameter grid")
    p.add_argument("--connectome", required=True, help="the connectome stage's .npz")
    p.add_argument("--shard", type=int, required=True, help="0-based shard id")
    p.add_argument("--out", required=True, help="output shard .npz")
    p.set_defaults(func=_cmd_simulate)

    p = stage("bold", "post-process a shard's BOLD into FC (and FCD) per simulation")
    p.add_argument("--shard", required=True, help="a simulate stage shard .npz")
    p.add_argument("--out", required=True, help="output .npz")
    p.set_defaults(func=_cmd_bold)

    p = stage("fit", "score every simulation against empirical FC; scores.csv and best.json")
    p.add_argument("--empirical", required=True, help="the empirical stage's .npz")
    p.add_argument("--out-dir", required=True, help="folder for scores.csv and best.json")
    p.add_argument("shards", nargs="+", help="the study's bold shards")
    p.set_defaults(func=_cmd_fit)

    p = stage("figures", "score landscapes and FC comparison figures")
    p.add_argument("--scores", required=True, help="scores.csv of the fit stage")
    p.add_argument("--empirical", required=True, help="the empirical stage's .npz")
    p.add_argument("--out-dir", required=True, help="folder for the figures")
    p.add_argument("shards", nargs="+", help="the study's bold shards")
    p.set_defaults(func=_cmd_figures)

    p = sub.add_parser("models", help="list shipped models, their parameters and couplings")
    p.set_defaults(func=_cmd_models)

    p = stage("kernels", "write a model's generated kernel source (from --settings with the "
                         "study's model, coupling and integration sections, or from options)")
    p.add_argument("--model", help="shipped name, .yaml or RateML .xml")
    p.add_argument("--target", default="numba", help="numba, cuda or opencl")
    p.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    p.add_argument("--coupling", default="linear")
    p.add_argument("--integrator", default="heun", choices=("euler", "heun", "rk4"))
    p.add_argument("--deterministic", action="store_true", help="no noise")
    p.add_argument("--out", required=True, help="a folder or a file path")
    p.set_defaults(func=_cmd_kernels)

    p = sub.add_parser("info", help="targets and the devices each can see")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("bench", help="time the sweep engine's fixed benchmark problem "
                                     "(Kuramoto, TVB 68 regions) and print a table")
    from brainsweep.bench import add_arguments

    add_arguments(p)
    p.set_defaults(func=_cmd_bench)
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
