"""Time vbjax on the MontbrioPazoRoxin anchor problem: make_sdde + delay_apply, vmapped over P.

Usage (repository root, vbjax and JAX importable)::

    python benchmarks/anchors/vbjax_mpr.py --sizes 1024 8192 --steps 4000 --json vbjax.json
    python benchmarks/anchors/vbjax_mpr.py --check reference.npz   # against brainsweep

The network is built the way vbjax's own docs and tests build a delayed network: a
``vb.make_delay_helper`` for the connectome, a drift ``dfun(buf, x, t, p)`` that couples
through ``vb.delay_apply`` into ``vb.mpr_dfun`` (TVB's MontbrioPazoRoxin, vbjax's defaults =
TVB's: tau 1, Delta 1, J 15, eta -5, cr 1, cv 0; both coupled variables r and V summed, as
brainsweep does), ``vb.make_sdde`` (stochastic Heun) with constant diffusion sqrt(2 D) (so the
noise per step is sqrt(2 D dt) N(0, 1), TVB's convention), ``vb.mpr_r_positive`` as the
bound on r, and ``vb.make_continuation`` to run 100-step chunks over a buffer of the longest
delay + 1 + 100 steps (refilled with N(0, 1) samples each chunk). ``jax.vmap`` over the P
simulations (a global coupling each), ``jax.jit`` around it.

Two choices make the delays brainsweep's, not vbjax's defaults (same work either way):
lags are rint(length / speed / dt) instead of ``make_delay_helper``'s floor, and the weights
are passed transposed, because ``delay_apply`` sums ``weights[j, i] x_j`` into node i while
brainsweep's rows are targets (TVB's connectome is symmetric, so this changes nothing here).

Timing: one chunk call first (compilation excluded), then ``steps / 100`` chunk calls and
``block_until_ready``; rate = P × steps / time. Each chunk also returns its 100 states per
simulation (vbjax's loop always does) and draws its noise with ``jax.random``; both are in
the time, as they are part of every vbjax chunk.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import problems  # noqa: E402

CHUNK = 100  # steps per continuation chunk


def build(speed: float = problems.MPR_SPEED, *, noise_d: float = problems.MPR_NOISE_D):
    """The jitted, vmapped chunk function, its buffer shape and the delay helper."""
    import jax
    import jax.numpy as jp
    import vbjax as vb

    weights, lengths = problems.load_connectome()
    n_nodes = weights.shape[0]
    helper = vb.make_delay_helper(jp.array(weights.T, jp.float32),
                                  jp.array(lengths, jp.float32), dt=problems.DT, v_c=speed)
    lags = problems.delay_steps(lengths, speed)
    helper = helper._replace(lags=jp.array(lags, jp.int32), max_lag=int(lags.max()) + 1)
    max_lag = int(lags.max())
    theta = vb.mpr_default_theta

    def dfun(buf, x, t, coupling):
        return vb.mpr_dfun(x, coupling * vb.delay_apply(helper, t, buf), theta)

    stochastic = noise_d > 0
    _, loop = vb.make_sdde(problems.DT, max_lag, dfun, float(np.sqrt(2 * noise_d)),
                           adhoc=vb.mpr_r_positive)
    chunk = vb.make_continuation(loop, CHUNK, max_lag, n_nodes, 2, stochastic=stochastic)
    run = jax.jit(jax.vmap(chunk, in_axes=(0, 0, 0)))
    shape = (max_lag + 1 + CHUNK, 2, n_nodes)
    zero_lags = int(np.count_nonzero((lags == 0) & (weights != 0)))
    return run, shape, zero_lags


def initial_buffers(n_sims: int, shape):
    """Every slot at the initial state: the first chunk call rolls it into the history."""
    import jax.numpy as jp

    state = jp.array(problems.MPR_INITIAL, jp.float32)[:, None]
    return jp.broadcast_to(state, (n_sims, *shape)).astype(jp.float32)


def simulate(run, shape, couplings: np.ndarray, n_chunks: int, *, seed: int = 0,
             keep: bool = False):
    """``n_chunks`` chunks of every simulation; the chunks' states when ``keep``."""
    import jax
    import jax.numpy as jp

    n_sims = couplings.size
    buf = initial_buffers(n_sims, shape)
    p = jp.array(couplings, jp.float32)
    key = jax.random.PRNGKey(seed)
    states = []
    for _ in range(n_chunks):
        key, sub = jax.random.split(key)
        buf, xs = run(buf, p, jax.random.split(sub, n_sims))
        if keep:
            states.append(np.asarray(xs))
    buf.block_until_ready()
    return buf, (np.concatenate(states, axis=1) if keep else None)


def time_sizes(sizes, n_steps: int) -> list[dict]:
    import jax

    run, shape, zero_lags = build()
    device = str(jax.devices()[0])
    records = []
    for n_sims in sizes:
        couplings = problems.mpr_couplings(n_sims)
        simulate(run, shape, couplings, 1)  # compile for this P, excluded
        n_chunks = max(1, n_steps // CHUNK)
        started = time.perf_counter()
        buf, _ = simulate(run, shape, couplings, n_chunks)
        elapsed = time.perf_counter() - started
        final = np.asarray(buf[:, -1])
        records.append({"engine": "vbjax", "model": "montbrio", "device": device,
                        "jax": jax.__version__, "n_sims": n_sims,
                        "n_steps": n_chunks * CHUNK, "chunk": CHUNK, "run_s": elapsed,
                        "sim_steps_per_s": n_sims * n_chunks * CHUNK / elapsed,
                        "nonfinite": int(np.count_nonzero(~np.isfinite(final))),
                        "zero_lag_connections": zero_lags})
        print(json.dumps(records[-1]), flush=True)
    return records


def check(reference: Path) -> int:
    """Deterministic vbjax against brainsweep's deterministic raw trajectory (same problem,
    noise off): relative error and correlation per simulation and variable."""
    ref = np.load(reference)
    raw, couplings = ref["raw"], ref["global_coupling"]  # raw: (P, T, 2, N)
    run, shape, _ = build(noise_d=0.0)
    n_chunks = raw.shape[1] // CHUNK
    _, states = simulate(run, shape, couplings, n_chunks, keep=True)  # (P, T, 2, N)
    steps = n_chunks * CHUNK
    print(f"vbjax deterministic vs brainsweep ({ref['target']}), {steps} steps, "
          f"P = {couplings.size}")
    worst = 0.0
    for i, coupling in enumerate(couplings):
        for v, name in enumerate(("r", "V")):
            a, b = states[i, :steps, v], raw[i, :steps, v]
            rel = float(np.linalg.norm(a - b) / np.linalg.norm(b))
            corr = float(np.corrcoef(a.ravel(), b.ravel())[0, 1])
            worst = max(worst, rel)
            print(f"  G = {coupling:.3f} {name}: relative error {rel:.2e}, "
                  f"correlation {corr:.6f}, range brainsweep [{b.min():.3f}, {b.max():.3f}] "
                  f"vbjax [{a.min():.3f}, {a.max():.3f}]")
    print(f"worst relative error {worst:.2e}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 8192])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--json", type=Path, help="write every record here")
    parser.add_argument("--check", type=Path,
                        help="instead: compare with brainsweep_side.py --reference output")
    args = parser.parse_args(argv)
    if args.check:
        return check(args.check)
    records = time_sizes(args.sizes, args.steps)
    if args.json:
        args.json.write_text(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
