"""The optional float16 delay history (``simulation.history_dtype``) without a GPU.

The spec, the hash and the generated sources (the default kernel unchanged, the half one
compiling for sm_90 with nvcc), the refusals (Numba, bad values, the stage's config key),
the planner's bytes, and runs on PoCL against float32 history and against exact rounding
(tests/half_history.py states the tolerances and why).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from test_cuda_compile import compile_all

from brainsweep import bench, codegen, connectome
from brainsweep.backends.base import ShardInputs
from brainsweep.backends.cuda_target import layout_shard
from brainsweep.backends.opencl_target import OpenCLTarget
from brainsweep.cli import main
from brainsweep.codegen.generate import spec_hash
from brainsweep.errors import InputError
from brainsweep.network.plan import plan_shard
from half_history import check_montbrio_within_unit_roundoff, check_rounding_to_nearest

opencl_ok, opencl_why = OpenCLTarget.available()
needs_opencl = pytest.mark.skipif(not opencl_ok, reason=f"OpenCL unavailable: {opencl_why}")


def test_spec_normalises_and_checks_the_history_type():
    default = codegen.kernel_spec("montbrio", dtype="float32")
    same = codegen.kernel_spec("montbrio", dtype="float32", history_dtype="float32")
    assert same == default and same.history_dtype is None
    assert default.history_storage == "float32"
    half = codegen.kernel_spec("montbrio", dtype="float32", history_dtype="float16")
    assert half.history_storage == "float16"
    # the default kernel keeps its hash (caches stay valid); the half one gets its own
    assert spec_hash(same, "cuda") == spec_hash(default, "cuda") != spec_hash(half, "cuda")
    for bad in ("float64", "bfloat16", "half"):
        with pytest.raises(InputError, match="history_dtype") as error:
            codegen.kernel_spec("montbrio", dtype="float32", history_dtype=bad)
        assert error.value.field == "history_dtype"


def test_numba_refuses_a_float16_history():
    with pytest.raises(InputError, match=r"numba target .* history_dtype 'float16' needs one "
                                         r"of the targets \['cuda', 'opencl'\]"):
        codegen.generate("montbrio", target="numba", dtype="float32", history_dtype="float16")
    conn = SimpleNamespace(weights=np.ones((2, 2)) - np.eye(2), lengths=np.full((2, 2), 10.0))
    with pytest.raises(InputError, match="history_dtype"):
        from brainsweep import simulate

        simulate.run(conn, "montbrio", target="numba", n_steps=10, dtype="float32",
                     history_dtype="float16")


@pytest.mark.parametrize("target", ["cuda", "opencl"])
def test_sources_store_half_only_when_asked(target):
    default = codegen.generate("montbrio", target=target, dtype="float32")
    half = codegen.generate("montbrio", target=target, dtype="float32", history_dtype="float16")
    half_spelling = {"cuda": "__float2half_rn", "opencl": "vstore_half_rte"}[target]
    assert "typedef real history_t;" in default and half_spelling not in default
    assert half_spelling in half and "typedef real history_t;" not in half
    # every access of the history goes through the two macros
    # (the source holds two kernels, the one-thread-per-simulation one and the split one)
    for source in (default, half):
        assert "lane_history[" not in source
        uses = re.findall(r"(\w+)\(lane_history, (\d) \* group_hns", source)
        assert uses and set(name for name, _ in uses) == {"LOAD_HISTORY", "STORE_HISTORY"}
        for name in ("LOAD_HISTORY", "STORE_HISTORY"):  # both coupled variables, both ways
            assert {cvar for n, cvar in uses if n == name} == {"0", "1"}
        bare = [line for line in source.splitlines() if "lane_history" in line
                and "_HISTORY(lane_history" not in line]
        assert all("*lane_history = history +" in line for line in bare), bare
    wide = codegen.generate("montbrio", target=target, dtype="float64", history_dtype="float16")
    assert {"cuda": "__double2half", "opencl": "vstore_half_rte"}[target] in wide


def test_half_history_sources_compile_with_nvcc(tmp_path: Path):
    """Both kernel types, the benchmark's Kuramoto and a two-coupled-variable Epileptor."""
    jobs = {f"montbrio-{dtype}-half": codegen.generate(
                "montbrio", target="cuda", dtype=dtype, history_dtype="float16")
            for dtype in ("float32", "float64")}
    jobs["kuramoto-half"] = codegen.generate("kuramoto", target="cuda", dtype="float32",
                                             coupling="kuramoto", integrator="euler",
                                             history_dtype="float16")
    jobs["epileptor-half"] = codegen.generate("epileptor", target="cuda", dtype="float32",
                                              coupling="difference", history_dtype="float16")
    compile_all(jobs, tmp_path)


