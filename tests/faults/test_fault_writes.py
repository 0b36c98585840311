"""Faults while writing: a full disk, a read-only results folder, a kill in mid-write, a
stage that fails after writing part of its outputs. Each must leave no output that looks
complete, no temporary behind (or one the next run removes), and one `error:` line.

A full disk and a read-only folder are real where this machine lets the test mount a small
tmpfs (root or a user namespace); elsewhere, and always as well, the same faults are
injected at the system-call boundary (a writer that fills up with ENOSPC, a folder whose
temporaries cannot be created, EROFS).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid

import numpy as np
import pytest
from faultcase import assert_refused

from brainsweep import io


def _mount(path, options) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True)
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A 16 KiB tmpfs with one 4 KiB page left free (skipped where mounting is refused)."""
    where = tmp_path / "small-disk"
    if os.geteuid() != 0 or not _mount(where, "size=16k"):
        pytest.skip("cannot mount a tmpfs here (needs root); the injected ENOSPC cases run")
    try:
        with open(where / "filler", "wb") as handle:  # leave one page
            handle.write(b"\0" * (12 * 1024))
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


@pytest.fixture
def read_only_disk(tmp_path):
    """An empty read-only tmpfs (skipped where mounting is refused)."""
    where = tmp_path / "read-only"
    if os.geteuid() != 0 or not _mount(where, "size=16k,ro"):
        pytest.skip("cannot mount a tmpfs here (needs root); the injected EROFS cases run")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


def nothing_written(folder) -> bool:
    return not any(p.name != "filler" for p in folder.iterdir())


# ---- a full disk -----------------------------------------------------------------------------

def test_simulate_on_a_full_disk(small_disk, cli, chain):
    out = small_disk / "shard-0.npz"
    outcome = cli("simulate", "--settings", chain["settings"], "--connectome",
                  chain["connectome"], "--shard-id", 0, "--out", out)
    assert_refused(outcome, str(small_disk), "No space left on device", absent=[out])
    assert nothing_written(small_disk)


def test_fit_on_a_full_disk(small_disk, cli, chain):
    out = small_disk / "fit"
    outcome = cli("fit", "--settings", chain["settings"], "--empirical", chain["empirical"],
                  chain["bold"], "--out-dir", out)
    assert_refused(outcome, str(out), "No space left on device",
                   absent=[out / "scores.csv", out / "best.json"])
    assert not out.exists() or not any(out.iterdir())


class FillingWriter:
    """A file object that takes ``room`` bytes, then fails as a full disk does (ENOSPC)."""

    def __init__(self, handle, room: int):
        self.handle, self.room = handle, room

    def write(self, data) -> int:
        if len(data) > self.room:
            self.handle.write(data[: self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.handle.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()
        return False

    def __iter__(self):
        return iter(self.handle)

    def __getattr__(self, name):
        return getattr(self.handle, name)


@pytest.fixture
def disk_fills_after(monkeypatch):
    """Every file opened for writing takes ``room`` bytes, then raises ENOSPC."""
    import builtins

    real_open = builtins.open

    def arm(room: int):
        def filling_open(file, mode="r", *args, **kwargs):
            handle = real_open(file, mode, *args, **kwargs)
            if any(flag in mode for flag in "wax"):
                return FillingWriter(handle, room)
            return handle

        monkeypatch.setattr(builtins, "open", filling_open)

    return arm


def test_simulate_when_the_disk_fills_mid_write(tmp_path, cli, chain, disk_fills_after):
    out = tmp_path / "shard-0.npz"
    disk_fills_after(1000)
    outcome = cli("simulate", "--settings", chain["settings"], "--connectome",
                  chain["connectome"], "--shard-id", 0, "--out", out)
    assert_refused(outcome, str(out), "No space left on device", absent=[out])
    assert list(tmp_path.iterdir()) == []


def test_fit_when_the_disk_fills_mid_write(tmp_path, cli, chain, disk_fills_after):
    out = tmp_path / "fit"
    disk_fills_after(100)
    outcome = cli("fit", "--settings", chain["settings"], "--empirical", chain["empirical"],
                  chain["bold"], "--out-dir", out)
    assert_refused(outcome, "No space left on device",
                   absent=[out / "scores.csv", out / "best.json"])
    assert not out.exists() or not any(out.iterdir())


def test_a_sidecar_that_does_not_fit_takes_its_npz_with_it(tmp_path, cli, chain, monkeypatch):
    # the .npz is complete; writing its sidecar then fails: neither may appear
    real = io.write_json

    def failing(path, data):
        if str(path).endswith(".npz.json"):
            raise io.OutputError("cannot write the output: No space left on device",
                                 source=os.fspath(path))
        return real(path, data)

    monkeypatch.setattr(io, "write_json", failing)
    out = tmp_path / "b.npz"
    outcome = cli("bold", "--settings", chain["settings"], "--shard-file", chain["sims"],
                  "--out", out)
    assert_refused(outcome, f"{out}.json", "No space left on device", absent=[out])
    assert list(tmp_path.iterdir()) == []


# ---- a read-only results folder --------------------------------------------------------------

def test_a_read_only_results_folder(read_only_disk, cli, chain):
    out = read_only_disk / "b.npz"
    outcome = cli("bold", "--settings", chain["settings"], "--shard-file", chain["sims"],
                  "--out", out)
    assert_refused(outcome, str(out), "Read-only file system")


def test_a_folder_that_refuses_temporaries(tmp_path, cli, chain, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), kwargs.get("dir"))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    out = tmp_path / "results" / "b.npz"
    outcome = cli("bold", "--settings", chain["settings"], "--shard-file", chain["sims"],
                  "--out", out)
    assert_refused(outcome, str(out), "Read-only file system", absent=[out])


def test_a_connectome_whose_figure_cannot_be_written_leaves_no_npz(tmp_path, cli, chain):
    out = tmp_path / "c.npz"
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the figure's folder should be\n")
    figure = blocker / "overview.png"
    outcome = cli("connectome", "--settings", chain["settings"], "--out", out,
                  "--figure", figure)
    assert_refused(outcome, str(figure), absent=[out, figure])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]


