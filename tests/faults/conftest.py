"""Fixtures of the bad-input and fault tests.

Every stage runs in-process through the command line's own entry point
(:func:`brainsweep.cli.main`), so a case costs its stage, not a Python start-up; what a user
sees is what ``main`` prints and returns.
"""

from __future__ import annotations

import pytest
import yaml
from faultcase import Outcome, tiny_study

from brainsweep.cli import main


@pytest.fixture
def cli(capsys):
    """Run ``brainsweep ARGS...`` in-process: its :class:`Outcome`."""

    def run(*argv) -> Outcome:
        capsys.readouterr()
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as done:  # argparse's own refusals
            rc = done.code
        return Outcome(rc, capsys.readouterr().err)

    return run


@pytest.fixture(scope="session")
def chain(tmp_path_factory):
    """One real, small run of the stages (connectome, a 2-simulation shard of 14 s, its BOLD,
    the empirical FC): the inputs the later stages' fault cases start from."""
    from brainsweep.cli import main as run

    work = tmp_path_factory.mktemp("chain")
    study = tiny_study()
    study["simulation"].update(transient_s=2.0, duration_s=12.0)
    study["bold"].update(transient_s=2.0, fcd=None)
    study["sweep"] = {"global_coupling": [18.0, 24.0], "speed": [12.0]}
    study["shards"] = {"count": 1}
    settings = work / "study.yaml"
    settings.write_text(yaml.safe_dump(study))
    paths = {name: work / f"{name}.npz" for name in ("connectome", "sims", "bold", "empirical")}
    for argv in (
        ["connectome", "--settings", settings, "--out", paths["connectome"]],
        ["simulate", "--settings", settings, "--connectome", paths["connectome"],
         "--shard", 0, "--out", paths["sims"]],
        ["bold", "--settings", settings, "--shard", paths["sims"], "--out", paths["bold"]],
        ["empirical", "--settings", settings, "--connectome", paths["connectome"],
         "--out", paths["empirical"]],
    ):
        assert run([str(a) for a in argv]) == 0, argv
    return {"settings": settings, "study": study, **paths}
