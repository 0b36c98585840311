"""Does a noise realisation move nearby parameter points alike? (docs/fitting.md)

Four points of the default problem's ridge are each simulated with the same four blocks of
80 noise keys (keys 800-879, 1040-1119 and 1120-1199, which the optimise stage's validation
of the 1 200-simulation runs used, and a block far above them). Printed: each block's mean
per point, the correlation between points of one key's objective, and the spread of a
two-point difference with common keys against independent ones. A high correlation means
that scores validated with different key blocks differ by the blocks' luck, and that
comparisons on common keys (benchmarks/validate_points.py, optimise.common_noise) are far
more precise.

    python benchmarks/noise_correlation.py --target cuda
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import optimise_vs_grid as bench  # noqa: E402

from brainsweep.optimise.evaluate import Batch, run_batch  # noqa: E402

POINTS = np.array([[6.065, -0.652], [4.435, -0.417], [7.946, -0.830], [6.258, -0.710]])
BLOCKS = {"800": 800, "1040": 1040, "1120": 1120, "big": 3 * 2**30 + 5000}
PER_BLOCK = 80


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=None, help="override simulation.target")
    args = parser.parse_args()
    study = yaml.safe_load((bench.ROOT / "config/config.yaml").read_text())
    if args.target:
        study["simulation"]["target"] = args.target
    connectome, empirical = bench.build_inputs(study, Path(tempfile.mkdtemp()))
    box, objective = bench.PROBLEMS["default"]["box"], bench.PROBLEMS["default"]["objective"]
    parsed = bench.probe_settings(study, box)
    target = bench.group_target(connectome, empirical, objective)
    params, keys = [], []
    for point in POINTS:
        for first in BLOCKS.values():
            for k in range(PER_BLOCK):
                params.append(point)
                keys.append(first + k)
    started = time.perf_counter()
    table, _ = run_batch(parsed.simulate, list(box),
                         Batch(subjects=[0] * len(keys), params=np.array(params),
                               sim_index=np.array(keys)),
                         [target], bold_options=parsed.bold, weights=objective)
    print(f"{len(keys)} sims in {time.perf_counter() - started:.0f} s")
    values = table["objective"].to_numpy().reshape(len(POINTS), len(BLOCKS), PER_BLOCK)
    print("point | " + " | ".join(BLOCKS) + f"  ({PER_BLOCK}-key means)")
    for point, blocks in zip(POINTS, values, strict=True):
        print(point, " ".join(f"{m:.4f}±{s:.4f}" for m, s in zip(
            blocks.mean(1), blocks.std(1, ddof=1) / np.sqrt(PER_BLOCK), strict=True)))
    flat = values.reshape(len(POINTS), -1)
    print("correlation of realisations across points (same key):")
    print(np.round(np.corrcoef(flat), 3))
    difference = flat[0] - flat[3]
    print(f"difference point0-point3: common keys sd {difference.std(ddof=1):.4f} vs "
          f"independent sd {np.sqrt(flat[0].var(ddof=1) + flat[3].var(ddof=1)):.4f}")


if __name__ == "__main__":
    main()
