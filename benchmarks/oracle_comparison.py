"""Numba kernel vs the float64 oracle on the HCP group connectome: table and figure.

Runs MontbrioPazoRoxin (TVB defaults, Heun, dt 0.1 ms, 10 000 steps) on the 80-region HCP
group connectome with real delays, deterministic and with noise (same seed), through the
generated Numba kernel (float64 and float32) and through `brainsweep.reference`, prints the
relative errors and draws both trajectories of a few regions.

    python benchmarks/oracle_comparison.py [--out docs/figures/oracle_comparison.png]
"""

from __future__ import annotations

import argparse
import platform
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from brainsweep import connectome, reference, simulate  # noqa: E402
from brainsweep.codegen import kernel_spec  # noqa: E402
from brainsweep.dsl import load_model  # noqa: E402
from brainsweep.io import atomic_path  # noqa: E402
from brainsweep.monitors.balloon import balloon_preset  # noqa: E402

N_STEPS, DT, SEED, SIM = 10_000, 0.1, 42, 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/figures/oracle_comparison.png")
    args = parser.parse_args()

    conn = connectome.preprocess(connectome.load("resources/hcp-aal2"),
                                 regions={"preset": "aal2-cortical"}, normalise="max")
    model = load_model("montbrio")
    params = {"global_coupling": [0.4], "speed": [3.0]}
    initial = np.array([[s.initial] * conn.weights.shape[0] for s in model.states])
    rows, traces = [], {}
    for stochastic in (False, True):
        spec = kernel_spec(model, stochastic=stochastic)
        started = time.perf_counter()
        ref = reference.simulate_one(
            spec, weights=conn.weights, lengths=conn.lengths,
            params={**dict(zip(spec.parameter_names,
                               simulate.parameter_table(spec, params)[0], strict=True))},
            dt=DT, n_steps=N_STEPS, initial=initial,
            noise=np.array([s.noise for s in model.states]), seed=SEED, sim_index=SIM,
            raw_period=1, bold_period=1000, bold_substeps=10,
            balloon=balloon_preset("friston2003"), dt_bold_s=1e-3)
        oracle_s = time.perf_counter() - started
        for dtype in ("float64", "float32"):
            out = simulate.run(conn, model, dt=DT, n_steps=N_STEPS, params=params,
                               stochastic=stochastic, seed=SEED, sim_index=[SIM],
                               monitors=("raw", "bold"), bold_period_s=0.1, bold_dt_s=1e-3,
                               dtype=dtype)
            err = np.linalg.norm(out.raw[0] - ref.raw) / np.linalg.norm(ref.raw)
            err_bold = np.linalg.norm(out.bold[0] - ref.bold) / np.linalg.norm(ref.bold)
            rows.append((("noise" if stochastic else "deterministic"), dtype, err, err_bold,
                         out.timings["run_s"], oracle_s))
            traces[(stochastic, dtype)] = out.raw[0]
        traces[(stochastic, "oracle")] = ref.raw

    print(f"machine: {platform.processor() or platform.machine()}, {platform.node()}; "
          f"80 regions, {N_STEPS} steps of {DT} ms")
    print(f"{'run':>14} {'dtype':>8} {'rel.err state':>14} {'rel.err BOLD':>13} "
          f"{'kernel s':>9} {'oracle s':>9}")
    for run, dtype, err, err_bold, kernel_s, oracle_s in rows:
        print(f"{run:>14} {dtype:>8} {err:14.2e} {err_bold:13.2e} {kernel_s:9.2f} "
              f"{oracle_s:9.2f}")

    fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    time_ms = np.arange(1, N_STEPS + 1) * DT
    for ax, stochastic in zip(axes, (False, True), strict=True):
        for node, colour in zip((0, 20, 50), ("C0", "C1", "C2"), strict=True):
            ax.plot(time_ms, traces[(stochastic, "oracle")][:, 0, node], color=colour, lw=2.5,
                    alpha=0.35, label=f"oracle, region {node}")
            ax.plot(time_ms, traces[(stochastic, "float64")][:, 0, node], color=colour, lw=0.8,
                    ls="--", label=f"numba float64, region {node}")
        ax.set_ylabel("r (kHz)")
        ax.set_title(("with noise, same seed" if stochastic else "deterministic")
                     + f": relative error {rows[2 if stochastic else 0][2]:.1e}")
    axes[1].set_xlabel("time (ms)")
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    with atomic_path(args.out) as tmp:
        fig.savefig(tmp, dpi=120)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
