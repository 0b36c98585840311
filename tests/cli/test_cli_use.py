"""The command line as a user meets it: one model in full, a closed pipe, fixed choices, the
last line of a stage, the shard options' names."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np

from brainsweep.cli import build_parser


def brainsweep(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brainsweep.cli", *args],
                          capture_output=True, text=True, timeout=300)


def test_models_name_shows_one_model_with_its_equations():
    result = brainsweep("models", "montbrio")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("MontbrioPazoRoxin (montbrio.yaml)")
    assert "dr/dt = (Delta / (pi * tau) + 2.0 * V * r) / tau" in out
    assert "tau = 1 ms" in out and "Montbrió" in out
    assert "epileptor" not in out.lower()
    unknown = brainsweep("models", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: unknown model 'nope'; shipped: [")


def test_a_closed_pipe_ends_quietly():
    """`brainsweep models | head -1`: no traceback, the shell's status for SIGPIPE."""
    process = subprocess.Popen([sys.executable, "-m", "brainsweep.cli", "models"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    assert process.stdout.read(20)  # a reader that takes a little and leaves
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.wait(timeout=120)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert process.returncode in (0, 128 + signal.SIGPIPE)


def test_target_is_a_fixed_choice():
    result = brainsweep("kernels", "--model", "montbrio", "--target", "cdua", "--out", "x.py")
    assert result.returncode == 2
    assert "invalid choice: 'cdua' (choose from 'cuda', 'numba', 'opencl')" in result.stderr


def test_shard_options_say_what_they_take():
    parser = build_parser()
    simulate = parser.parse_args(["simulate", "--connectome", "c.npz", "--shard-id", "3",
                                  "--out", "s.npz"])
    bold = parser.parse_args(["bold", "--shard-file", "s.npz", "--out", "b.npz"])
    assert simulate.shard == 3 and bold.shard == "s.npz"


def test_a_stage_ends_its_log_with_what_it_wrote(tmp_path):
    rng = np.random.default_rng(0)
    weights = rng.random((5, 5))
    np.save(tmp_path / "w.npy", weights + weights.T)
    np.save(tmp_path / "l.npy", np.full((5, 5), 40.0))
    settings = json.dumps({"source": {"weights": str(tmp_path / "w.npy"),
                                      "lengths": str(tmp_path / "l.npy")}, "format": "matrix"})
    out = tmp_path / "conn.npz"
    result = brainsweep("connectome", "--settings", settings, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"connectome: wrote {out}"
