"""Each kernel variant of issue 17 checked against the float64 oracle, then timed: one table.

Usage (repository root, on a machine with an NVIDIA GPU and pycuda)::

    python benchmarks/kernel_variants.py [--target cuda] [--kuramoto-steps 10000]
        [--mpr-steps 20000] [--json results/kernel_variants.json] [--skip-check]

Variants (predictions in docs/perf-notes.md, "Issue 17"):

* **Kuramoto, the benchmark problem** (``brainsweep.bench``: TVB ``connectivity_68``,
  ``kuramoto_mean_field``, dt 0.1 ms, stochastic Euler, float32, 16 speeds 1–10 m/s ×
  couplings 0–2, BOLD in the kernel) at P = 8 192 / 32 768 / 131 072: the coupling summed as
  ``sin(x_j − x_i)`` per connection (``factorise=False``, the kernel before) against the
  factorised ``sin x_j cos x_i − cos x_j sin x_i`` (history of sin and cos), and the
  factorised kernel with a float16 history.
* **MontbrioPazoRoxin, the default study's problem** (config/config.yaml: τ = 10 ms,
  dt = 0.144 ms, stochastic Heun, noise r 5e-6 / V 5e-3, initial r 0.01 / V −2, linear
  coupling, Friston 2003 balloon at 1.44 ms, TR 0.72 s) on HCP subject 101309's 80 cortical
  regions (weights / max: 6 320 connections), global coupling 16.5–20 × speed 2–16 m/s, at
  P = 64 / 256 / 8 192: one thread per simulation (``mapping="lanes"``) against many threads
  per simulation (``mapping="split"``), and the automatic choice; at P = 8 192 also both
  coupling terms summed (``drop_zero_terms=False``: cv = 0 everywhere, so the V term adds
  nothing) against the V term left out (the default).

Before timing, every variant runs a small problem (20 regions, 1 500 steps, deterministic,
raw monitor) in float64 against ``brainsweep.reference.simulate_one`` and in float32 against
that float64 run; the table gives both relative errors ‖out − ref‖ / ‖ref‖ and the check
fails (exit status 1, after the table) above 1e-9 (float64) or 64 eps32 (float32; 2⁻¹¹ with a
float16 history), the bounds of tests/backends/test_factorised_coupling.py. Rates are
P × steps over the kernel's run time (``timings["run_s"]``: uploads, launches and the final
synchronisation; generation and compilation warmed up beforehand, output copies excluded).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

EPS32 = float(np.finfo(np.float32).eps)
BOUND64, BOUND32 = 1e-9, 64 * EPS32
BOUND16 = 2.0**-11  # a float16 history: half precision's unit roundoff (tests/half_history.py)
KURAMOTO_SIZES = (8192, 32768, 131072)
MPR_SIZES = (64, 256, 8192)
HCP = ROOT / "resources" / "hcp-aal2" / "subjects" / "101309" / "structural"
# the default study's model, integration and monitor settings (config/config.yaml)
MPR_MODEL = {"tau": 10.0}
MPR_NOISE = {"r": 5.0e-6, "V": 5.0e-3}
MPR_INITIAL = (0.01, -2.0)
MPR_DT = 0.144
MPR_BOLD = {"bold_period_s": 0.72, "bold_dt_s": 0.00144, "bold_preset": "friston2003"}


@dataclass(frozen=True)
class Variant:
    problem: str  # "kuramoto" or "mpr"
    label: str
    options: dict  # simulate.run options
    knobs: dict  # GPU target class attributes (mapping, ...)


@dataclass(frozen=True)
class Row:
    problem: str
    variant: str
    n_sims: int
    n_steps: int
    run_s: float
    sim_steps_per_s: float
    error64: float | None
    error32: float | None
    diverged: int
    mapping: str


KURAMOTO_VARIANTS = [
    Variant("kuramoto", "sin(x_j - x_i) per connection", {"factorise": False}, {}),
    Variant("kuramoto", "factorised: history sin x, cos x", {"factorise": True}, {}),
    Variant("kuramoto", "factorised, float16 history",
            {"factorise": True, "history_dtype": "float16"}, {}),
]
MPR_VARIANTS = [
    Variant("mpr", "one thread per simulation (lanes)", {}, {"mapping": "lanes"}),
    Variant("mpr", "many threads per simulation (split)", {}, {"mapping": "split"}),
    Variant("mpr", "automatic mapping", {}, {"mapping": None}),
    Variant("mpr", "automatic, both terms summed (cv = 0)", {"drop_zero_terms": False},
            {"mapping": None}),
]


@contextmanager
def knobs(target: str, values: dict):
    """Set the GPU target class's tuning attributes for the duration of a block."""
    from brainsweep.registry import get_target

    cls = type(get_target(target))  # get_target gives a new instance: set the class
    saved = {name: getattr(cls, name) for name in values}
    for name, value in values.items():
        setattr(cls, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(cls, name, value)


def hcp80():
    """HCP subject 101309's 80 cortical AAL2 regions, weights / max, zero diagonal."""
    from types import SimpleNamespace

    import scipy.io

    from brainsweep.regions import select_regions

    keep = select_regions(94, preset="aal2-cortical")
    weights = scipy.io.loadmat(HCP / "DTI_CM.mat")["sc"][np.ix_(keep, keep)].astype(float)
    lengths = scipy.io.loadmat(HCP / "DTI_LEN.mat")["len"][np.ix_(keep, keep)].astype(float)
    np.fill_diagonal(weights, 0.0)
    return SimpleNamespace(weights=weights / weights.max(), lengths=lengths)


def mpr_grid(n_sims: int) -> dict[str, np.ndarray]:
    """Global coupling 16.5-20 x speed 2-16 m/s, as close to square as P allows."""
    speeds = 8 if n_sims >= 64 else 1
    couplings, speed = np.meshgrid(np.linspace(16.5, 20.0, n_sims // speeds),
                                   np.linspace(2.0, 16.0, speeds), indexing="ij")
    return {"global_coupling": couplings.ravel(), "speed": speed.ravel()}


def mpr_options(variant: Variant, target: str) -> dict:
    from brainsweep.dsl import load_model

    model = load_model("montbrio").with_defaults(**MPR_MODEL)
    return dict(model=model, target=target, dt=MPR_DT, integrator="heun", coupling="linear",
                noise=MPR_NOISE, dtype="float32", monitors=("bold",), seed=42, **MPR_BOLD,
                **variant.options)


def kuramoto_options(variant: Variant, target: str) -> dict:
    from brainsweep import bench

    return dict(model="kuramoto", target=target, dt=0.1, integrator="euler",
                coupling="kuramoto_mean_field", noise={"theta": bench.NOISE_D},
                dtype="float32", monitors=("bold",), bold_period_s=0.72, bold_dt_s=1e-3,
                seed=5, **variant.options)


def check(variant: Variant, target: str, conn=None, *, n_steps: int = 1500,
          speed: float = 3.0) -> tuple[float, float]:
    """Relative errors of the variant, float64 against the oracle and float32 against
    float64, on ``conn`` (default: 20 regions of the HCP subject) for ``n_steps``
    deterministic steps at ``speed`` m/s; ``variant.knobs`` set on the target class."""
    from brainsweep import codegen, reference, simulate
    from brainsweep.simulate.run import parameter_table

    if conn is None:
        conn = hcp80()
        keep = np.linspace(0, 79, 20).round().astype(int)
        conn = type(conn)(weights=conn.weights[np.ix_(keep, keep)],
                          lengths=conn.lengths[np.ix_(keep, keep)])
    small, n = conn, conn.weights.shape[0]
    generator = np.random.default_rng(17)
    if variant.problem == "kuramoto":
        model, coupling, dt = "kuramoto", "kuramoto_mean_field", 0.1
        params = {"global_coupling": 20.0, "speed": speed}
        initial = generator.uniform(0.0, 2 * np.pi, (1, n))
    else:
        from brainsweep.dsl import load_model

        model = load_model("montbrio").with_defaults(**MPR_MODEL)
        coupling, dt = "linear", 0.05
        params = {"global_coupling": 18.0, "speed": speed}
        initial = np.stack([generator.uniform(0.005, 0.02, n),
                            generator.uniform(-2.2, -1.8, n)])
    options = {k: v for k, v in variant.options.items() if k != "history_dtype"}
    runs = {}
    with knobs(target, variant.knobs):
        for dtype in ("float64", "float32"):
            history = variant.options.get("history_dtype") if dtype == "float32" else None
            out = simulate.run(small, model, target=target, dt=dt, n_steps=n_steps,
                               params=params, coupling=coupling, stochastic=False,
                               monitors=("raw",), initial_state=initial, dtype=dtype,
                               history_dtype=history, **options)
            runs[dtype] = out.raw[0].astype(np.float64)
    spec = codegen.kernel_spec(model, coupling=coupling, stochastic=False)
    row = parameter_table(spec, params)[0]
    ref = reference.simulate_one(
        spec, weights=small.weights, lengths=small.lengths,
        params=dict(zip(spec.parameter_names, row, strict=True)), dt=dt, n_steps=n_steps,
        initial=initial, noise=np.zeros(len(spec.model.states)), raw_period=1).raw

    def error(out, against):
        return float(np.linalg.norm(out - against) / np.linalg.norm(against))

    return error(runs["float64"], ref), error(runs["float32"], runs["float64"])


def time_variant(variant: Variant, target: str, n_sims: int, n_steps: int) -> Row:
    from brainsweep import bench, connectome, simulate

    if variant.problem == "kuramoto":
        conn = connectome.load(bench._CONNECTOME)
        options = kuramoto_options(variant, target)
        grid = bench.bench_grid(n_sims)
        initial = np.random.default_rng(5).uniform(0.0, 2 * np.pi,
                                                   (n_sims, 1, conn.weights.shape[0]))
        warm = bench.bench_grid(16)
    else:
        conn = hcp80()
        options = mpr_options(variant, target)
        grid = mpr_grid(n_sims)
        initial = np.broadcast_to(np.array(MPR_INITIAL)[:, None], (2, conn.weights.shape[0]))
        warm = mpr_grid(8)
    model = options.pop("model")
    with knobs(target, variant.knobs):
        simulate.run(conn, model, n_steps=20, params=warm, **options)  # compile, load
        started = time.perf_counter()
        out = simulate.run(conn, model, n_steps=n_steps, params=grid, initial_state=initial,
                           **options)
        wall = time.perf_counter() - started
        mapping = _mapping_of(target, variant, n_sims, conn.weights.shape[0])
    run_s = out.timings.get("run_s", wall)
    return Row(problem=variant.problem, variant=variant.label, n_sims=n_sims,
               n_steps=n_steps, run_s=run_s, sim_steps_per_s=n_sims * n_steps / run_s,
               error64=None, error32=None, diverged=int(np.count_nonzero(out.diverged)),
               mapping=mapping)


def _mapping_of(target: str, variant: Variant, n_sims: int, n_nodes: int) -> str:
    """The mapping the run took, in words (the rule of launch.choose_mapping on this GPU)."""
    words = mapping_words(target, variant.knobs.get("mapping"), n_sims, n_nodes)
    return f"{words} (at 32 warps/SM)" if words.startswith("split ") else words


def mapping_words(target: str, wanted: str | None, n_sims: int, n_nodes: int) -> str:
    """``"lanes"``, ``"split LxPxC"`` (:func:`predicted_mapping`), or off CUDA ``wanted``
    (``"auto"`` for None)."""
    kernel, geometry = predicted_mapping(target, wanted, n_sims, n_nodes)
    if kernel is None:
        return wanted or "auto"
    return "lanes" if kernel == "lanes" else "split " + "x".join(map(str, geometry))


def predicted_mapping(target: str, wanted: str | None, n_sims: int, n_nodes: int
                      ) -> tuple[str | None, tuple[int, int, int] | None]:
    """``("lanes", None)`` or ``("split", (lanes, node_parts, conn_parts))``: the mapping
    launch.choose_mapping takes for ``wanted`` (None: automatic) on CUDA device 0, at 32
    resident warps per multiprocessor; ``(None, None)`` on another target."""
    if target != "cuda":
        return None, None
    import pycuda.driver as driver

    from brainsweep.backends.gpu.launch import SIM_LANES, choose_split

    driver.init()
    sms = driver.Device(0).get_attribute(driver.device_attribute.MULTIPROCESSOR_COUNT)
    split = wanted == "split" or (wanted is None and -(-n_sims // SIM_LANES) < sms)
    if not split:
        return "lanes", None
    return "split", choose_split(n_sims, n_nodes, sms, 32)


def markdown(rows: list[Row], baseline: dict) -> str:
    lines = ["| problem | variant | P | steps | M sim-steps/s | vs first variant | "
             "err f64 vs oracle | err f32 vs f64 | mapping | diverged |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        base = baseline.get((r.problem, r.n_sims))
        ratio = f"{r.sim_steps_per_s / base:.2f}x" if base else "-"
        e64 = "-" if r.error64 is None else f"{r.error64:.1e}"
        e32 = "-" if r.error32 is None else f"{r.error32:.1e}"
        lines.append(f"| {r.problem} | {r.variant} | {r.n_sims:_} | {r.n_steps:_} | "
                     f"{r.sim_steps_per_s / 1e6:.4g} | {ratio} | {e64} | {e32} | {r.mapping} | "
                     f"{r.diverged} |".replace("_", " "))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="cuda", help="cuda or opencl")
    parser.add_argument("--kuramoto-steps", type=int, default=10_000)
    parser.add_argument("--mpr-steps", type=int, default=20_000)
    parser.add_argument("--kuramoto-sizes", type=int, nargs="+", default=list(KURAMOTO_SIZES))
    parser.add_argument("--mpr-sizes", type=int, nargs="+", default=list(MPR_SIZES))
    parser.add_argument("--skip-check", action="store_true", help="time only")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)

    from brainsweep.backends import get_target

    print(f"# {args.target}: {get_target(args.target).devices()}", flush=True)
    rows, failed, baseline = [], [], {}
    plan = [(v, args.kuramoto_sizes, args.kuramoto_steps) for v in KURAMOTO_VARIANTS] + \
        [(v, args.mpr_sizes, args.mpr_steps) for v in MPR_VARIANTS]
    for variant, sizes, steps in plan:
        errors = (None, None) if args.skip_check else check(variant, args.target)
        bound32 = BOUND16 if variant.options.get("history_dtype") == "float16" else BOUND32
        if errors[0] is not None and not (errors[0] <= BOUND64 and errors[1] <= bound32):
            failed.append((variant.problem, variant.label, errors))
        for n_sims in sizes:
            if variant.label.startswith("automatic, both") and n_sims != max(sizes):
                continue  # the zero-term variant is timed where the kernel is busiest
            row = time_variant(variant, args.target, n_sims, steps)
            row = Row(**{**asdict(row), "error64": errors[0], "error32": errors[1]})
            baseline.setdefault((row.problem, n_sims), row.sim_steps_per_s)
            rows.append(row)
            print(f"# {row.problem} {row.variant} P={n_sims}: "
                  f"{row.sim_steps_per_s / 1e6:.4g} M sim-steps/s", flush=True)
    print(markdown(rows, baseline))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    for problem, label, errors in failed:
        print(f"CHECK FAILED: {problem} {label}: errors {errors} (bounds {BOUND64:g}; "
              f"{BOUND32:.2g}, {BOUND16:.2g} with a float16 history)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
