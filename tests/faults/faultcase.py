"""What the bad-input and fault cases share (docs/reliability.md lists the cases): the
outcome of a command and the one assertion every refusal must pass."""

from __future__ import annotations

from pathlib import Path

import yaml

from brainsweep.io import TEMPORARY_MARK

REPO = Path(__file__).resolve().parents[2]
HCP = REPO / "resources" / "hcp-aal2"


class Outcome:
    """Exit status and stderr of one command."""

    def __init__(self, rc: int, err: str):
        self.rc = rc
        self.err = err
        self.lines = [line for line in err.splitlines() if line.strip()]


def assert_refused(outcome: Outcome, *names: str, absent=()) -> None:
    """One ``error:`` line, the last, naming every one of ``names``; exit status 2, no
    traceback, and none of the ``absent`` paths (nor a temporary beside them) on disk."""
    assert outcome.rc == 2, outcome.err
    assert "Traceback" not in outcome.err, outcome.err
    # the error is the last line, and the only one (a shard's progress lines may precede it)
    errors = [line for line in outcome.lines if line.startswith("error: ")]
    assert errors == outcome.lines[-1:], outcome.err
    for name in names:
        assert str(name) in errors[0], (name, errors[0])
    for path in map(Path, absent):
        assert not path.exists(), f"{path} was left behind"
        assert not Path(f"{path}.json").exists(), f"{path}.json was left behind"
        if path.parent.is_dir():
            leftovers = [p.name for p in path.parent.iterdir() if TEMPORARY_MARK in p.name]
            assert not leftovers, leftovers


def tiny_study() -> dict:
    return yaml.safe_load((REPO / "config" / "studies" / "tiny.yaml").read_text())
