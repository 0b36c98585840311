"""Whether OpenCL can compile on this CPU is decided once, by compiling a two-line kernel.

The PoCL inside pyopencl's PyPI wheels (3.0, LLVM 14) cannot compile on a CPU its LLVM does
not know (AMD Zen 5, family 26: "unknown target CPU 'generic'"); Debian's pocl-opencl-icd
(3.1, LLVM 15, a "distro" build) compiles for the best-matching CPU of a fixed list and works.
On such a machine the OpenCL target must pick the working platform, or, with none, report one
line naming the cause and the remedy, in ``available()``, ``brainsweep info`` and a study run.

A family-26 CPU is emulated with ``qemu-x86_64 -cpu max,family=26`` (user-mode emulation
answers CPUID as told; LLVM reads the family from CPUID), so the failing case is exercised on
any x86-64 machine. ``.ci/run`` installs qemu-user and pocl-opencl-icd; without qemu the
emulated tests skip and say so.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

QEMU = shutil.which("qemu-x86_64")
SYSTEM_VENDORS = Path("/etc/OpenCL/vendors")
HAVE_PYOPENCL = importlib.util.find_spec("pyopencl") is not None
# pyopencl's wheel finds the PoCL of pocl-binary-distribution itself; OCL_ICD_VENDORS set to
# an empty folder hides every system-wide OpenCL, leaving that one alone (a laptop with only
# the PyPI packages).
WHEEL_POCL = (HAVE_PYOPENCL and importlib.util.find_spec("pocl_binary_distribution")
              is not None)


def system_pocl() -> bool:
    return SYSTEM_VENDORS.is_dir() and any("pocl" in p.read_text()
                                           for p in SYSTEM_VENDORS.glob("*.icd"))


def run_python(code: str, *, family: int | None, env: dict[str, str],
               timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter, under an emulated CPU family if given."""
    command = [sys.executable, "-c", code]
    if family is not None:
        # the real interpreter, not a shim script: qemu runs one ELF binary
        command = [QEMU, "-cpu", f"max,family={family},model=2,vendor=AuthenticAMD",
                   os.path.realpath(sys.executable), "-c", code]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **env})


PROBE = ("from brainsweep.backends.opencl_target import OpenCLTarget\n"
         "ok, why = OpenCLTarget.available()\n"
         "print('OK' if ok else 'NO', why)\n"
         "print(*OpenCLTarget.devices(), sep='\\n')\n")

needs_qemu = pytest.mark.skipif(QEMU is None, reason="qemu-x86_64 is not installed (apt-get "
                                "install qemu-user): cannot emulate a CPU of family 26")
needs_wheel_pocl = pytest.mark.skipif(not WHEEL_POCL, reason="pyopencl with "
                                      "pocl-binary-distribution is not installed")


@needs_qemu
@needs_wheel_pocl
@pytest.mark.slow
def test_wheel_pocl_alone_on_a_family_26_cpu_gives_one_reason_with_the_remedy(tmp_path):
    out = run_python(PROBE, family=26, env={"OCL_ICD_VENDORS": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    first = out.stdout.splitlines()[0]
    assert first.startswith("NO "), out.stdout
    assert "PoCL 3.0" in first and "LLVM 14" in first
    assert "unknown target CPU 'generic'" in first
    assert "apt-get install pocl-opencl-icd" in first
    assert [line for line in out.stdout.splitlines() if line.strip()] == [first]  # no device


@needs_qemu
@needs_wheel_pocl
@pytest.mark.skipif(not system_pocl(), reason="Debian's pocl-opencl-icd is not installed "
                    "(apt-get install pocl-opencl-icd)")
@pytest.mark.slow
def test_on_a_family_26_cpu_the_system_pocl_is_chosen_and_the_wheel_one_left_out():
    out = run_python(PROBE, family=26, env={})
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0] == "OK ", out.stdout
    wheel = [line for line in lines[1:] if "PoCL 3.0-" in line]
    system = [line for line in lines[1:] if "PoCL 3.0-" not in line]
    assert wheel and all(line.endswith("(cannot compile: not used)") for line in wheel)
    assert system and not any("cannot compile" in line for line in system)


@pytest.mark.skipif(not HAVE_PYOPENCL, reason="pyopencl is not installed")
def test_no_visible_device_is_one_reason_in_info_and_in_the_target():
    # PoCL's own switch that enables no device type: the loader sees platforms, no devices
    out = run_python(PROBE, family=None, env={"POCL_DEVICES": "none"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("NO no OpenCL device is visible; install"), out.stdout
    info = subprocess.run([sys.executable, "-m", "brainsweep.cli", "info"], capture_output=True,
                          text=True, env={**os.environ, "POCL_DEVICES": "none"}, timeout=300)
    assert info.returncode == 0, info.stderr
    assert "opencl: unavailable: no OpenCL device is visible; install" in info.stdout


@pytest.mark.skipif(not HAVE_PYOPENCL, reason="pyopencl is not installed")
def test_asking_for_an_unusable_opencl_raises_the_reason_without_output():
    code = ("import numpy as np\n"
            "from brainsweep import simulate\n"
            "from brainsweep.errors import InputError\n"
            "w = np.ones((2, 2)) - np.eye(2)\n"
            "conn = type('C', (), {'weights': w, 'lengths': 10 * w})()\n"
            "try:\n"
            "    simulate.run(conn, 'kuramoto', target='opencl', dt=0.1, n_steps=10,\n"
            "                 params={'global_coupling': [0.1], 'speed': [3.0]})\n"
            "except InputError as error:\n"
            "    print('REFUSED', error)\n")
    out = run_python(code, family=None, env={"POCL_DEVICES": "none"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("REFUSED "), out.stdout
    assert "the opencl target cannot run here: no OpenCL device is visible" in out.stdout


def test_a_local_study_on_an_unusable_target_stops_before_any_job(tmp_path, repo_root):
    """The Snakefile's onstart check: one message, non-zero exit, no results folder."""
    snakemake = shutil.which("snakemake")
    if snakemake is None:
        pytest.skip("snakemake is not installed")
    study = (repo_root / "config" / "studies" / "tiny.yaml").read_text()
    assert "target: numba" in study
    (tmp_path / "study.yaml").write_text(study.replace("target: numba", "target: opencl"))
    (tmp_path / "resources").symlink_to(repo_root / "resources")
    (tmp_path / "config").symlink_to(repo_root / "config")
    out = subprocess.run([snakemake, "-s", str(repo_root / "Snakefile"), "-d", str(tmp_path),
                          "-j1", "--configfile", str(tmp_path / "study.yaml")],
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "POCL_DEVICES": "none"})
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "simulation.target 'opencl' cannot run on this machine:" in text, text[-3000:]
    assert not (tmp_path / "results").exists()


@needs_qemu
@needs_wheel_pocl
@pytest.mark.skipif(not system_pocl(), reason="Debian's pocl-opencl-icd is not installed "
                    "(apt-get install pocl-opencl-icd)")
@pytest.mark.slow
def test_on_a_family_25_cpu_both_pocls_compile():
    """Zen 3/4 (family 25) is known to LLVM 14: there the wheel's PoCL works as well."""
    out = run_python(PROBE, family=25, env={})
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    assert lines[0] == "OK ", out.stdout
    assert any("PoCL 3.0-" in line for line in lines[1:])
    assert not any("cannot compile" in line for line in lines[1:]), out.stdout
