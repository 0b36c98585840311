"""Shared fixtures: real connectomes from the shipped data."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.io

from brainsweep.regions import select_regions

ROOT = Path(__file__).resolve().parent.parent
HCP = ROOT / "resources" / "hcp-aal2" / "subjects"


def hcp_subject(subject: str = "101309") -> SimpleNamespace:
    """One HCP subject's 80 cortical regions: weights / max, lengths in mm, zero diagonal."""
    folder = HCP / subject / "structural"
    weights = scipy.io.loadmat(folder / "DTI_CM.mat")["sc"]
    lengths = scipy.io.loadmat(folder / "DTI_LEN.mat")["len"]
    keep = select_regions(94, preset="aal2-cortical")
    weights = weights[np.ix_(keep, keep)].astype(np.float64)
    np.fill_diagonal(weights, 0.0)
    return SimpleNamespace(weights=weights / weights.max(),
                           lengths=lengths[np.ix_(keep, keep)].astype(np.float64))


@pytest.fixture(scope="session")
def hcp_connectome() -> SimpleNamespace:
    return hcp_subject()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
