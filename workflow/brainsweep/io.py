"""Atomic writes, hashing and provenance sidecars.

Every stage writes its outputs through :func:`atomic_path`: the data go to a temporary file in
the same folder and are renamed into place only when complete, so a killed job never leaves a
file that looks finished. Each output gets a JSON sidecar (``<output>.json``) holding its
provenance: the inputs' sha256, the config hash, the package version, the git commit, seed,
target and timings.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "atomic_path",
    "config_hash",
    "git_commit",
    "load_npz",
    "provenance",
    "save_npz",
    "sha256_file",
    "sidecar_path",
    "write_json",
    "write_sidecar",
]


def sha256_file(path: str | os.PathLike, *, chunk: int = 1 << 20) -> str:
    """The sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def config_hash(config: Mapping[str, Any]) -> str:
    """A stable sha256 of a JSON-able mapping (keys sorted)."""
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def git_commit(start: str | os.PathLike | None = None) -> str | None:
    """The commit of the checkout holding ``start`` (default: this package), or None."""
    where = Path(start) if start is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched, so a
    failed or killed stage leaves no partial output behind.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # keep the real suffix last: numpy and matplotlib pick the format from it
    suffix = target.suffix if suffix is None else suffix
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{suffix}",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp makes the file 0600; a result gets the mode any new file would get under
        # the user's umask (labs share result folders), not a private one
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _umask() -> int:
    """The process's umask: from /proc on Linux (no side effect, safe beside other threads),
    else by setting it and setting it straight back."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def sidecar_path(path: str | os.PathLike) -> Path:
    """The provenance sidecar of an output: ``<output>.json``."""
    return Path(f"{os.fspath(path)}.json")


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write JSON atomically (sorted keys, indented)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def provenance(
    *,
    inputs: Mapping[str, str | os.PathLike] | None = None,
    config: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The provenance record of an output.

    Parameters
    ----------
    inputs
        Name → path of every file the output was computed from; each is hashed.
    config
        The settings that shaped the output; stored with their hash.
    **extra
        Anything else worth keeping: seed, target, device, timings, steps applied.
    """
    from brainsweep import __version__

    record: dict[str, Any] = {
        "package": "brainsweep",
        "version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "host": platform.node(),
        "inputs": {
            name: {"path": os.fspath(p), "sha256": sha256_file(p)}
            for name, p in (inputs or {}).items()
            if Path(p).is_file()
        },
    }
    if config is not None:
        record["config"] = dict(config)
        record["config_sha256"] = config_hash(config)
    record.update(extra)
    return record


def write_sidecar(output: str | os.PathLike, record: Mapping[str, Any]) -> Path:
    """Write the provenance sidecar of ``output`` (adds the output's own sha256)."""
    record = dict(record)
    if Path(output).is_file():
        record["output"] = {"path": os.fspath(output), "sha256": sha256_file(output)}
    path = sidecar_path(output)
    write_json(path, record)
    return path


def save_npz(path: str | os.PathLike, arrays: Mapping[str, Any],
             record: Mapping[str, Any] | None = None) -> Path:
    """Save arrays to ``path`` atomically (compressed), then its sidecar if a record is given."""
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)
    if record is not None:
        write_sidecar(path, record)
    return Path(path)


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` file into a dict (the file is closed afterwards)."""
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
