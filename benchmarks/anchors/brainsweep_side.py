"""Time brainsweep on the two anchor problems (the other side of the RateML and vbjax rows).

Usage (repository root)::

    python benchmarks/anchors/brainsweep_side.py --target cuda --steps 4000 --json bs.json
    python benchmarks/anchors/brainsweep_side.py --target numba --kuramoto-sizes 16 \\
        --mpr-sizes 4 --steps 200        # a CPU check of the same code path

Kuramoto: ``brainsweep.bench.run_bench``, the ``brainsweep bench`` problem (stochastic Euler,
16 speeds 1-10 m/s × couplings 0-2, BOLD in the kernel). MontbrioPazoRoxin:
``brainsweep.simulate.run`` with the model file's TVB defaults, linear coupling of r and V,
stochastic Heun, noise D = 1e-3 on r and V, one speed (3 m/s), float32, P couplings 0-0.5,
the tavg monitor (every 10 steps). Both time ``run_s`` of the result: uploads, every launch
and the final synchronisation, after a warm-up call that generates and compiles the kernel;
the output copy to the host is excluded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import problems  # noqa: E402


def mpr_options(target: str) -> dict:
    """``simulate.run`` keywords of the MontbrioPazoRoxin anchor problem."""
    return dict(target=target, dt=problems.DT, integrator="heun", coupling="linear",
                stochastic=True, noise={"r": problems.MPR_NOISE_D, "V": problems.MPR_NOISE_D},
                dtype="float32", seed=7, monitors=("tavg",), tavg_period=10)


def mpr_params(n_sims: int) -> dict[str, np.ndarray]:
    return {"global_coupling": problems.mpr_couplings(n_sims),
            "speed": np.full(n_sims, problems.MPR_SPEED)}


def time_mpr(target: str, sizes, n_steps: int) -> list[dict]:
    """One record per P: the MontbrioPazoRoxin problem through ``simulate.run``."""
    from brainsweep import connectome, simulate

    conn = connectome.load(problems.CONNECTOME)
    initial = np.array(problems.MPR_INITIAL)[:, None] * np.ones(conn.weights.shape[0])
    options = mpr_options(target)
    simulate.run(conn, "montbrio", n_steps=20, params=mpr_params(16), initial_state=initial,
                 **options)  # warm-up: generation, compilation, module load
    records = []
    for n_sims in sizes:
        out = simulate.run(conn, "montbrio", n_steps=n_steps, params=mpr_params(n_sims),
                           initial_state=initial, **options)
        run_s = out.timings["run_s"]
        records.append({"engine": "brainsweep", "target": target, "model": "montbrio",
                        "n_sims": n_sims, "n_steps": n_steps, "run_s": run_s,
                        "sim_steps_per_s": n_sims * n_steps / run_s,
                        "diverged": int(np.count_nonzero(out.diverged))})
        print(json.dumps(records[-1]), flush=True)
    return records


def write_reference(target: str, path: Path, n_sims: int, n_steps: int) -> None:
    """The MontbrioPazoRoxin problem without noise, every step kept (raw monitor), for
    ``vbjax_mpr.py --check``."""
    from brainsweep import connectome, simulate

    conn = connectome.load(problems.CONNECTOME)
    initial = np.array(problems.MPR_INITIAL)[:, None] * np.ones(conn.weights.shape[0])
    options = {**mpr_options(target), "stochastic": False, "monitors": ("raw",),
               "raw_period": 1, "dtype": "float64"}
    params = mpr_params(n_sims)
    out = simulate.run(conn, "montbrio", n_steps=n_steps, params=params, initial_state=initial,
                       **options)
    np.savez(path, raw=out.raw, global_coupling=params["global_coupling"], target=target)
    print(f"wrote {path}: raw {out.raw.shape}")


def time_kuramoto(target: str, sizes, n_steps: int) -> list[dict]:
    """One record per P: the ``brainsweep bench`` problem."""
    from brainsweep.bench import run_bench

    records = []
    for row in run_bench(target, sizes, n_steps=n_steps, connectome_path=problems.CONNECTOME):
        records.append({"engine": "brainsweep", "target": target, "model": "kuramoto",
                        "n_sims": row.n_sims, "n_steps": row.n_steps, "run_s": row.run_s,
                        "sim_steps_per_s": row.sim_steps_per_s, "diverged": row.diverged})
        print(json.dumps(records[-1]), flush=True)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="cuda")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--kuramoto-sizes", type=int, nargs="*",
                        default=list(problems.KURAMOTO_SIZES))
    parser.add_argument("--mpr-sizes", type=int, nargs="*", default=list(problems.MPR_SIZES))
    parser.add_argument("--json", type=Path, help="write every record here")
    parser.add_argument("--reference", type=Path,
                        help="instead: write the noise-free MontbrioPazoRoxin trajectories of "
                             "--mpr-sizes[0] simulations (float64) here")
    args = parser.parse_args(argv)
    if args.reference:
        write_reference(args.target, args.reference, args.mpr_sizes[0], args.steps)
        return 0
    records = []
    if args.kuramoto_sizes:
        records += time_kuramoto(args.target, args.kuramoto_sizes, args.steps)
    if args.mpr_sizes:
        records += time_mpr(args.target, args.mpr_sizes, args.steps)
    if args.json:
        args.json.write_text(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
