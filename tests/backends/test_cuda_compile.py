"""The CUDA target without a GPU: generated sources compile, host layouts are right.

The compile tests need nvcc (skipped without it): every Montbrio variant, and every shipped
model, RateML file and a BOLD drive reading auxiliaries, compile for sm_90 without a warning.
The rest runs anywhere: the module imports without pycuda, the delay tables match the oracle's
rule, and the argument type string of the pycuda prepared call matches the kernel's C
signature (both come from one table, brainsweep.backends.gpu.signatures), which no CPU test
could otherwise catch.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from brainsweep import codegen, reference
from brainsweep.backends import cuda_target
from brainsweep.backends.base import ShardInputs
from brainsweep.backends.cuda_target import CudaTarget, collect_outputs, layout_shard
from brainsweep.backends.gpu.signatures import KERNELS, prepared_types
from brainsweep.network.delays import delay_tables
from model_cases import (
    CASES,
    COUPLING_CASES,
    RATE_DRIVEN_BOLD,
    RATEML_CASES,
    coupling_case,
    model_variant,
)

XML = Path(__file__).resolve().parents[2] / "resources" / "rateml-xml"
VARIANTS = [(dtype, integrator, stochastic)
            for dtype in ("float32", "float64")
            for integrator, stochastic in [("euler", True), ("euler", False), ("heun", True),
                                           ("heun", False), ("rk4", False)]]


def nvcc_compile(source: str, path: Path) -> tuple[int, str]:
    """Compile ``source`` for sm_90 as pycuda's SourceModule does; (return code, log)."""
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc (the CUDA toolkit) is not on PATH")
    path.write_text(source)
    # --cubin is what pycuda's SourceModule runs: device code only, no host compiler,
    # twice as fast as -c and the same front end, optimiser and ptxas.
    done = subprocess.run(
        [nvcc, "-arch=sm_90", "--cubin", "--Werror", "all-warnings", str(path), "-o",
         str(path.with_suffix(".cubin"))], capture_output=True, text=True, check=False)
    return done.returncode, done.stderr


def compile_all(jobs: dict[str, str], folder: Path) -> None:
    """Compile every ``name -> source`` two at a time (nvcc is single-threaded; CI has 2 cores)
    and fail with every log that is not clean."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(jobs, pool.map(
            lambda item: nvcc_compile(item[1], folder / f"{item[0]}.cu"), jobs.items()),
            strict=True))
    failures = {name: log for name, (code, log) in results.items() if code != 0}
    assert not failures, failures


def test_every_variant_compiles_with_nvcc(tmp_path: Path):
    jobs = {f"montbrio-{dtype}-{integrator}-{stochastic}": codegen.generate(
                "montbrio", target="cuda", dtype=dtype, integrator=integrator,
                stochastic=stochastic)
            for dtype, integrator, stochastic in VARIANTS}
    compile_all(jobs, tmp_path)


def test_every_model_compiles_with_nvcc(tmp_path: Path):
    """Every shipped model with its usual coupling, every RateML file with its own coupling,
    and a BOLD drive that reads auxiliaries (float32 stochastic heun, what sweeps run)."""
    sources = [(name, case.coupling) for name, case in CASES.items()]
    sources += [(XML / f"{name}.xml", None) for name in RATEML_CASES]
    sources += [(model_variant("rww", RATE_DRIVEN_BOLD, tmp_path), "linear")]
    jobs = {Path(str(model)).stem + ("-xml" if str(model).endswith(".xml") else ""):
            codegen.generate(model, target="cuda", dtype="float32", coupling=coupling,
                             integrator="heun", stochastic=True)
            for model, coupling in sources}
    assert len(jobs) == len(sources)
    compile_all(jobs, tmp_path)


def test_regional_parameters_compile_with_nvcc(tmp_path: Path):
    """Kernels reading parameters per region: one, two (one of them read by the BOLD drive's
    auxiliaries), float32 and float64."""
    drive = model_variant("rww", RATE_DRIVEN_BOLD, tmp_path)
    cases = {"montbrio-eta": ("montbrio", ("eta",), "linear"),
             "rww_exc_inh-w_p-J_i": ("rww_exc_inh", ("w_p", "J_i"), "linear"),
             "rww-rate-drive-w": (drive, ("w",), "linear")}
    jobs = {f"{name}-{dtype}": codegen.generate(
                codegen.kernel_spec(model, coupling=coupling, dtype=dtype, regional=regional),
                target="cuda")
            for name, (model, regional, coupling) in cases.items()
            for dtype in ("float32", "float64")}
    compile_all(jobs, tmp_path)


def test_every_coupling_compiles_with_nvcc(tmp_path: Path):
    """Every coupling case (two-variable pre reads of source and target included), float32
    and float64 deterministic heun, as the GPU tests run them."""
    jobs = {}
    for key in COUPLING_CASES:
        model, case = coupling_case(key)
        for dtype in ("float32", "float64"):
            jobs[f"{key}-{dtype}"] = codegen.generate(model, target="cuda", dtype=dtype,
                                                      coupling=case.coupling,
                                                      integrator="heun", stochastic=False)
    compile_all(jobs, tmp_path)


def test_float32_uses_single_precision_math():
    single = codegen.generate("montbrio", target="cuda", dtype="float32")
    double = codegen.generate("montbrio", target="cuda", dtype="float64")
    for name in ("logf(", "sqrtf(", "cosf(", "sinf("):
        assert name in single and name not in double
    assert "typedef float real;" in single and "typedef double real;" in double
    assert re.search(r"\b\d+\.\d+f\b", single) and not re.search(r"\b\d+\.\d+f\b", double)


@pytest.mark.parametrize("regional", [(), ("eta",)], ids=["homogeneous", "regional"])
def test_prepared_call_types_match_the_kernel_signatures(regional):
    """The C heads rendered from the signature table parse back to the host's type codes."""
    spec = codegen.kernel_spec("montbrio", dtype="float32", regional=regional)
    source = codegen.generate(spec, target="cuda")
    spell = {"int": "i", "uint32": "I", "double": "d"}
    for kernel in KERNELS:
        signature = re.search(rf"KERNEL void {kernel}\((.*?)\)\s*{{", source, re.S).group(1)
        codes = ""
        for parameter in signature.split(","):
            words = parameter.replace("const", "").split()
            codes += "P" if "*" in parameter else spell[words[-2]]
        assert codes == prepared_types(kernel, bool(regional)), kernel
    assert prepared_types("initialise_shard") == "ii" + "P" * 11
    table = "P" * (11 if regional else 10)  # the regional table follows params
    assert prepared_types("simulate_shard", bool(regional)) == (
        "iiiii" + table + "dPIPiiiiPd" + "P" * 9)