def test_a_connectome_whose_figure_folder_is_read_only(read_only_disk, tmp_path, cli, chain):
    out = tmp_path / "c.npz"
    figure = read_only_disk / "overview.png"
    outcome = cli("connectome", "--settings", chain["settings"], "--out", out,
                  "--figure", figure)
    assert_refused(outcome, str(figure), "Read-only file system", absent=[out])
    assert list(tmp_path.iterdir()) == [read_only_disk]


def test_a_stage_that_succeeds_writes_its_whole_set(tmp_path, cli, chain):
    out, figure = tmp_path / "c.npz", tmp_path / "c.png"
    outcome = cli("connectome", "--settings", chain["settings"], "--out", out,
                  "--figure", figure)
    assert outcome.rc == 0, outcome.err
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "c.npz", "c.npz.json", "c.png", "c.png.json"]
    # the sidecars hash the files as renamed into place
    for path in (out, figure):
        record = json.loads(io.sidecar_path(path).read_text())
        assert record["output"]["sha256"] == io.sha256_file(path)
    assert json.loads(io.sidecar_path(figure).read_text())["inputs"]["connectome"][
        "sha256"] == io.sha256_file(out)


# ---- a kill in mid-write ---------------------------------------------------------------------

KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from brainsweep import io

    real = np.savez_compressed

    def killed(handle, **arrays):
        handle.write(b"\\0" * (8 << 20))  # 8 MiB of the archive written, then SIGKILL
        handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    np.savez_compressed = killed
    io.save_npz(sys.argv[1], {"x": np.zeros(10)}, {"stage": "test"})
""")


def test_a_kill_during_save_npz_leaves_a_temporary_the_next_write_removes(tmp_path):
    out = tmp_path / "shard-0.npz"
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(out)],
                          capture_output=True, env={**os.environ})
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    [left] = list(tmp_path.iterdir())
    # hidden, named after its output and marked as a brainsweep temporary, never the output
    assert left.name.startswith(".shard-0.npz.") and io.TEMPORARY_MARK in left.name
    assert left.stat().st_size >= 8 << 20 and not out.exists()
    assert io.stale_temporaries(tmp_path) == [left]
    # the next write into the folder (the retried job) removes it
    io.save_npz(out, {"x": np.arange(3)}, {"stage": "test"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard-0.npz", "shard-0.npz.json"]


def test_a_temporary_of_a_running_writer_is_left_alone(tmp_path):
    host = io._host()
    mine = tmp_path / f".a.npz.{host}.{os.getpid()}.abc{io.TEMPORARY_MARK}.npz"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        theirs = tmp_path / f".b.npz.{host}.{sleeper.pid}.abc{io.TEMPORARY_MARK}.npz"
        other_host = tmp_path / f".c.npz.elsewhere-{uuid.uuid4().hex[:6]}.1.abc" \
                                f"{io.TEMPORARY_MARK}.npz"
        for path in (mine, theirs, other_host):
            path.write_bytes(b"partial")
        assert io.remove_stale_temporaries(tmp_path) == []
    finally:
        sleeper.kill()
        sleeper.wait()
    # its writer gone, the same file is stale (on this host only)
    assert io.remove_stale_temporaries(tmp_path) == [theirs]
    assert mine.exists() and other_host.exists()


def test_an_error_inside_an_output_set_removes_every_temporary(tmp_path):
    with pytest.raises(RuntimeError), io.output_set([(tmp_path / "a.npz", False),
                                                     (tmp_path / "figs", True)]):
        io.save_npz(tmp_path / "a.npz", {"x": np.zeros(3)}, {"stage": "test"})
        io.write_json(tmp_path / "figs" / "b.json", {"b": 1})
        raise RuntimeError("the stage fails after writing")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["figs"]


def test_an_output_set_holds_back_what_it_covers_and_only_that(tmp_path):
    named_in = tmp_path / "empirical"  # an --out folder the stage names its file in
    cache = tmp_path / "cache" / "kernel.py"  # not an output: written at once (imported)
    with io.output_set([(tmp_path / "a.npz", False), (named_in, False)]):
        io.save_npz(tmp_path / "a.npz", {"x": np.zeros(3)}, {"stage": "test"})
        io.save_npz(named_in / "hcp.npz", {"x": np.zeros(3)}, {"stage": "test"})
        with io.atomic_path(cache) as tmp:
            tmp.write_text("x = 1\n")
        assert cache.is_file()
        assert not (tmp_path / "a.npz").exists() and not (named_in / "hcp.npz").exists()
        # what the stage reads back meanwhile is what it wrote
        assert io.load_npz(tmp_path / "a.npz")["x"].tolist() == [0.0, 0.0, 0.0]
    assert (tmp_path / "a.npz").is_file() and (named_in / "hcp.npz.json").is_file()
    assert not [p for p in tmp_path.rglob("*") if io.TEMPORARY_MARK in p.name]
