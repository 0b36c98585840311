"""The optimise tests' problem files, written once per session."""

from __future__ import annotations

import pytest
from optimise_problem import write_problem


@pytest.fixture(scope="session")
def problem_files(tmp_path_factory):
    """(connectome.npz, empirical.npz) of the planted tiny problem (optimise_problem.py)."""
    return write_problem(tmp_path_factory.mktemp("optimise-problem"))
