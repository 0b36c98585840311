"""The split mapping of the GPU step kernel (many threads per simulation, for small shards):
when it is chosen, and, on PoCL, that it computes what the one-thread-per-simulation kernel
and the float64 oracle compute.

The split kernel sums each node's connections in ``conn_parts`` interleaved slices that meet in
local memory, so only the order of the sums' terms differs from the lanes kernel; everything
after the sums (noise, integrator, monitors) is the same template text. Tolerances are those
of tests/backends/test_opencl_target.py (the same network and runs): float64 ``≤ 1e-9``
against the lanes kernel and the oracle, float32 ``≤ 16 eps32`` against float64. Geometries
are chosen so that lanes share a block (2), a simulation needs several rounds of nodes
(node_parts < N) and a node's connections are split (conn_parts > 1); the real device's
choice is checked on the geometry alone.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.io
from test_cuda_compile import compile_all

from brainsweep import codegen, reference, simulate
from brainsweep.backends.cuda_target import CudaTarget
from brainsweep.backends.gpu.launch import SIM_LANES, choose_mapping, choose_split
from brainsweep.backends.opencl_target import OpenCLTarget
from brainsweep.regions import select_regions
from half_history import check_rounding_to_nearest

ok, why = OpenCLTarget.available()
needs_opencl = pytest.mark.skipif(not ok, reason=f"OpenCL target unavailable: {why}")

HCP = Path(__file__).resolve().parents[2] / "resources" / "hcp-aal2" / "subjects" / "101309"
EPS32 = float(np.finfo(np.float32).eps)
N_STEPS = 1000
SPEEDS = [3.0, 6.0, 3.0]
H200 = (132, 32)  # multiprocessors, resident warps of a 64-register kernel
GEOMETRIES = [(2, 16, 3), (1, 80, 2), (1, 7, 1)]


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(ref)), "NaN never passes"
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


# -- the choice ---------------------------------------------------------------------------

def test_small_shards_split_and_large_ones_keep_one_thread_per_simulation():
    for n_sims in (16, 64, 256, 1024, 4096):
        mapping = choose_mapping(n_sims, 80, occupancy=H200)
        assert mapping.kernel == "simulate_split", n_sims
        assert mapping.blocks * mapping.lanes >= n_sims and mapping.group <= 1024
        # every multiprocessor gets a block once the shard has enough simulations
        assert mapping.blocks >= min(n_sims, H200[0])
        # at least half the device's resident threads are used, or nearly 1024 a simulation
        assert mapping.threads >= min(H200[0] * H200[1] * 32 // 2, n_sims * 900)
    for n_sims in (8192, 32768, 131072):
        mapping = choose_mapping(n_sims, 80, occupancy=H200)
        assert mapping.kernel == "simulate_shard" and mapping.lanes == SIM_LANES


def test_p64_on_80_regions_is_a_block_of_nearly_1024_threads_per_simulation():
    lanes, parts, conn = choose_split(64, 80, *H200)
    assert (lanes, parts) == (1, 80) and 900 <= parts * conn <= 1024


def test_a_cpu_device_keeps_the_lanes_kernel_unless_asked():
    assert choose_mapping(4, 80, occupancy=None).kernel == "simulate_shard"
    forced = choose_mapping(4, 80, occupancy=None, mapping="split", split_geometry=(2, 8, 3))
    assert (forced.kernel, forced.group, forced.blocks) == ("simulate_split", 48, 2)
    with pytest.raises(ValueError, match="exceeds"):
        choose_mapping(4, 80, occupancy=None, mapping="split", split_geometry=(2, 80, 8))
    with pytest.raises(ValueError, match="mapping must be"):
        choose_mapping(4, 80, occupancy=None, mapping="warp")


# -- the kernel on PoCL -------------------------------------------------------------------

@pytest.fixture(scope="module")
def hcp():
    keep = select_regions(94, preset="aal2-cortical")
    weights = scipy.io.loadmat(HCP / "structural" / "DTI_CM.mat")["sc"][np.ix_(keep, keep)]
    lengths = scipy.io.loadmat(HCP / "structural" / "DTI_LEN.mat")["len"][np.ix_(keep, keep)]
    return SimpleNamespace(weights=weights / weights.max(), lengths=lengths)


@pytest.fixture(scope="module")
def initial(hcp):
    generator = np.random.default_rng(20261202)
    n = hcp.weights.shape[0]
    r = generator.uniform(0.05, 0.3, (len(SPEEDS), n))
    v = generator.uniform(-2.2, -1.2, (len(SPEEDS), n))
    return np.stack([r, v], axis=1)


def sweep(conn, initial, *, mapping, geometry=None, dtype="float64", fused_store=True,
          **overrides):
    """Three noisy simulations, two speeds (two history blocks), every monitor."""
    options = dict(
        n_steps=N_STEPS, integrator="heun", dtype=dtype, monitors=("raw", "tavg", "bold"),
        params={"global_coupling": [0.3, 0.6, 0.5], "speed": SPEEDS,
                "eta": [-5.0, -4.8, -4.9]},
        seed=11, bold_period_s=0.02, bold_dt_s=1e-4, tavg_period=10, initial_state=initial,
        stochastic=True, noise={"r": 0.01, "V": 0.02})
    options.update(overrides)
    saved = OpenCLTarget.mapping, OpenCLTarget.split_geometry, OpenCLTarget.fused_store
    OpenCLTarget.mapping, OpenCLTarget.split_geometry = mapping, geometry
    OpenCLTarget.fused_store = fused_store
    try:
        return simulate.run(conn, "montbrio", target="opencl", **options)
    finally:
        (OpenCLTarget.mapping, OpenCLTarget.split_geometry,
         OpenCLTarget.fused_store) = saved


@pytest.fixture(scope="module")
def lanes64(hcp, initial):
    return sweep(hcp, initial, mapping="lanes")


@needs_opencl
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: "x".join(map(str, g)))
def test_split_float64_matches_the_lanes_kernel(hcp, initial, lanes64, geometry):
    out = sweep(hcp, initial, mapping="split", geometry=geometry)
    assert not out.diverged.any() and not lanes64.diverged.any()
    assert np.ptp(out.raw, axis=1).max(axis=(1, 2)).min() > 0.1  # trajectories
    for monitor in ("raw", "tavg", "bold"):
        assert relative_error(getattr(out, monitor), getattr(lanes64, monitor)) <= 1e-9


@needs_opencl
def test_split_float32_within_bound_of_float64(hcp, initial, lanes64):
    out = sweep(hcp, initial, mapping="split", geometry=(2, 16, 3), dtype="float32")
    for monitor in ("raw", "tavg", "bold"):
        error = relative_error(getattr(out, monitor).astype(np.float64),
                               getattr(lanes64, monitor))
        assert error <= 16 * EPS32, (monitor, error / EPS32)


@needs_opencl
@pytest.mark.parametrize("coupling", ["linear", "difference"])
def test_split_matches_the_oracle(hcp, initial, coupling):
    """300 steps at 20 m/s (the ring wraps); difference is factorised (row sums)."""
    n_steps, speed, seed = 300, 20.0, 5
    params = {"global_coupling": 0.6, "speed": speed, "eta": -4.8}
    out = sweep(hcp, initial[0], mapping="split", geometry=(1, 16, 3), n_steps=n_steps,
                coupling=coupling, seed=seed, sim_index=[7], params=params,
                monitors=("raw",))
    spec = codegen.kernel_spec("montbrio", coupling=coupling)
    ref = reference.simulate_one(
        spec, weights=hcp.weights, lengths=hcp.lengths,
        params=dict(zip(spec.parameter_names, out.parameters[0], strict=True)), dt=0.1,
        n_steps=n_steps, initial=initial[0], noise=np.array([0.01, 0.02]), seed=seed,
        sim_index=7, raw_period=1)
    assert relative_error(out.raw[0], ref.raw) <= 1e-9


@needs_opencl
def test_split_flags_and_masks_a_diverged_simulation(hcp, initial, lanes64):
    params = {"global_coupling": [0.3, 0.8, 0.5], "speed": SPEEDS, "eta": [-5.0, 10.0, -4.9],
              "J": [15.0, 25.0, 15.0]}
    out = sweep(hcp, initial, mapping="split", geometry=(2, 16, 3), params=params)
    np.testing.assert_array_equal(out.diverged, [False, True, False])
    assert np.isnan(out.raw[1]).all() and np.isnan(out.bold[1]).all()
    # its block's neighbour (lane 0) and the next block run on untouched
    assert relative_error(out.raw[[0, 2]], lanes64.raw[[0, 2]]) <= 1e-9


# -- the history's store path and storage type in the split kernel ------------------------

def test_the_store_phase_is_generated_only_when_the_fused_store_is_off(tmp_path):
    """GpuTarget.fused_store False (for timing the store path before it) changes one line;
    the CUDA sources compile with nvcc for sm_90 (skipped without nvcc)."""
    sources = {}
    for cls in (OpenCLTarget, CudaTarget):
        default = codegen.generate("montbrio", target=cls.name, dtype="float32")
        saved = cls.fused_store
        cls.fused_store = False  # a class knob: get_target gives a new instance
        try:
            phase = codegen.generate("montbrio", target=cls.name, dtype="float32",
                                     history_dtype="float16")
        finally:
            cls.fused_store = saved
        assert "const int fused = rounds == 1 && lanes == 1;" in default
        assert "fused = 0;" not in default
        assert "const int fused = 0;" in phase and "fused = rounds == 1" not in phase
        sources[cls.name] = phase
    compile_all({"store_phase_half": sources["cuda"]}, tmp_path)


@needs_opencl
@pytest.mark.parametrize("dtype, history", [("float64", None), ("float32", "float16")])
def test_store_phase_and_fused_store_give_the_same_runs(hcp, initial, dtype, history):
    """One round (1 x 80 x 2): the fused store and the store phase store the same values."""
    runs = [sweep(hcp, initial, mapping="split", geometry=(1, 80, 2), dtype=dtype,
                  history_dtype=history, fused_store=fused, n_steps=300)
            for fused in (True, False)]
    assert not runs[0].diverged.any()
    for monitor in ("raw", "tavg", "bold"):
        np.testing.assert_array_equal(getattr(runs[0], monitor), getattr(runs[1], monitor))


@needs_opencl
@pytest.mark.parametrize("geometry, fused", [((1, 2, 1), True), ((1, 2, 1), False),
                                             ((2, 1, 1), True)],
                         ids=["one-round-fused", "one-round-store-phase", "two-rounds"])
def test_split_stores_a_float16_history_rounded_to_nearest(tmp_path, geometry, fused):
    """The split kernel reads float16(x0), rounded to nearest even (tests/half_history.py),
    whichever path stores the history: the fused store, the store phase, several rounds."""
    saved = OpenCLTarget.mapping, OpenCLTarget.split_geometry, OpenCLTarget.fused_store
    OpenCLTarget.mapping, OpenCLTarget.split_geometry = "split", geometry
    OpenCLTarget.fused_store = fused
    try:
        check_rounding_to_nearest("opencl", tmp_path, dtype="float32", n_sims=6)
    finally:
        (OpenCLTarget.mapping, OpenCLTarget.split_geometry,
         OpenCLTarget.fused_store) = saved
