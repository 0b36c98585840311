"""Issue 17's N-scaling table: MontbrioPazoRoxin on synthetic connectomes of N regions.

Usage (repository root, on a machine with an NVIDIA GPU and pycuda)::

    python benchmarks/n_scaling.py [--target cuda] [--sizes 68 192 500 1000]
        [--sims 32768 16384 4096 2048] [--steps 2000] [--mappings auto [lanes split]]
        [--check-steps 300] [--skip-check] [--max-row-seconds 90] [--json FILE]
    python benchmarks/n_scaling.py --target opencl --sizes 20 --sims 8 --steps 50  # PoCL

The problem is ``benchmarks/kernel_variants.py``'s MPR one (``mpr_options``: the default
study's MontbrioPazoRoxin, τ = 10 ms, dt = 0.144 ms, stochastic Heun, noise r 5e-6 / V 5e-3,
initial r 0.01 / V −2, linear coupling with the zero cv term left out, float32, the Friston
2003 balloon in the kernel every 1.44 ms, TR 0.72 s: 2 000 steps write no BOLD frame but the
balloon runs) at one speed, 3 m/s, global coupling 16.5–20 over the P simulations, on a
synthetic distance-based connectome per N (:func:`synthetic_connectome`): N region centres
drawn uniformly in a sphere of a 1 200 cm³ brain's volume (radius 65.9 mm), seeded by N;
weights ``exp(−d / 20 mm)`` on the nearest half of the region pairs (symmetric, zero
diagonal: about 50 % dense), scaled so that the mean row sum is that of the HCP subject's 80
regions (weights / max, 1.65), so the couplings drive a node as on that connectome; tract
lengths the Euclidean distances (mm).

Each N's kernel is first checked at P = 1 against the float64 oracle, as kernel_variants does
(``kernel_variants.check``: deterministic, raw monitor, ``--check-steps`` steps of 0.05 ms at
20 m/s so the delay ring wraps; float64 against ``brainsweep.reference.simulate_one`` ≤ 1e-9,
float32 against float64 ≤ 64 eps32), with the mapping the timed run takes (on CUDA its
predicted split geometry too); a failed check is reported and the exit status is 1.

Timing as kernel_variants: one warm-up run of the full shard (compiles, loads; its time also
caps the steps at ``--max-row-seconds``, noted in the table), then one timed run; the rate is
P × steps over the kernel's run time (``timings["run_s"]``: uploads, launches, the final
synchronisation). A connection-update is one delayed value read and summed for one
connection of one simulation in one step: G updates/s = P × steps × connections / run_s,
connections the nonzero weights. The mapping column is the rule of
``launch.choose_mapping`` for this device (a split geometry as ``choose_split`` gives it at
32 resident warps per multiprocessor); ``--mappings auto lanes`` also times the lanes kernel
where the automatic choice is the split one.

**The float32 floor.** Each connection-update reads one delayed history value of 4 bytes
(float32) that no cache holds at these sizes (the history is 1.4–2.7 GB here against the
H200's 60 MB L2), so the device's copy bandwidth bounds it: 4.3 TB/s (a device-to-device
copy on the H200, docs/benchmarks.md) / 4 B = 1.07 T updates/s (2.1 T with a float16
history). The table gives each rate as a fraction of that floor.

Memory: the project's planner (``brainsweep.network.plan.plan_shard``) gives each shard's
device bytes (printed); the run refuses a shard that does not fit (PlanError), and the row is
then halved until it fits, the P actually run in the table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel_variants import (  # noqa: E402  (ROOT/workflow on sys.path comes with it)
    BOUND32,
    BOUND64,
    MPR_INITIAL,
    Variant,
    check,
    hcp80,
    knobs,
    mapping_words,
    mpr_options,
    predicted_mapping,
)

SIZES = (68, 192, 500, 1000)
SIMS = (32768, 16384, 4096, 2048)
SPEED = 3.0  # m/s
BRAIN_RADIUS = (3 * 1.2e6 / (4 * np.pi)) ** (1 / 3)  # mm: a sphere of 1 200 cm³
DECAY = 20.0  # mm: weights exp(-d / DECAY)
BANDWIDTH = 4.3e12  # B/s: the H200's device-to-device copy
FLOOR32 = BANDWIDTH / 4  # connection-updates/s: one float32 history read each


@dataclass(frozen=True)
class Row:
    n_nodes: int
    connections: int
    n_sims: int
    n_steps: int
    run_s: float
    sim_steps_per_s: float
    updates_per_s: float
    floor_fraction: float
    mapping: str
    diverged: int
    planned_gib: float
    error64: float | None
    error32: float | None
    note: str


def synthetic_connectome(n: int, *, seed: int | None = None) -> SimpleNamespace:
    """Distance-based connectome of ``n`` regions, about 50 % dense (see the module's doc).

    >>> conn = synthetic_connectome(68)
    >>> int(np.count_nonzero(conn.weights)), bool(np.allclose(conn.weights, conn.weights.T))
    (2278, True)
    """
    generator = np.random.default_rng(seed if seed is not None else 20261203 + n)
    direction = generator.standard_normal((n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    radius = BRAIN_RADIUS * generator.uniform(size=(n, 1)) ** (1 / 3)  # uniform in volume
    centres = direction * radius
    lengths = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=-1)
    upper = np.triu_indices(n, 1)
    nearest = np.argsort(lengths[upper], kind="stable")[: upper[0].size // 2]
    weights = np.zeros((n, n))
    rows, cols = upper[0][nearest], upper[1][nearest]
    weights[rows, cols] = np.exp(-lengths[rows, cols] / DECAY)
    weights += weights.T
    target = hcp80().weights.sum(axis=1).mean()
    weights *= target / weights.sum(axis=1).mean()
    return SimpleNamespace(weights=weights, lengths=lengths)


def grid(n_sims: int) -> dict[str, np.ndarray]:
    return {"global_coupling": np.linspace(16.5, 20.0, n_sims), "speed": np.full(n_sims, SPEED)}


def planned_bytes(conn, n_sims: int, options: dict, model, n_steps: int) -> int:
    """The planner's device bytes of the shard (history, state, monitors, tables), for the
    kernel simulate.run builds: the zero cv term left out, so one history channel."""
    from brainsweep import codegen
    from brainsweep.codegen.channels import history_channels
    from brainsweep.codegen.zero_terms import active_coupling_terms
    from brainsweep.network.plan import plan_shard
    from brainsweep.simulate.run import parameter_table

    spec = codegen.kernel_spec(model, coupling=options["coupling"], dtype=options["dtype"])
    kept = active_coupling_terms(spec.model, spec.parameter_names,
                                 parameter_table(spec, grid(n_sims)))
    if kept is not None:
        spec = codegen.kernel_spec(spec.model.with_coupling_terms(kept),
                                   coupling=spec.coupling, dtype=options["dtype"])
    bold_period = round(options["bold_period_s"] / (options["dt"] * 1e-3))
    plan = plan_shard(conn.weights, conn.lengths, grid(n_sims)["speed"], dt=options["dt"],
                      n_states=len(spec.model.states), n_cvars=len(history_channels(spec)),
                      n_params=len(spec.parameter_names), dtype=options["dtype"],
                      frames=(0, 0, n_steps // bold_period))
    return plan.total_bytes


def run_once(conn, n_sims: int, n_steps: int, target: str, mapping: str | None):
    from brainsweep import simulate

    options = mpr_options(Variant("mpr", "n-scaling", {}, {}), target)
    model = options.pop("model")
    initial = np.broadcast_to(np.array(MPR_INITIAL)[:, None], (2, conn.weights.shape[0]))
    with knobs(target, {"mapping": mapping}):
        return simulate.run(conn, model, n_steps=n_steps, params=grid(n_sims),
                            initial_state=initial, **options)


def time_row(conn, n_sims: int, n_steps: int, target: str, mapping: str | None,
             budget_s: float, warm_steps: int = 50) -> tuple[object, int, int, str]:
    """(result, P run, steps run, note): warm-up at the full P, then the timed run."""
    from brainsweep.errors import PlanError

    note = []
    while True:
        try:
            warm = run_once(conn, n_sims, min(warm_steps, n_steps), target, mapping)
            break
        except PlanError as error:
            if n_sims <= 1:
                raise
            print(f"# N={conn.weights.shape[0]} P={n_sims} does not fit: {error}", flush=True)
            n_sims //= 2
            note.append(f"P halved to {n_sims} (memory)")
    estimate = warm.timings["run_s"] * n_steps / min(warm_steps, n_steps)
    if estimate > budget_s:
        capped = max(100, int(n_steps * budget_s / estimate) // 100 * 100)
        if capped < n_steps:
            note.append(f"steps capped {n_steps} -> {capped} (est. {estimate:.0f} s)")
            n_steps = capped
    out = run_once(conn, n_sims, n_steps, target, mapping)
    return out, n_sims, n_steps, "; ".join(note)


def mapping_label(target: str, mapping: str | None, n_sims: int, n_nodes: int) -> str:
    # the split geometry as launch.choose_split gives it at 32 resident warps per
    # multiprocessor (kernel_variants.predicted_mapping); the runner uses the kernel's own
    words = mapping_words(target, mapping, n_sims, n_nodes)
    return words if mapping or words == "auto" else f"{words} (auto)"


def check_row(conn, target: str, mapping: str | None, n_sims: int, n_steps: int
              ) -> tuple[float, float]:
    """The oracle check at P = 1 with the mapping (and split geometry) of the timed run."""
    kind, geometry = predicted_mapping(target, mapping, n_sims, conn.weights.shape[0])
    values = {"mapping": kind or mapping, "split_geometry": geometry}
    return check(Variant("mpr", "n-scaling check", {}, values), target, conn,
                 n_steps=n_steps, speed=20.0)


def markdown(rows: list[Row]) -> str:
    lines = ["| N | connections | P | steps | kernel s | M sim-steps/s | G conn-updates/s | "
             "of f32 floor | mapping | diverged | err f64 / f32 | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        errors = "-" if r.error64 is None else f"{r.error64:.1e} / {r.error32:.1e}"
        lines.append(f"| {r.n_nodes:_} | {r.connections:_} | {r.n_sims:_} | {r.n_steps:_} | "
                     f"{r.run_s:.3f} | {r.sim_steps_per_s / 1e6:.4g} | "
                     f"{r.updates_per_s / 1e9:.4g} | {r.floor_fraction:.3f} | {r.mapping} | "
                     f"{r.diverged} | {errors} | {r.note} |".replace("_", " "))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="cuda", help="cuda or opencl")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="N")
    parser.add_argument("--sims", type=int, nargs="+", default=list(SIMS),
                        help="P for each N (one value: the same P for all)")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--mappings", nargs="+", default=["auto"],
                        choices=("auto", "lanes", "split"),
                        help="auto, and forced mappings timed beside it where they differ")
    parser.add_argument("--check-steps", type=int, default=300)
    parser.add_argument("--skip-check", action="store_true", help="time only")
    parser.add_argument("--max-row-seconds", type=float, default=90.0,
                        help="cap a row's steps so that its timed run takes about this long")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    sims = args.sims * len(args.sizes) if len(args.sims) == 1 else args.sims
    if len(sims) != len(args.sizes):
        parser.error("--sims takes one value or one per --sizes entry")

    from brainsweep.backends import get_target

    print(f"# {args.target}: {get_target(args.target).devices()}", flush=True)
    rows, failed = [], []
    for n_nodes, n_sims in zip(args.sizes, sims, strict=True):
        conn = synthetic_connectome(n_nodes)
        connections = int(np.count_nonzero(conn.weights))
        options = mpr_options(Variant("mpr", "n-scaling", {}, {}), args.target)
        gib = planned_bytes(conn, n_sims, options, options.pop("model"), args.steps) / 2**30
        print(f"# N={n_nodes}: {connections} connections ({connections / n_nodes**2:.1%}), "
              f"longest {conn.lengths[conn.weights > 0].max():.1f} mm; planned {gib:.2f} GiB "
              f"at P={n_sims}", flush=True)
        auto_kind = predicted_mapping(args.target, None, n_sims, n_nodes)[0]
        for name in args.mappings:
            mapping = None if name == "auto" else name
            if mapping is not None and mapping == auto_kind:
                continue  # the automatic row already ran this kernel
            errors: tuple[float | None, float | None] = (None, None)
            if not args.skip_check:
                started = time.perf_counter()
                errors = check_row(conn, args.target, mapping, n_sims, args.check_steps)
                ok = errors[0] <= BOUND64 and errors[1] <= BOUND32
                print(f"# check N={n_nodes} {name}: f64 vs oracle {errors[0]:.2e}, f32 vs f64 "
                      f"{errors[1]:.2e} ({'ok' if ok else 'FAILED'}, "
                      f"{time.perf_counter() - started:.1f} s)", flush=True)
                if not ok:
                    failed.append((n_nodes, name, errors))
            out, p_run, steps_run, note = time_row(conn, n_sims, args.steps, args.target,
                                                   mapping, args.max_row_seconds)
            run_s = out.timings["run_s"]
            rate = p_run * steps_run * connections / run_s
            row = Row(n_nodes=n_nodes, connections=connections, n_sims=p_run,
                      n_steps=steps_run, run_s=run_s, sim_steps_per_s=p_run * steps_run / run_s,
                      updates_per_s=rate, floor_fraction=rate / FLOOR32,
                      mapping=mapping_label(args.target, mapping, p_run, n_nodes),
                      diverged=int(np.count_nonzero(out.diverged)), planned_gib=gib,
                      error64=errors[0], error32=errors[1], note=note)
            rows.append(row)
            print(f"# N={n_nodes} P={p_run} {row.mapping}: {run_s:.3f} s, "
                  f"{rate / 1e9:.4g} G updates/s ({row.floor_fraction:.3f} of the floor)",
                  flush=True)
            if args.json:  # after every row: a later hang loses nothing
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    print(f"\nfloor: {BANDWIDTH / 1e12:.1f} TB/s / 4 B = {FLOOR32 / 1e12:.3f} T "
          "connection-updates/s (float32 history)")
    print(markdown(rows))
    for n_nodes, name, errors in failed:
        print(f"CHECK FAILED: N={n_nodes} {name}: errors {errors} (bounds {BOUND64:g}, "
              f"{BOUND32:.2g})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