def test_planner_and_layout_halve_the_history_bytes():
    """The benchmark problem (68 regions, 16 speeds): history bytes halve, the rest stays."""
    conn = connectome.load(bench._CONNECTOME)
    grid = bench.bench_grid(64)
    plans = {storage: plan_shard(conn.weights, conn.lengths, grid["speed"], dt=0.1, n_states=1,
                                 n_cvars=1, n_params=3, dtype="float32",
                                 history_dtype=storage, frames=(0, 0, 5))
             for storage in ("float32", "float16")}
    full, half = (plans[s].nbytes() for s in ("float32", "float16"))
    assert half["history"] * 2 == full["history"] and half["other"] == full["other"]
    assert half["tables"] == full["tables"]
    # 702 slots on average x 68 nodes x 2 B: the 190.8 KiB of float32 minus ~93 KiB
    assert plans["float32"].bytes_per_sim / 1024 == pytest.approx(190.8, abs=0.05)
    saved = plans["float32"].bytes_per_sim - plans["float16"].bytes_per_sim
    assert saved == pytest.approx(full["history"] / 2 / 64)

    spec = codegen.kernel_spec("kuramoto", coupling="kuramoto", dtype="float32",
                               history_dtype="float16", integrator="euler")
    n_sims, n_nodes = grid["speed"].size, conn.weights.shape[0]
    params = np.column_stack([np.ones(n_sims), grid["global_coupling"], grid["speed"]])
    inputs = ShardInputs(
        params=params, sim_index=np.arange(n_sims), weights=conn.weights,
        lengths=conn.lengths, initial=np.zeros((n_sims, 1, n_nodes)), noise=np.zeros(1),
        dt=0.1, n_steps=10, seed=0, raw_period=0, tavg_period=0, bold_period=0,
        bold_substeps=1, balloon=np.zeros(9), dt_bold_s=1e-3,
        parameter_names=spec.parameter_names)
    shard = layout_shard(spec, inputs)
    assert shard.history_real == np.float16 and shard.real == np.float32
    assert shard.plan.history_bytes == 2
    assert shard.history_size * 2 == shard.nbytes()["history"]


def test_the_stage_names_the_config_key(tmp_path: Path):
    """A float16 history with the Numba target is refused before anything runs."""
    settings = {
        "model": {"name": "kuramoto"}, "coupling": {"name": "kuramoto"},
        "integration": {"method": "euler", "dt": 0.1, "dtype": "float32"},
        "simulation": {"transient_s": 0.0, "duration_s": 1.0, "seed": 0, "target": "numba",
                       "history_dtype": "float16"},
        "monitors": {"bold": {"tr": 0.5}}, "sweep": {"global_coupling": [0.1, 0.2]},
        "shards": {"count": 1},
    }
    from brainsweep.simulate_stage import run_stage

    with pytest.raises(InputError, match=r"\[simulation.history_dtype\]: the numba target"):
        run_stage(settings, tmp_path / "missing.npz", 0, tmp_path / "out.npz")
    assert not (tmp_path / "out.npz").exists()
    # the CLI writes the half kernel from the same settings for a GPU target
    code = main(["kernels", "--settings", json.dumps(settings), "--target", "opencl",
                 "--out", str(tmp_path / "k.cl")])
    assert code == 0 and "vstore_half_rte" in (tmp_path / "k.cl").read_text()
    assert main(["kernels", "--model", "kuramoto", "--target", "numba", "--dtype", "float32",
                 "--history-dtype", "float16", "--out", str(tmp_path / "k.py")]) == 2


@needs_opencl
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pocl_stores_half_rounded_to_nearest(tmp_path: Path, dtype: str):
    check_rounding_to_nearest("opencl", tmp_path, dtype=dtype)


@needs_opencl
def test_pocl_montbrio_within_half_unit_roundoff(hcp_connectome):
    check_montbrio_within_unit_roundoff(hcp_connectome, "opencl")
