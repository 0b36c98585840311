"""The ``brainsweep`` command line: one subcommand per registered stage, plus models, info
and bench.

Every stage subcommand takes its config section (``--settings``: inline JSON, or a YAML/JSON
file of it, or a whole study file), reads its inputs,
and writes its outputs atomically with a provenance sidecar. Snakemake rules call these; they
work just as well by hand. Bad input ends with one clear ``error:`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from brainsweep import __version__
from brainsweep.errors import BrainsweepError, InputError

__all__ = ["main"]


def _settings(text: str) -> dict:
    """``--settings``: inline JSON (``{...}``), or a YAML or JSON file holding the stage's
    section(s) or a whole study file (the stage then reads its part of the study)."""
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise argparse.ArgumentTypeError(f"--settings is not valid JSON: {err}") from None
    else:
        import yaml

        try:
            value = yaml.safe_load(Path(text).read_text())
        except OSError as err:
            raise argparse.ArgumentTypeError(
                f"--settings is neither a JSON object nor a readable file: {text}: "
                f"{err.strerror}") from None
        except yaml.YAMLError as err:
            raise argparse.ArgumentTypeError(
                f"--settings file {text} is not valid YAML/JSON: {err}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--settings must be a JSON object (or a file of one)")
    return value


class _SettingsAction(argparse.Action):
    """Parse ``--settings`` and remember the file it came from (for error messages)."""

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            parsed = _settings(values)
        except argparse.ArgumentTypeError as error:  # usage and `error:` line, exit 2
            raise argparse.ArgumentError(self, str(error)) from None
        setattr(namespace, self.dest, parsed)
        namespace.settings_source = None if values.lstrip().startswith("{") else values


def _cmd_stage(args) -> None:
    """Any registered stage: settings checked into its type, then run(settings, in, out)."""
    from brainsweep.stages import get_stage

    stage = get_stage(args.command)
    settings = args.settings
    inputs = {port.name: getattr(args, port.name) for port in (*stage.inputs, *stage.options)}
    outputs = {port.name: getattr(args, port.name) for port in stage.outputs}
    try:
        if stage.whole_study:  # the file as it is, remembered for error messages
            if args.settings_source:
                settings = {**settings, "_source": args.settings_source}
        elif "study" in settings:  # a whole study file: its part
            from brainsweep.study import load_study

            settings = stage.from_study(load_study(settings, validate=True,
                                                   source=args.settings_source))
        checked = stage.settings(settings)
    except InputError as error:  # a key of the --settings file: name the file too
        if error.source is not None or args.settings_source is None:
            raise
        message = str(error).removeprefix(f"[{error.field}]: " if error.field else "")
        raise InputError(message, source=args.settings_source, field=error.field) from None
    stage.run(checked, inputs, outputs)
    # the last line of every stage's log: what it wrote (a folder: the folder)
    written = [str(value) for value in outputs.values() if value is not None]
    print(f"{stage.name}: wrote {', '.join(written)}", file=sys.stderr)


def tvb_class(model) -> str:
    """The TVB class a shipped model file reproduces, from its ``"TVB: tvb.simulator..."``
    reference (every shipped file has one, and its last component is the model's name);
    ``"TVB: none (...)"`` for a model TVB does not ship (e.g. SupHopf in other units)."""
    for ref in model.references:
        if ref.startswith("TVB: "):
            return ref.removeprefix("TVB: ")
    return "none"


def _cmd_models(args) -> None:
    from brainsweep.dsl import list_couplings, list_models, load_model

    shipped = list_models()
    if args.name is not None:
        if args.name not in shipped:
            raise BrainsweepError(f"unknown model {args.name!r}; shipped: {sorted(shipped)}")
        _describe_model(load_model(shipped[args.name]), shipped[args.name])
        return
    for name, path in shipped.items():
        model = load_model(path)
        print(f"{name}: {model.name} ({path.name}; TVB: {tvb_class(model)})")
        print(f"  state variables: {', '.join(model.state_names)}; coupled: "
              f"{', '.join(model.coupled_states)}")
        for p in model.parameters:
            unit = f" {p.unit}" if p.unit else ""
            print(f"  {p.name} = {p.default:g}{unit}  {p.description}")
    print(f"couplings: {', '.join(list_couplings())}")
    print("`brainsweep models NAME` shows one model's equations")


def _describe_model(model, path: Path) -> None:
    """One model in full: what it is, its equations as the file writes them, its parts."""
    import yaml

    written = yaml.safe_load(path.read_text()) or {}
    print(f"{model.name} ({path.name})")
    if model.description:
        print(f"  {model.description.strip()}")
    for reference in model.references:
        print(f"  reference: {reference}")
    print("state variables (d/dt as written in the file):")
    for state in model.states:
        lower = "-inf" if state.lower is None else f"{state.lower:g}"
        upper = "inf" if state.upper is None else f"{state.upper:g}"
        bounds = "" if state.lower is None and state.upper is None else \
            f", bounds [{lower}, {upper}]"
        equation = (written.get("derivatives") or {}).get(state.name, "")
        print(f"  d{state.name}/dt = {equation}")
        print(f"    initial {state.initial:g}, noise {state.noise:g}{bounds}")
    print("parameters:")
    for p in model.parameters:
        unit = f" {p.unit}" if p.unit else ""
        span = f" range [{p.range[0]:g}, {p.range[1]:g}]" if p.range else ""
        print(f"  {p.name} = {p.default:g}{unit}{span}  {p.description}")
    print("coupling terms: " + ", ".join(f"{term.name} (of {term.variable})"
                                         for term in model.coupling_terms))


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
        p.add_argument("--settings", action=_SettingsAction, default={}, help=settings_help)
        p.set_defaults(settings_source=None)
        return p

    from brainsweep.stages import get_stage, list_stages

    for name in list_stages():  # every registered stage, as the registry declares it
        declared = get_stage(name)
        p = stage(name, declared.help,
                  settings_help=f"{declared.settings_help}: inline JSON, or a YAML/JSON file "
                                f"of it, or a whole study file (its part is read)")
        for port in (*declared.inputs, *declared.options, *declared.outputs):
            if port.flag is None:
                p.add_argument(port.name, nargs="+" if port.many else None, help=port.help)
            elif port.switch:
                p.add_argument(port.flag, dest=port.name, action="store_true", help=port.help)
            else:
                p.add_argument(port.flag, dest=port.name, type=port.type, help=port.help,
                               required=port.required, default=port.default,
                               choices=port.choices() if callable(port.choices)
                               else port.choices, nargs="+" if port.many else None)
        p.set_defaults(func=_cmd_stage)

    p = sub.add_parser("models", help="list shipped models, their parameters and couplings",
                       description="List the shipped models (kernels/models/*.yaml): the TVB "
                                   "class each reproduces (a model's name is that class's "
                                   "name), state and coupled variables, every parameter with "
                                   "its default, unit and meaning; then the coupling "
                                   "functions.")
    p.add_argument("name", nargs="?", help="one model: its equations, parameters and "
                                           "references")
    p.set_defaults(func=_cmd_models)

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

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
        sys.stdout.flush()
    except BrainsweepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `brainsweep models | head`: the reader left; say nothing more. stdout is pointed at
        # the null device so that the interpreter's own flush at exit cannot fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except OSError as err:  # a refusal of the system that no stage turned into its own error
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
