"""Time the sweep benchmark for one kernel variant: ``brainsweep bench`` plus knobs.

Usage (repository root)::

    python benchmarks/sweep_bench.py --target cuda --sizes 32768 --steps 4000 \\
        [--package benchmarks/baseline/workflow] [--batch 8] [--parts 4] [--max-registers 64]
        [--label name]

``--package`` puts another checkout's ``brainsweep`` first on the path (an older kernel kept
for comparison); the timing code (``workflow/brainsweep/bench.py``) is always this
checkout's, loaded by file path, and uses only the public API. ``--batch``, ``--parts`` and
``--max-registers`` set the GPU targets' tuning knobs (history loads issued together, threads
per simulation, nvcc's register cap) where the package has them. One line per size is also
appended to ``--log`` (JSON lines) for docs/perf-notes.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_bench(package: Path):
    """This checkout's bench module, over the ``brainsweep`` found first under ``package``."""
    sys.path.insert(0, str(package.resolve()))
    spec = importlib.util.spec_from_file_location("sweep_bench_impl",
                                                  ROOT / "workflow" / "brainsweep" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def apply_knobs(batch: int | None, parts: int | None, max_registers: int | None) -> None:
    """Set the GPU targets' tuning class attributes, where the package has them."""
    from brainsweep.backends import cuda_target, opencl_target

    for cls in (cuda_target.CudaTarget, opencl_target.OpenCLTarget):
        for name, value in (("connection_batch", batch), ("node_parts", parts),
                            ("max_registers", max_registers)):
            if value is not None and hasattr(cls, name):
                setattr(cls, name, value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, default=ROOT / "workflow",
                        help="folder holding the brainsweep package to time")
    parser.add_argument("--batch", type=int, help="history loads issued together")
    parser.add_argument("--parts", type=int, help="threads per simulation")
    parser.add_argument("--max-registers", type=int, help="nvcc register cap (CUDA)")
    parser.add_argument("--label", default="current", help="variant name for the log")
    parser.add_argument("--log", type=Path, help="append JSON lines here")
    bench_args, rest = parser.parse_known_args(argv)
    bench = load_bench(bench_args.package)
    inner = argparse.ArgumentParser()
    bench.add_arguments(inner)
    args = inner.parse_args(rest)
    knobs = {"batch": bench_args.batch, "parts": bench_args.parts,
             "max_registers": bench_args.max_registers}
    apply_knobs(**knobs)
    history = None if args.history_dtype in (None, "float32") else args.history_dtype
    rows = bench.run_bench(args.target, args.sizes, n_steps=args.steps, device=args.device,
                           bandwidth=args.bandwidth, history_dtype=history)
    print(f"# variant {bench_args.label}: package {bench_args.package}, {knobs}")
    print(bench.format_table(rows))
    if bench_args.log:
        with bench_args.log.open("a") as log:
            for row in rows:
                log.write(json.dumps({"label": bench_args.label, **knobs, **asdict(row)})
                          + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
