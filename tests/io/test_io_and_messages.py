"""Small contracts of the output layer and of error messages (issue: portability, point 4)."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from brainsweep import simulate
from brainsweep.errors import InputError
from brainsweep.io import atomic_path, write_json


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_results_get_the_mode_the_umask_gives(tmp_path, mask):
    old = os.umask(mask)
    try:
        with atomic_path(tmp_path / "out.npz") as tmp:
            np.savez(tmp, x=np.arange(3))
        write_json(tmp_path / "out.npz.json", {"a": 1})
    finally:
        os.umask(old)
    # what open() would have made, not mkstemp's private 0600
    for name in ("out.npz", "out.npz.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask


def test_an_unknown_coupling_names_the_shipped_ones():
    w = np.ones((2, 2)) - np.eye(2)
    conn = type("Conn", (), {"weights": w, "lengths": 10 * w})()
    with pytest.raises(InputError) as caught:
        simulate.run(conn, "kuramoto", dt=0.1, n_steps=10, coupling="no_such",
                     params={"global_coupling": [0.1], "speed": [3.0]})
    message = str(caught.value)
    assert "unknown coupling 'no_such'; known: [" in message
    for shipped in ("linear", "kuramoto", "sigmoidal", "difference"):
        assert f"'{shipped}'" in message
