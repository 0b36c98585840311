"""Atomic writes, hashing and provenance sidecars.

Every stage writes its outputs through :func:`atomic_path`: the data go to a temporary file in
the same folder and are renamed into place only when complete, so a killed job never leaves a
file that looks finished. Each output gets a JSON sidecar (``<output>.json``) holding its
provenance: the inputs' sha256, the config hash, the package version, the git commit, seed,
target and timings.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import platform
import re
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from brainsweep.errors import InputError, OutputError

__all__ = [
    "atomic_path",
    "config_hash",
    "git_commit",
    "load_npz",
    "output_set",
    "provenance",
    "remove_stale_temporaries",
    "save_npz",
    "sha256_file",
    "sidecar_path",
    "write_json",
    "write_sidecar",
    "written_path",
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


# A temporary output is named ``.<output name>.<host>.<pid>.<random>.brainsweep-tmp<suffix>``:
# hidden, recognisable, and carrying the writer's host and process, so that the next write into
# the folder can tell a temporary whose writer was killed (SIGKILL runs no clean-up) from one
# still being written, and remove it.
TEMPORARY_MARK = ".brainsweep-tmp"
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[^.]+"
                        + re.escape(TEMPORARY_MARK))
_PENDING: contextvars.ContextVar[OutputSet | None] = contextvars.ContextVar(
    "brainsweep_output_set", default=None)


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", platform.node() or "host")[:40] or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Temporary outputs in ``folder`` left by a writer on this host that no longer runs."""
    folder = Path(folder)
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    host, stale = _host(), []
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match and match["host"] == host and int(match["pid"]) != os.getpid() \
                and not _alive(int(match["pid"])):
            stale.append(entry)
    return stale


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove :func:`stale_temporaries` of ``folder`` (those of a killed run); return them."""
    removed = []
    for path in stale_temporaries(folder):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


class OutputSet:
    """The outputs of one stage run, renamed into place together when the stage succeeds.

    While a set is open (:func:`output_set`), :func:`atomic_path` for a path the set covers
    (a declared output file, its sidecar, or anything under a declared output folder) leaves
    the finished temporary in place and records it; :meth:`commit` renames them all at the
    end, so a stage that fails after writing its ``.npz`` (its figure cannot be written, the
    disk fills) leaves neither the ``.npz`` nor its sidecar behind.
    """

    def __init__(self, outputs):
        self.files: set[Path] = set()
        self.folders: list[Path] = []
        for path, is_folder in outputs:
            (self.folders.append if is_folder else self.files.add)(Path(path).absolute())
        self.pending: dict[Path, Path] = {}  # output -> its finished temporary

    def covers(self, path: Path) -> bool:
        path = path.absolute()
        if path in self.files or Path(str(path).removesuffix(".json")) in self.files:
            return True
        if path.parent in self.files:  # an output given as a folder to name the file in
            return True
        return any(path.is_relative_to(folder) for folder in self.folders)

    def commit(self) -> None:
        # data first, sidecars last: a sidecar in place means its output is
        def is_sidecar(item) -> bool:
            return Path(str(item[0]).removesuffix(".json")) in self.pending

        for target, tmp in sorted(self.pending.items(), key=is_sidecar):
            try:
                os.replace(tmp, target)
            except OSError as error:
                raise OutputError(f"cannot write the output: {error.strerror or error}",
                                  source=os.fspath(target)) from error
            del self.pending[target]

    def discard(self) -> None:
        for tmp in self.pending.values():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self.pending.clear()


@contextlib.contextmanager
def output_set(outputs) -> Iterator[OutputSet]:
    """Open an :class:`OutputSet` for ``outputs`` (pairs ``(path, is_folder)``): on success
    every output the block wrote appears; on any error none does and no temporary remains."""
    pending = OutputSet(outputs)
    token = _PENDING.set(pending)
    try:
        yield pending
        pending.commit()
    except BaseException:
        pending.discard()
        raise
    finally:
        _PENDING.reset(token)


def written_path(path: str | os.PathLike) -> Path:
    """Where the bytes of ``path`` are now: its finished temporary while an output set holds
    it back, else the path itself (a sidecar hashes its output through this)."""
    pending = _PENDING.get()
    target = Path(path)
    if pending is not None:
        return pending.pending.get(target.absolute(), target)
    return target


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched, so a
    failed or killed stage leaves no partial output behind; temporaries of writers killed
    earlier in the same folder are removed first. Inside an :func:`output_set` covering
    ``path`` the rename waits for the whole set. A write the system refuses (disk full,
    read-only folder) is an :class:`~brainsweep.errors.OutputError` naming ``path``.
    """
    target = Path(path)
    # keep the real suffix last: numpy and matplotlib pick the format from it
    suffix = target.suffix if suffix is None else suffix
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target.parent)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.{_host()}.{os.getpid()}.",
            suffix=f"{TEMPORARY_MARK}{suffix}", dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        yield tmp
        # mkstemp makes the file 0600; a result gets the mode any new file would get under
        # the user's umask (labs share result folders), not a private one
        os.chmod(tmp, 0o666 & ~_umask())
        pending = _PENDING.get()
        if pending is not None and pending.covers(target):
            stale = pending.pending.pop(target.absolute(), None)
            if stale is not None:
                stale.unlink(missing_ok=True)
            pending.pending[target.absolute()] = tmp
        else:
            os.replace(tmp, target)
    except OutputError:
        _remove(tmp)
        raise
    except OSError as error:
        _remove(tmp)
        raise OutputError(f"cannot write the output: {error.strerror or error}",
                          source=os.fspath(target)) from error
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path | None) -> None:
    if tmp is not None:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


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
            name: {"path": os.fspath(p), "sha256": sha256_file(written_path(p))}
            for name, p in (inputs or {}).items()
            if written_path(p).is_file()
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
    written = written_path(output)  # still a temporary while its output set is open
    if written.is_file():
        record["output"] = {"path": os.fspath(output), "sha256": sha256_file(written)}
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
    """Load every array of an ``.npz`` file into a dict (the file is closed afterwards).

    A missing, truncated or corrupt file is an InputError naming it (never a zipfile or
    pickle traceback).
    """
    source = os.fspath(path)
    path = written_path(path)  # an output of this stage run not yet renamed into place
    if not path.is_file():
        raise InputError("file not found", source=source)
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):  # a bare .npy array under any name
            raise InputError("not an .npz archive but a single .npy array", source=source)
        with data:
            return {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as error:
        if isinstance(error, InputError):
            raise
        raise InputError(f"not a complete .npz archive (truncated or corrupt: {error})",
                         source=source) from None
