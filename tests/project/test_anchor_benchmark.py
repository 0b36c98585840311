"""benchmarks/anchors on a CPU: what the RateML script changes in the generated kernels, and
where their 32-bit history offsets wrap. Needs the tvb-contrib wheel that
``benchmarks/anchors/fetch_peers.sh`` downloads (git-ignored); skipped without it."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

ANCHORS = Path(__file__).resolve().parents[2] / "benchmarks" / "anchors"


@pytest.fixture(scope="module")
def rateml():
    spec = importlib.util.spec_from_file_location("anchors_rateml", ANCHORS / "rateml.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def wheel(rateml):
    wheels = sorted((ANCHORS / ".peers").glob("tvb_contrib-*.whl"))
    if not wheels:
        pytest.skip("no tvb-contrib wheel in benchmarks/anchors/.peers (fetch_peers.sh)")
    return wheels[-1]


@pytest.mark.parametrize("name", ["kuramoto", "montbrio_heun"])
def test_prepared_source_has_the_stated_changes_only_once(rateml, wheel, name):
    original = rateml.read_generated(wheel, name)
    text = rateml.prepare_source(original, name)
    assert "blockIdx.x * blockDim.x + threadIdx.x" in text
    assert "gridDim.x * blockDim.x * threadIdx.y" not in text.split("bold_update")[0]
    assert "(state_pwi[(size_t)((time) *" in text
    assert f"__global__ void {name}(" in text
    if name == "montbrio_heun":
        assert "1.0f / 3.0f / dt" in text and "1.0f / 1.0f / dt" not in text
    # a source whose patterns do not match (here: already changed) is refused, not timed
    with pytest.raises(SystemExit, match="expected one"):
        rateml.prepare_source(text, name)


@pytest.mark.parametrize("name, last_safe", [("kuramoto", 15420), ("montbrio_heun", 30840)])
def test_generated_offsets_wrap_past_two_to_the_32(rateml, name, last_safe):
    # buffer x states x 68 nodes x P float32 slots: 4096 x 1 (1 m/s) and 1024 x 2 (3 m/s)
    assert not rateml.offsets_wrap(name, last_safe)
    assert rateml.offsets_wrap(name, last_safe + 1)


def test_prepared_kernels_compile_with_nvcc(rateml, wheel, tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not installed")
    probe = subprocess.run([nvcc, "--ptx", "-x", "cu", "-", "-o", str(tmp_path / "p.ptx")],
                           input="#include <curand_kernel.h>\n", text=True,
                           capture_output=True)
    if probe.returncode:
        pytest.skip("nvcc has no cuRAND headers (RateML's kernels include curand_kernel.h)")
    for name in rateml.MODELS:
        source = tmp_path / f"{name}.cu"
        source.write_text(rateml.prepare_source(rateml.read_generated(wheel, name), name))
        ptx = tmp_path / f"{name}.ptx"
        subprocess.run([nvcc, "--ptx", *rateml.NVCC_OPTIONS, "-DNH=4096", str(source), "-o",
                        str(ptx)], check=True, capture_output=True)
        assert f".entry {rateml.mangled_name(name)}(" in ptx.read_text()
