"""Third-party targets plug in through the ``brainsweep.targets`` entry-point group."""

from __future__ import annotations

import importlib.metadata
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from brainsweep import registry, simulate
from brainsweep.backends import get_target, list_targets, refresh_targets

PLUGIN = '''
from brainsweep.backends.numba_target import NumbaTarget


class ThirdPartyTarget(NumbaTarget):
    """A plug-in: the Numba target under another name, as a package outside brainsweep."""

    name = "third-party"
    runs = []

    def run(self, source, spec, inputs, **kwargs):
        type(self).runs.append(inputs.params.shape[0])
        return super().run(source, spec, inputs, **kwargs)
'''


@pytest.fixture()
def plugin(tmp_path, monkeypatch):
    """An installed distribution's entry point, as importlib.metadata reports it."""
    (tmp_path / "brainsweep_plugin_example.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = importlib.metadata.EntryPoint(
        name="third-party", value="brainsweep_plugin_example:ThirdPartyTarget",
        group="brainsweep.targets")
    real = importlib.metadata.entry_points

    def entry_points(**params):
        if params.get("group") == "brainsweep.targets":
            return importlib.metadata.EntryPoints([entry])
        return real(**params)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    refresh_targets()
    yield
    registry._REGISTRY.pop("third-party", None)
    sys.modules.pop("brainsweep_plugin_example", None)
    monkeypatch.undo()
    refresh_targets()


def test_an_entry_point_target_is_listed_and_runs_a_simulation(plugin):
    assert "third-party" in list_targets()
    target = get_target("third-party")
    assert type(target).__module__ == "brainsweep_plugin_example"

    conn = SimpleNamespace(weights=np.array([[0.0, 1.0], [0.5, 0.0]]),
                           lengths=np.array([[0.0, 12.0], [12.0, 0.0]]))
    common = dict(n_steps=200, params={"speed": [3.0, 6.0]}, monitors=("raw",),
                  stochastic=True, seed=5)
    theirs = simulate.run(conn, "montbrio", target="third-party", **common)
    ours = simulate.run(conn, "montbrio", target="numba", **common)
    assert type(target).runs == [2]  # the plug-in's own run() did the work
    assert theirs.target == "third-party"
    np.testing.assert_array_equal(theirs.raw, ours.raw)


def test_without_the_plugin_the_name_is_unknown():
    assert "third-party" not in list_targets()
    with pytest.raises(Exception, match="unknown target 'third-party'"):
        get_target("third-party")
