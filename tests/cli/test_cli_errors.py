"""Bad input at the command line: a clear error naming the file, exit 2, no output left."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest


def brainsweep(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brainsweep.cli", *args],
                          capture_output=True, text=True, timeout=300)


def matrix_settings(tmp_path, weights: np.ndarray, lengths: np.ndarray) -> str:
    np.save(tmp_path / "weights.npy", weights)
    np.save(tmp_path / "lengths.npy", lengths)
    return json.dumps({"source": {"weights": str(tmp_path / "weights.npy"),
                                  "lengths": str(tmp_path / "lengths.npy")},
                       "format": "matrix", "normalise": "max"})


@pytest.mark.parametrize("problem", ["nan", "non-square"])
def test_bad_connectome_matrix(tmp_path, problem):
    generator = np.random.default_rng(1)
    weights = generator.random((6, 6))
    lengths = generator.random((6, 6)) * 100
    if problem == "nan":
        weights[2, 3] = np.nan
    else:
        weights = weights[:, :5]
    out = tmp_path / "out" / "conn.npz"
    result = brainsweep("connectome", "--settings", matrix_settings(tmp_path, weights, lengths),
                        "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert "weights.npy" in result.stderr
    assert ("NaN" in result.stderr) if problem == "nan" else ("square" in result.stderr)
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []  # no temp files


def test_unknown_model_parameter_in_a_sweep(tmp_path):
    np.savez(tmp_path / "conn.npz", weights=np.ones((3, 3)) - np.eye(3),
             lengths=np.full((3, 3), 20.0))
    settings = {
        "model": {"name": "montbrio"}, "coupling": {"name": "linear"},
        "integration": {"method": "heun", "dt": 0.1, "dtype": "float64", "stochastic": False},
        "simulation": {"transient_s": 0.0, "duration_s": 0.01, "seed": 0, "target": "numba"},
        "monitors": {"bold": {"tr": 0.001, "dt_s": 0.001}},
        "sweep": {"etta": [1.0, 2.0]}, "shards": {"count": 1},
    }
    out = tmp_path / "shard-0.npz"
    result = brainsweep("simulate", "--settings", json.dumps(settings), "--connectome",
                        str(tmp_path / "conn.npz"), "--shard-id", "0", "--out", str(out))
    assert result.returncode == 2
    assert "etta" in result.stderr and "eta" in result.stderr
    assert not out.exists()


def test_every_command_and_option_has_help():
    """`brainsweep --help` lists every command with a line of help, and each command's own
    --help documents every option it takes (a new option without help fails here)."""
    import argparse

    from brainsweep.cli import build_parser

    parser = build_parser()
    (commands,) = [action for action in parser._actions
                   if isinstance(action, argparse._SubParsersAction)]
    listed = {choice.dest: choice.help for choice in commands._choices_actions}
    assert set(listed) == set(commands.choices)
    assert {"connectome", "empirical", "kernels", "simulate", "bold", "fit", "figures",
            "recovery", "models", "info", "bench"} <= set(listed)
    undocumented = [name for name, text in listed.items() if not (text or "").strip()]
    for name, sub in commands.choices.items():
        assert (sub.description or "").strip(), name
        undocumented += [f"{name} {'/'.join(action.option_strings) or action.dest}"
                         for action in sub._actions
                         if not isinstance(action, argparse._HelpAction)
                         and not (action.help or "").strip()]
    assert not undocumented, undocumented
    assert "--configfile" in parser.format_help()  # the epilog says how the workflow runs


def test_recovery_command_refuses_bad_settings(tmp_path):
    out = tmp_path / "recovery.json"
    result = brainsweep("recovery", "--settings", '{"truth": {"speed": 1.0}, "seed": 7, '
                        '"tolerance": 1}', "--scores", str(tmp_path / "scores.csv"),
                        "--empirical", str(tmp_path / "e.npz"), "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.startswith("error: [recovery.tolerance]")
    assert not out.exists()


def shard_settings(**integration) -> dict:
    return {
        "model": {"name": "montbrio"}, "coupling": {"name": "linear"},
        "integration": {"method": "heun", "dt": 0.1, "dtype": "float64", "stochastic": False,
                        **integration},
        "simulation": {"transient_s": 0.0, "duration_s": 0.01, "seed": 0, "target": "numba"},
        "monitors": {"bold": {"tr": 0.001, "dt_s": 0.001}},
        "sweep": {"speed": [2.0, 4.0]}, "shards": {"count": 1},
    }


def test_a_stale_kernel_never_runs(tmp_path):
    """A shard given a kernel generated from other settings (here float32 instead of
    float64) refuses it: one error line naming the kernel file, exit 2, no output."""
    np.savez(tmp_path / "conn.npz", weights=np.ones((3, 3)) - np.eye(3),
             lengths=np.full((3, 3), 20.0))
    kernel = tmp_path / "kernels" / "montbrio.py"
    made = brainsweep("kernels", "--settings", json.dumps(shard_settings(dtype="float32")),
                      "--target", "numba", "--out", str(kernel))
    assert made.returncode == 0, made.stderr
    out = tmp_path / "shard-0.npz"
    result = brainsweep("simulate", "--settings", json.dumps(shard_settings()), "--connectome",
                        str(tmp_path / "conn.npz"), "--kernel", str(kernel), "--shard-id", "0",
                        "--out", str(out))
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {kernel}[kernel]: the kernel was generated for spec ")
    assert "regenerate" in line
    assert not out.exists()
    # the kernel of these settings runs
    fresh = tmp_path / "kernels" / "fresh.py"
    assert brainsweep("kernels", "--settings", json.dumps(shard_settings()), "--out",
                      str(fresh)).returncode == 0
    result = brainsweep("simulate", "--settings", json.dumps(shard_settings()), "--connectome",
                        str(tmp_path / "conn.npz"), "--kernel", str(fresh), "--shard-id", "0",
                        "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.is_file()