def test_both_languages_render_the_same_kernels():
    """CUDA and OpenCL sources differ only in the prelude's spellings and math names."""
    cuda = codegen.generate("montbrio", target="cuda", dtype="float64")
    opencl = codegen.generate("montbrio", target="opencl", dtype="float64")
    body = slice(cuda.index("typedef double real;"), None)
    assert cuda[body] == opencl[opencl.index("typedef double real;"):]


def test_module_imports_and_reports_without_pycuda():
    ok, reason = CudaTarget.available()
    if importlib.util.find_spec("pycuda") is None:
        assert not ok and "pycuda" in reason
    assert isinstance(CudaTarget.devices(), list)
    assert cuda_target.device_ordinal(None) == 0
    assert cuda_target.device_ordinal("cuda:3") == 3


def test_delay_tables_follow_the_oracles_rule():
    generator = np.random.default_rng(4)
    lengths = generator.uniform(0.0, 250.0, (12, 12))
    speeds = np.array([3.0, 7.5, 3.0, 1.25, 7.5])
    delays, delay_set = delay_tables(lengths, speeds, 0.1)
    assert delays.shape == (3, 12, 12) and delays.dtype == np.int32
    for s, speed in enumerate(speeds):
        np.testing.assert_array_equal(delays[delay_set[s]],
                                      reference.delay_steps(lengths, speed, 0.1))


def test_layouts_round_trip_to_simulation_major():
    """layout_shard puts simulations fastest; collect_outputs undoes it and masks divergence."""
    spec = codegen.kernel_spec("montbrio", dtype="float32")
    generator = np.random.default_rng(8)
    n_sims, n_nodes, n_steps = 3, 5, 20
    initial = generator.normal(size=(n_sims, 2, n_nodes))
    inputs = ShardInputs(
        params=np.tile(np.linspace(1.0, 2.0, len(spec.parameter_names)), (n_sims, 1)),
        sim_index=np.array([5, 2**32 + 6, 7]), weights=generator.random((n_nodes, n_nodes)),
        lengths=generator.uniform(1, 50, (n_nodes, n_nodes)), initial=initial,
        noise=np.array([0.1, 0.2]), dt=0.1, n_steps=n_steps, seed=2**33 + 9, raw_period=2,
        tavg_period=5, bold_period=10, bold_substeps=5, balloon=np.arange(9.0), dt_bold_s=1e-3,
        parameter_names=spec.parameter_names)
    shard = layout_shard(spec, inputs)
    assert shard.state.shape == (2, n_nodes, n_sims)
    np.testing.assert_array_equal(shard.state[1, 3], initial[:, 1, 3].astype(np.float32))
    np.testing.assert_array_equal(shard.sim_key, [5, 6, 7])
    assert shard.seed == 9 and (shard.frames_raw, shard.frames_tavg, shard.frames_bold) == \
        (10, 4, 2)
    raw = generator.random((10, 2, n_nodes, n_sims)).astype(np.float32)
    bold = generator.random((2, n_nodes, n_sims)).astype(np.float32)
    tavg = generator.random((4, 2, n_nodes, n_sims)).astype(np.float32)
    out = collect_outputs(shard, raw.ravel(), tavg.ravel(), bold.ravel(),
                          np.array([0, 1, 0], np.int32), {})
    assert out.raw[2, 7, 1, 4] == raw[7, 1, 4, 2] and out.bold[0, 1, 3] == bold[1, 3, 0]
    assert np.isnan(out.raw[1]).all() and np.isnan(out.tavg[1]).all()
    np.testing.assert_array_equal(out.diverged, [False, True, False])


def test_refuses_a_shard_larger_than_the_device():
    spec = codegen.kernel_spec("montbrio")
    inputs = ShardInputs(
        params=np.ones((4, len(spec.parameter_names))), sim_index=np.arange(4),
        weights=np.ones((3, 3)), lengths=np.full((3, 3), 100.0), initial=np.zeros((4, 2, 3)),
        noise=np.zeros(2), dt=0.1, n_steps=10, seed=0, raw_period=1, tavg_period=0,
        bold_period=0, bold_substeps=1, balloon=np.zeros(9), dt_bold_s=1e-3,
        parameter_names=spec.parameter_names)
    shard = layout_shard(spec, inputs)
    assert shard.horizon == 1001  # rint(100 mm / 1 m/s / 0.1 ms) + 1
    with pytest.raises(Exception, match="GiB"):
        shard.check_fits(1024, "a small device")
