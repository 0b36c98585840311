"""brainsweep's Numba target against The Virtual Brain's own simulator, side by side.

The problem (issue 5): one MontbrioPazoRoxin simulation with TVB's defaults on TVB's default
76-region connectivity (``Connectivity.from_file()``, the same file as
``resources/tvb-connectivity/connectivity_76.zip``), Linear coupling (a = 0.00390625, b = 0),
conduction speed 3 m/s, dt = 0.1 ms, 20 000 steps (2 s), raw monitor (every step, both state
variables). Both simulators start from r = 0.1, V = -2.0 in every region, held as constant
history before t = 0 (TVB: ``initial_conditions`` of the whole horizon). HeunDeterministic is
timed and compared trajectory by trajectory; HeunStochastic (additive noise D = 0.001 on r
and V) is timed only, since the two simulators draw different random numbers.

TVB runs in its own virtual environment, in a subprocess (this same file with
``--tvb-worker``, which imports only TVB and NumPy), so that brainsweep's environment never
holds TVB and the two never share a process. By default that environment is ``.venv-tvb/`` in
the repository root (git-ignored); ``--tvb-python`` points at another one::

    python3 -m venv .venv-tvb
    .venv-tvb/bin/pip install tvb-library tvb-data   # 2.10.0, 3.0.0 on Python 3.11

    python benchmarks/numba_vs_tvb.py [--tvb-python .venv-tvb/bin/python]
        [--steps 20000] [--repeats 5] [--no-stochastic]

Timings: TVB's ``Simulator.configure()`` and brainsweep's kernel compilation (a fresh kernel
cache, the first call of each kernel, 10 steps) are reported apart from the run. A run is
TVB's ``sim.run(n_steps=...)`` against the whole ``brainsweep.simulate.run`` call (code
generation, delays, output allocation and the kernel); the code generation inside that call
(redone on every call) and the kernel call alone are columns of their own. The model and the
coupling are read from their files once, before timing. The machine is shared, so the
timing goes in rounds (TVB once per integrator, then every brainsweep variant once;
``--repeats`` rounds) so that both meet the same load; min and median are printed, the
speed-up is min over min (whole call, and kernel alone), and the load average is printed at
the start and at the end, with the imported brainsweep's location and git revision (the
kernels may be changing in the working tree while this runs).

Agreement: the deterministic trajectories from two starts (the uniform one above, and a
seeded random one in TVB's ``state_variable_range`` where about half of the regions end in
the high-activity state) are compared with TVB's, per state variable; a control run with
every delay one step longer shows how large a convention error would look. TVB's history
keeps weights and delayed states in float32, so the TVB runs are repeated with that history
switched to float64 (a diagnostic in the worker) to show what remains.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CONNECTIVITY = ROOT / "resources" / "tvb-connectivity" / "connectivity_76.zip"
DEFAULT_TVB_PYTHON = str(ROOT / ".venv-tvb" / "bin" / "python")  # git-ignored
DT, SPEED, COUPLING_A = 0.1, 3.0, 0.00390625
INITIAL = {"r": 0.1, "V": -2.0}
NOISE_D, SEED = 1e-3, 42
MIXED_SEED = 1
START_TEXT = {"uniform": "r = 0.1, V = -2.0 in every region",
              "mixed": f"r ~ U(0, 2), V ~ U(-2, 1.5) per region (numpy default_rng({MIXED_SEED}))"}


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (the platform's name elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line() -> str:
    """CPU model, cores usable/total, Python and the load average now."""
    total = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else total
    return (f"{cpu_model()}, {usable} of {total} cores usable, Python "
            f"{platform.python_version()}, load average {load_average()}")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def brainsweep_source() -> str:
    """Where the imported brainsweep lives and, in a git checkout, its revision and how many
    files under workflow/ and kernels/ differ from it (the kernels change while we measure)."""
    import brainsweep

    package = Path(brainsweep.__file__).resolve().parent
    text = str(package)
    try:
        def git(*words: str) -> str:
            return subprocess.run(["git", "-C", str(package), *words], capture_output=True,
                                  text=True, check=True).stdout.strip()

        top = git("rev-parse", "--show-toplevel")
        changed = git("status", "--porcelain", "--", f"{top}/workflow", f"{top}/kernels")
        n_changed = len(changed.splitlines())
        text += (f" (git {git('rev-parse', '--short', 'HEAD')}, "
                 f"{n_changed} uncommitted file(s) under workflow/ and kernels/)")
    except (OSError, subprocess.CalledProcessError):
        text += " (not a git checkout)"
    return text


def summary(times: list[float]) -> tuple[float, float]:
    return min(times), statistics.median(times)


# ---------------------------------------------------------------------------------------------
# The TVB side: runs under the TVB virtual environment's Python; imports no brainsweep.


def mixed_start(n_nodes: int) -> np.ndarray:
    """(2, N) start drawn uniformly from TVB's state_variable_range (r in [0, 2], V in
    [-2, 1.5]), seeded: some regions settle in the high-activity state, some in the low."""
    rng = np.random.default_rng(MIXED_SEED)
    return np.array([rng.uniform(0.0, 2.0, n_nodes), rng.uniform(-2.0, 1.5, n_nodes)])


def tvb_worker(out: Path, *, n_steps: int, repeats: int, stochastic: bool,
               agreement: bool) -> None:
    """Configure and run TVB's simulator ``repeats`` times per integrator (timed) and, with
    ``agreement``, the deterministic trajectories; save them with the timings to ``out``."""
    from importlib.metadata import version

    from tvb.datatypes import connectivity
    from tvb.simulator import coupling, integrators, models, monitors, noise, simulator

    conn = connectivity.Connectivity.from_file()  # TVB's default: connectivity_76.zip
    conn.speed = np.array([SPEED])
    n_nodes = conn.weights.shape[0]
    # Longer than the horizon: TVB keeps the last horizon steps, all equal to the start.
    horizon = int(np.rint(conn.tract_lengths.max() / SPEED / DT)) + 2
    starts = {"uniform": np.array([[INITIAL["r"]] * n_nodes, [INITIAL["V"]] * n_nodes]),
              "mixed": mixed_start(n_nodes)}

    def make(kind: str, start: str = "uniform"):
        if kind == "heun-stochastic":
            integrator = integrators.HeunStochastic(
                dt=DT, noise=noise.Additive(nsig=np.array([NOISE_D, NOISE_D]), noise_seed=SEED))
        else:
            integrator = integrators.HeunDeterministic(dt=DT)
        history = np.broadcast_to(starts[start][None, :, :, None], (horizon, 2, n_nodes, 1))
        return simulator.Simulator(
            connectivity=conn, model=models.MontbrioPazoRoxin(),
            coupling=coupling.Linear(a=np.array([COUPLING_A]), b=np.array([0.0])),
            integrator=integrator, monitors=(monitors.Raw(),),
            initial_conditions=history.copy())

    def trajectory(start: str) -> np.ndarray:
        sim = make("heun", start)
        sim.configure()
        ((_, raw),) = sim.run(n_steps=n_steps)
        return raw[:, :, :, 0]  # (time, var, node)

    timings: dict[str, dict[str, list[float]]] = {}
    for kind in ["heun"] + (["heun-stochastic"] if stochastic else []):
        timings[kind] = {"configure_s": [], "run_s": []}
        for _ in range(repeats):
            sim = make(kind)
            started = time.perf_counter()
            sim.configure()
            configured = time.perf_counter()
            sim.run(n_steps=n_steps)
            finished = time.perf_counter()
            timings[kind]["configure_s"].append(configured - started)
            timings[kind]["run_s"].append(finished - configured)

    sim = make("heun")
    sim.configure()
    arrays = {"weights": np.asarray(conn.weights), "start_mixed": starts["mixed"],
              "tract_lengths": np.asarray(conn.tract_lengths),
              "idelays": np.asarray(sim.connectivity.idelays)}
    meta = {"tvb_library": version("tvb-library"), "tvb_data": version("tvb-data"),
            "numpy": np.__version__, "python": platform.python_version(),
            "history": f"{type(sim.history).__name__} ({sim.history.buffer.dtype})",
            "timings": timings}
    if agreement:
        for start in starts:
            arrays[f"raw_{start}"] = trajectory(start)
        # Diagnostic: TVB's history stores the weights and the delayed states in float32
        # (NDArray descriptors of dtype 'f' in tvb.simulator.history); the same runs with
        # those descriptors switched to float64 separate that rounding from any difference
        # of method. Done last: it changes TVB's classes for the rest of this process.
        from tvb.simulator import descriptors, history

        for cls in (history.BaseHistory, history.DenseHistory, history.SparseHistory):
            for attr in vars(cls).values():
                if isinstance(attr, descriptors.NDArray) and attr.dtype == "f":
                    attr.dtype = "d"
        for start in starts:
            arrays[f"raw_{start}_history64"] = trajectory(start)
    np.savez(out, meta=np.array(json.dumps(meta)), **arrays)


# ---------------------------------------------------------------------------------------------
# The brainsweep side and the comparison.


def run_tvb(python: str, *, n_steps: int, repeats: int, stochastic: bool, agreement: bool,
            scratch: Path):
    """Run the TVB worker in ``python``; return (meta, arrays)."""
    if not Path(python).exists():
        raise SystemExit(f"error: no TVB Python at {python}; create the environment as the "
                         f"docstring says or pass --tvb-python")
    out = scratch / "tvb.npz"
    command = [python, str(Path(__file__).resolve()), "--tvb-worker", str(out),
               "--steps", str(n_steps), "--repeats", str(repeats)]
    if not stochastic:
        command.append("--no-stochastic")
    if agreement:
        command.append("--agreement")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not out.exists():
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"error: the TVB worker failed (exit {done.returncode})")
    with np.load(out) as data:
        arrays = {k: data[k] for k in data.files if k != "meta"}
        meta = json.loads(str(data["meta"]))
    return meta, arrays


def linear_coupling():
    """The shipped linear coupling, read once (as the model is) rather than on every call."""
    from brainsweep.dsl import load_coupling

    return load_coupling("linear")


def montbrio(*, r_term_only: bool = False):
    """TVB's MontbrioPazoRoxin from the shipped model file.

    ``r_term_only``: drop the V coupling term (its weight cv is 0 in TVB's defaults) as the
    default study does; the trajectories are the same, the network sum is done once a step.
    """
    from brainsweep.dsl import load_model

    model = load_model("montbrio")
    return model.with_coupling_terms(["Coupling_Term_r"]) if r_term_only else model


def numba_call(conn, model, coupling, *, n_steps: int, stochastic: bool, dtype: str,
               initial: np.ndarray | None = None, lengths: np.ndarray | None = None):
    """One ``brainsweep.simulate.run`` call, timed whole: (seconds, result)."""
    from types import SimpleNamespace

    from brainsweep import simulate

    n_nodes = conn.weights.shape[0]
    network = SimpleNamespace(weights=conn.weights,
                              lengths=conn.lengths if lengths is None else lengths)
    if initial is None:
        initial = np.array([[INITIAL["r"]] * n_nodes, [INITIAL["V"]] * n_nodes])
    started = time.perf_counter()
    out = simulate.run(network, model, target="numba", dt=DT, n_steps=n_steps,
                       params={"global_coupling": [COUPLING_A], "speed": [SPEED]},
                       integrator="heun", coupling=coupling, stochastic=stochastic,
                       noise={"r": NOISE_D, "V": NOISE_D}, seed=SEED, monitors=("raw",),
                       initial_state=initial, dtype=dtype)
    wall = time.perf_counter() - started
    if out.diverged.any():
        raise SystemExit(f"error: the Numba simulation diverged ({dtype}, "
                         f"stochastic={stochastic})")
    return wall, out


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


def agreement_row(label: str, out: np.ndarray, ref: np.ndarray) -> str:
    rel = [relative_error(out[:, v], ref[:, v]) for v in range(ref.shape[1])]
    worst = np.abs(out - ref).max(axis=(1, 2))
    return (f"{label:<44} {rel[0]:>11.2e} {rel[1]:>11.2e} {worst.max():>10.2e} "
            f"{int(worst.argmax()) + 1:>8}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tvb-python", default=DEFAULT_TVB_PYTHON,
                        help="the Python of the virtual environment holding tvb-library "
                             "(default: .venv-tvb/bin/python in the repository root)")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-stochastic", dest="stochastic", action="store_false",
                        help="time HeunDeterministic only")
    parser.add_argument("--tvb-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--agreement", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tvb_worker is not None:
        tvb_worker(args.tvb_worker, n_steps=args.steps, repeats=args.repeats,
                   stochastic=args.stochastic, agreement=args.agreement)
        return 0
    if args.steps < 1 or args.repeats < 1:
        parser.error("--steps and --repeats must be positive")

    import numba

    from brainsweep import connectome
    from brainsweep.connectome.delays import delay_steps

    print(f"# machine: {machine_line()} (start)")
    conn = connectome.load(CONNECTIVITY)
    n_nodes = conn.weights.shape[0]
    kinds = ["heun"] + (["heun-stochastic"] if args.stochastic else [])
    models = {False: montbrio(), True: montbrio(r_term_only=True)}
    coupling = linear_coupling()
    variants = [(kind, dtype, False) for kind in kinds for dtype in ("float64", "float32")]
    variants += [("heun", dtype, True) for dtype in ("float64", "float32")]
    tvb_timings = {kind: {"configure_s": [], "run_s": []} for kind in kinds}
    numba_timings = {v: {"call_s": [], "kernel_s": [], "generate_s": []} for v in variants}
    with tempfile.TemporaryDirectory(prefix="numba-vs-tvb-") as scratch:
        # A fresh kernel cache, so that the compile times are real.
        os.environ["BRAINSWEEP_CACHE"] = str(Path(scratch) / "kernels")
        for variant in variants:
            kind, dtype, r_only = variant
            numba_timings[variant]["compile_s"] = numba_call(
                conn, models[r_only], coupling, n_steps=10, stochastic=kind != "heun",
                dtype=dtype)[0]
        # Rounds: TVB once per integrator, then every brainsweep variant once, so that both
        # meet the same load on this shared machine.
        for _ in range(args.repeats):
            meta, _ = run_tvb(args.tvb_python, n_steps=args.steps, repeats=1,
                              stochastic=args.stochastic, agreement=False,
                              scratch=Path(scratch))
            for kind in kinds:
                for key in ("configure_s", "run_s"):
                    tvb_timings[kind][key] += meta["timings"][kind][key]
            for variant in variants:
                kind, dtype, r_only = variant
                wall, out = numba_call(conn, models[r_only], coupling, n_steps=args.steps,
                                       stochastic=kind != "heun", dtype=dtype)
                numba_timings[variant]["call_s"].append(wall)
                numba_timings[variant]["kernel_s"].append(out.timings["run_s"])
                numba_timings[variant]["generate_s"].append(out.timings["generate_s"])

        # Agreement: the deterministic trajectories from both starts. Control: every delay
        # one step longer (lengths + speed * dt), which the comparison must see.
        meta, tvb = run_tvb(args.tvb_python, n_steps=args.steps, repeats=0,
                            stochastic=False, agreement=True, scratch=Path(scratch))
        starts = {"uniform": None, "mixed": tvb["start_mixed"]}
        cases = {"float64": (models[False], "float64", None),
                 "float32": (models[False], "float32", None),
                 "r-term": (models[True], "float64", None),
                 "control": (models[False], "float64", conn.lengths + SPEED * DT)}
        trajectories = {}
        for start, initial in starts.items():
            for case, (model, dtype, lengths) in cases.items():
                out = numba_call(conn, model, coupling, n_steps=args.steps,
                                 stochastic=False, dtype=dtype, initial=initial,
                                 lengths=lengths)[1]
                trajectories[(start, case)] = out.raw[0].astype(np.float64)

    same_weights = np.array_equal(tvb["weights"], conn.weights)
    same_lengths = np.array_equal(tvb["tract_lengths"], conn.lengths)
    ours = delay_steps(conn.lengths, speed=SPEED, dt=DT)
    same_delays = np.array_equal(tvb["idelays"], ours)
    on_diagonal = np.count_nonzero(np.diag(conn.weights))
    print(f"# problem: TVB connectivity_76 ({n_nodes} regions, "
          f"{np.count_nonzero(conn.weights)} non-zero weights, {on_diagonal} on the diagonal, "
          f"tracts up to {conn.lengths.max():.1f} mm), "
          f"MontbrioPazoRoxin (TVB defaults), Linear a = {COUPLING_A}, speed {SPEED} m/s, "
          f"dt {DT} ms, {args.steps} steps, raw monitor, {args.repeats} rounds")
    print(f"# TVB: tvb-library {meta['tvb_library']}, tvb-data {meta['tvb_data']}, numpy "
          f"{meta['numpy']}, Python {meta['python']}, {meta['history']}; brainsweep: numba "
          f"{numba.__version__}, numpy {np.__version__}")
    print(f"# brainsweep: {brainsweep_source()}")
    print(f"# connectivity: TVB's from_file() vs resources zip: weights identical "
          f"{same_weights}, lengths identical {same_lengths}; TVB's idelays == brainsweep's "
          f"rint(length / speed / dt) {same_delays} (max {int(ours.max())} steps)")
    print()
    header = (f"{'simulator':<18} {'integrator':<16} {'dtype':<8} {'setup_s':>8} "
              f"{'run_min_s':>10} {'run_med_s':>10} {'gen_min_s':>9} {'kernel_min_s':>12} "
              f"{'kernel_med_s':>12} {'us/step':>8} {'speed-up':>9} {'kernel x':>9}")
    print(header)
    tvb_version = f"tvb {meta['tvb_library']}"
    for kind in kinds:
        t = tvb_timings[kind]
        tvb_min, tvb_med = summary(t["run_s"])
        print(f"{tvb_version:<18} {kind:<16} {'float64':<8} {min(t['configure_s']):>8.3f} "
              f"{tvb_min:>10.3f} {tvb_med:>10.3f} {'-':>9} {'-':>12} {'-':>12} "
              f"{1e6 * tvb_min / args.steps:>8.1f} {1.0:>8.1f}x {'-':>9}")
        for (variant_kind, dtype, r_only), timings in numba_timings.items():
            if variant_kind != kind:
                continue
            label = "brainsweep r-term" if r_only else "brainsweep numba"
            call_min, call_med = summary(timings["call_s"])
            kernel_min, kernel_med = summary(timings["kernel_s"])
            print(f"{label:<18} {kind:<16} {dtype:<8} "
                  f"{timings['compile_s']:>8.2f} {call_min:>10.3f} {call_med:>10.3f} "
                  f"{min(timings['generate_s']):>9.3f} {kernel_min:>12.3f} {kernel_med:>12.3f} "
                  f"{1e6 * call_min / args.steps:>8.1f} {tvb_min / call_min:>8.1f}x "
                  f"{tvb_min / kernel_min:>8.1f}x")
    print("# setup_s: TVB's configure() (min); brainsweep's first call of a fresh kernel "
          "(10 steps: code generation and Numba's compilation)")
    print("# run: TVB's sim.run(); brainsweep's whole simulate.run() call (min, median); "
          "gen: the code generation inside that call (kernel spec, target lookup, rendering, "
          "hashing), redone on every call; kernel: the compiled kernel alone")
    print("# us/step and speed-up: from run_min_s (TVB's run min / brainsweep's call min); "
          "kernel x: TVB's run min / brainsweep's kernel min")
    print("# brainsweep r-term: the V coupling term (weight cv = 0) dropped at generation, "
          "as the default study does; TVB always computes both")
    print()
    print(f"# agreement, HeunDeterministic, {args.steps} steps: relative error "
          f"||x - x_tvb|| / ||x_tvb|| over the whole trajectory, per state variable, and the "
          f"largest |x - x_tvb| with its step")
    for start in starts:
        ref = tvb[f"raw_{start}"]
        high = int(np.count_nonzero(ref[-1, 0] > 0.5))
        print(f"# start {start}: {START_TEXT[start]}; the trajectory moves up to "
              f"{np.abs(ref - ref[:1]).max():.3f} from it, r in [{ref[:, 0].min():.4f}, "
              f"{ref[:, 0].max():.4f}], {high} of {n_nodes} regions end with r > 0.5")
    print(f"{'start':<8} {'trajectory':<44} {'rel err r':>11} {'rel err V':>11} "
          f"{'max |dx|':>10} {'at step':>8}")
    labels = {"float64": "brainsweep numba float64 vs TVB",
              "float32": "brainsweep numba float32 vs TVB",
              "r-term": "brainsweep r-term float64 vs TVB",
              "control": "control: numba float64, delays + 1 step"}
    for start in starts:
        for variant, label in labels.items():
            print(f"{start:<8} " + agreement_row(label, trajectories[(start, variant)],
                                                 tvb[f"raw_{start}"]))
    print("# diagnostic: TVB again with its history (weights, delayed states) in float64")
    for start in starts:
        ref, ref64 = tvb[f"raw_{start}"], tvb[f"raw_{start}_history64"]
        print(f"{start:<8} " + agreement_row("brainsweep numba float64 vs TVB history64",
                                             trajectories[(start, "float64")], ref64))
        print(f"{start:<8} " + agreement_row("TVB (float32 history) vs TVB history64",
                                             ref, ref64))
    print(f"# machine: {machine_line()} (end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
