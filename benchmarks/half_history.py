"""float16 against float32 delay history on a GPU target: speed, bytes and error, printed.

Usage (repository root, a GPU machine)::

    python benchmarks/half_history.py speed --target cuda --sizes 1024 8192 32768 131072
    python benchmarks/half_history.py kuramoto --target cuda
    python benchmarks/half_history.py montbrio --target cuda [--duration-s 110]

``speed`` times ``brainsweep bench`` (Kuramoto on TVB's 68 regions, 40 000 steps, float32
arithmetic) with float32 and float16 history, alternating, ``--repeats`` times per size.
``kuramoto`` runs the benchmark problem once with each history and compares the phases (wrapped
differences), the order parameter and the BOLD signal; its 4 s give only five BOLD frames, too
few for FC. ``montbrio`` runs the default study's MontbrioPazoRoxin (tau 10 ms, dt 0.144 ms,
stochastic Heun, r coupling only, its noise and initial state) on HCP subject 101309's 80
cortical regions over a 32 x 32 grid of the study's couplings and speeds, 10 s transient plus
``--duration-s``, BOLD at TR 0.72 s, and compares BOLD and, per simulation, the FC after the
bold stage's post-processing (detrend, 0.01-0.1 Hz band-pass, z-score). Every line is also
appended to ``--json`` (JSON lines).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
sys.path.insert(0, str(ROOT / "tests"))

from brainsweep import bench, connectome, simulate  # noqa: E402
from brainsweep.bold.connectivity import fc, upper_triangle  # noqa: E402
from brainsweep.bold.filters import postprocess  # noqa: E402

HISTORIES = (None, "float16")
# the runs of the error parts: kernel dtype and history storage. "f64" is the yardstick: how
# far float32 arithmetic itself (float32 history) is from float64 on the same problem
VARIANTS = {"f32": ("float32", None), "f16": ("float32", "float16"), "f64": ("float64", None)}


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


def emit(record: dict, path: str | None) -> None:
    print("  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in record.items()))
    if path:
        with open(path, "a") as handle:
            handle.write(json.dumps(record) + "\n")


def speed(args) -> None:
    rows = []
    for _ in range(args.repeats):
        for history in HISTORIES:
            rows += bench.run_bench(args.target, args.sizes, n_steps=args.steps,
                                    device=args.device, history_dtype=history)
    rows.sort(key=lambda r: (r.n_sims, r.history_dtype != "float32"))
    print(bench.format_table(rows))
    for row in rows:
        emit({"part": "speed", "target": row.target, "history": row.history_dtype,
              "P": row.n_sims, "steps": row.n_steps, "Msim_steps_s": row.sim_steps_per_s / 1e6,
              "KiB_sim": row.bytes_per_sim / 1024, "floor_B": row.floor_bytes,
              "diverged": row.diverged}, args.json)


def kuramoto(args) -> None:
    conn = connectome.load(bench._CONNECTOME)
    n_sims, n_nodes = args.sims, conn.weights.shape[0]
    grid = bench.bench_grid(n_sims)
    initial = np.random.default_rng(5).uniform(0.0, 2 * np.pi, (n_sims, 1, n_nodes))
    tavg_period = 400  # 40 ms: 100 frames of the phase
    options = dict(target=args.target, dt=0.1, integrator="euler", coupling="kuramoto_mean_field",
                   stochastic=True, noise={"theta": bench.NOISE_D}, seed=5,
                   monitors=("tavg", "bold"), tavg_period=tavg_period, bold_period_s=0.72,
                   bold_dt_s=1e-3, n_steps=args.steps, params=grid, initial_state=initial)
    if args.device:
        options["device"] = args.device
    out = {}
    for name in args.variants:
        dtype, history = VARIANTS[name]
        started = time.perf_counter()
        out[name] = simulate.run(conn, "kuramoto", dtype=dtype, history_dtype=history,
                                 **options)
        print(f"# kuramoto {name}: {time.perf_counter() - started:.1f} s")
    full = out["f32"]
    for name in (n for n in args.variants if n != "f32"):
        other = out[name]
        for frame in (9, 24, 49, 99):  # t = 0.4, 1, 2, 4 s (tavg frame ends)
            if frame >= full.tavg.shape[1]:
                continue
            a = other.tavg[:, frame, 0].astype(np.float64)
            b = full.tavg[:, frame, 0].astype(np.float64)
            wrapped = np.abs(np.angle(np.exp(1j * (a - b))))
            order = np.abs(np.abs(np.exp(1j * a).mean(-1)) - np.abs(np.exp(1j * b).mean(-1)))
            emit({"part": "kuramoto", "compare": f"{name}-f32", "target": args.target,
                  "P": n_sims, "t_s": (frame + 1) * tavg_period * 1e-4,
                  "max_abs_theta": float(np.abs(b).max()),
                  "phase_err_median": float(np.median(wrapped)),
                  "phase_err_p99": float(np.quantile(wrapped, 0.99)),
                  "phase_err_max": float(wrapped.max()),
                  "order_param_err_max": float(order.max()),
                  "diverged": f"{int(full.diverged.sum())}/{int(other.diverged.sum())}"},
                 args.json)
        keep = ~(full.diverged | other.diverged)
        if full.bold.shape[1] == 0:
            continue
        emit({"part": "kuramoto-bold", "compare": f"{name}-f32", "target": args.target,
              "P": n_sims, "frames": full.bold.shape[1],
              "bold_rel_err": relative_error(other.bold[keep], full.bold[keep]),
              "bold_max_abs_err": float(np.abs(other.bold[keep] - full.bold[keep]).max()),
              "bold_max_abs": float(np.abs(full.bold[keep]).max())}, args.json)


def montbrio(args) -> None:
    from conftest import hcp_subject  # tests/conftest.py: the test data's loader

    conn = hcp_subject()
    side = int(round(np.sqrt(args.sims)))
    coupling, speed_ = np.meshgrid(np.linspace(16.5, 20.0, side), np.linspace(2.0, 16.0, side),
                                   indexing="ij")
    dt, tr, transient_s = 0.144, 0.72, 10.0
    n_steps = round((transient_s + args.duration_s) / (dt * 1e-3))
    options = dict(target=args.target, dt=dt, integrator="heun", coupling="linear",
                   stochastic=True, noise={"r": 5.0e-6, "V": 5.0e-3},
                   seed=42, monitors=("bold",), bold_period_s=tr, bold_dt_s=0.00144,
                   n_steps=n_steps, params={"global_coupling": coupling.ravel(),
                                            "speed": speed_.ravel()},
                   initial_state=np.array([[0.01], [-2.0]]) * np.ones((2, 80)))
    if args.device:
        options["device"] = args.device
    from brainsweep.dsl import load_model

    model = load_model("montbrio").with_defaults(tau=10.0).with_initial(r=0.01, V=-2.0)
    model = model.with_coupling_terms(["Coupling_Term_r"])
    out = {}
    for name in args.variants:
        dtype, history = VARIANTS[name]
        started = time.perf_counter()
        out[name] = simulate.run(conn, model, dtype=dtype, history_dtype=history, **options)
        elapsed = time.perf_counter() - started
        print(f"# montbrio {name}: {elapsed:.1f} s, "
              f"{side * side * n_steps / out[name].timings['run_s'] / 1e6:.1f} M sim-steps/s")
    full = out["f32"]
    for name in (n for n in args.variants if n != "f32"):
        other = out[name]
        keep = ~(full.diverged | other.diverged)
        fc_full, fc_other = (
            upper_triangle(fc(postprocess(run.bold[keep].astype(np.float64), tr=tr,
                                          transient_s=transient_s, detrend=True,
                                          bandpass=(0.01, 0.1), zscore=True)))
            for run in (full, other))
        per_sim = np.array([np.corrcoef(a, b)[0, 1]
                            for a, b in zip(fc_other, fc_full, strict=True)])
        emit({"part": "montbrio", "compare": f"{name}-f32", "target": args.target,
              "P": side * side, "steps": n_steps, "bold_frames": full.bold.shape[1],
              "diverged": f"{int(full.diverged.sum())}/{int(other.diverged.sum())}",
              "diverged_differ": int((full.diverged != other.diverged).sum()),
              "bold_rel_err": relative_error(other.bold[keep], full.bold[keep]),
              "bold_max_abs_err": float(np.abs(other.bold[keep] - full.bold[keep]).max()),
              "fc_max_abs_err": float(np.abs(fc_other - fc_full).max()),
              "fc_corr_min": float(per_sim.min()),
              "fc_corr_p01": float(np.quantile(per_sim, 0.01)),
              "fc_corr_median": float(np.median(per_sim)),
              "sims_fc_corr_below_0.99": int((per_sim < 0.99).sum()),
              "mean_fc_corr": float(np.corrcoef(fc_other.mean(0), fc_full.mean(0))[0, 1])},
             args.json)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("speed", "kuramoto", "montbrio"))
    parser.add_argument("--target", default="cuda")
    parser.add_argument("--device")
    parser.add_argument("--sizes", type=int, nargs="+", default=[32768])
    parser.add_argument("--steps", type=int, default=bench.BENCH_STEPS)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--sims", type=int, default=None,
                        help="simulations (kuramoto: 32768; montbrio: 1024, a square)")
    parser.add_argument("--duration-s", type=float, default=110.0)
    parser.add_argument("--variants", nargs="+", default=["f32", "f16"], choices=VARIANTS,
                        help="error parts: the runs compared with f32 (f64: the yardstick)")
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.sims is None:
        args.sims = 32768 if args.part == "kuramoto" else 1024
    {"speed": speed, "kuramoto": kuramoto, "montbrio": montbrio}[args.part](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
