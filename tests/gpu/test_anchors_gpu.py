"""The anchor benchmark's RateML host side (benchmarks/anchors/rateml.py) on a GPU.

RateML's generated ``montbrio_heun.c``, read from the tvb-contrib wheel, changed and launched
exactly as the anchor timing does (buffers, parameter layout, 1-D blocks), run without noise
and compared with brainsweep's float64 Numba kernel given RateML's constants: if the buffers,
the parameter columns, the thread index over several blocks or the delays were wrong, the
averages would differ by far more than float32 rounding. Needs the wheel in
``benchmarks/anchors/.peers/`` (``benchmarks/anchors/fetch_peers.sh``; carry that folder).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from brainsweep import connectome, simulate

pytestmark = pytest.mark.gpu

ANCHORS = Path(__file__).resolve().parents[2] / "benchmarks" / "anchors"
N_SIMS = 64  # two blocks of 32: a thread index ignoring blockIdx fails the second one
N_LAUNCHES = 30  # 300 steps of 0.1 ms: still in the transient, where delays matter
# montbrio_heun.c's own constants (its equations are TVB's MontbrioPazoRoxin)
RATEML_MPR = {"tau": 1.0, "I": 0.0, "Delta": 0.7, "J": 14.5, "eta": -4.6, "cr": 1.0, "cv": 1.0}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"anchors_{name}", ANCHORS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rateml(cuda_device):
    if not list((ANCHORS / ".peers").glob("tvb_contrib-*.whl")):
        pytest.skip("no tvb-contrib wheel in benchmarks/anchors/.peers "
                    "(run benchmarks/anchors/fetch_peers.sh and carry that folder)")
    return _load("rateml")


def _rateml_tavg(rateml, couplings: np.ndarray) -> np.ndarray:
    import pycuda.driver as drv

    drv.init()
    context = drv.Device(0).retain_primary_context()
    context.push()
    try:
        _, lengths = rateml.problems.load_connectome()
        nh = rateml.buffer_length(lengths, rateml.problems.MPR_SPEED)
        params = np.stack([np.zeros_like(couplings), couplings])  # nsig 0: no noise
        kernel = rateml.RatemlKernel("montbrio_heun", params, nh)
        try:
            kernel.run(N_LAUNCHES, block=32)
            return kernel.tavg(N_LAUNCHES).astype(np.float64)  # (2, N, P)
        finally:
            kernel.free()
    finally:
        context.pop()


def _brainsweep_tavg(couplings: np.ndarray, dtype: str) -> np.ndarray:
    """The same network, zero history, deterministic Heun; the last 10 steps' mean."""
    conn = connectome.load(ANCHORS.parents[1] / "resources" / "tvb-connectivity" /
                           "connectivity_68.zip")
    params = {"global_coupling": couplings, "speed": np.full(couplings.size, 3.0),
              **RATEML_MPR}
    out = simulate.run(conn, "montbrio", target="numba", dt=0.1, n_steps=N_LAUNCHES * 10,
                       params=params, integrator="heun", coupling="linear", stochastic=False,
                       monitors=("raw",), raw_period=1, dtype=dtype,
                       initial_state=np.zeros((2, conn.weights.shape[0])))
    return out.raw[:, -10:].mean(axis=1).transpose(1, 2, 0)  # (P, T, 2, N) -> (2, N, P)


def test_rateml_montbrio_heun_as_timed_matches_brainsweep(rateml):
    couplings = np.linspace(0.0, 0.5, N_SIMS)
    theirs = _rateml_tavg(rateml, couplings)
    oracle = _brainsweep_tavg(couplings, "float64")
    single = _brainsweep_tavg(couplings, "float32")
    scale = np.abs(oracle).max()
    error = np.abs(theirs - oracle).max() / scale
    float32_error = np.abs(single - oracle).max() / scale  # float32 rounding on this problem
    # RateML's float32 differs from brainsweep's in operation order and its pi (3.141593f):
    # allow ten times brainsweep's own float32 error, at least 64 float32 epsilons
    limit = max(10 * float32_error, 64 * np.finfo(np.float32).eps)
    assert np.isfinite(theirs).all()
    assert error <= limit, (error, float32_error)
    # the couplings reach the simulations of both blocks: the network input matters here
    spread = np.abs(oracle[..., -1] - oracle[..., 0]).max() / scale
    assert spread > 100 * limit, spread
