"""A result as labelled arrays (SimulationResult.to_xarray) and its short repr."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from brainsweep import simulate
from brainsweep.errors import InputError

CONN = SimpleNamespace(weights=np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.2], [0.5, 0.2, 0.0]]),
                       lengths=np.full((3, 3), 20.0), labels=("A_L", "A_R", "B_L"))


@pytest.fixture(scope="module")
def result():
    # dt = 0.1 ms: the BOLD period 0.72 s is 7200 steps, 3 samples in 21 600 steps
    return simulate.run(CONN, "montbrio", dt=0.1, n_steps=21_600, monitors=("raw", "bold"),
                        raw_period=200, params={"global_coupling": [0.1, 0.3, 0.5],
                                                "speed": [2.0, 2.0, 8.0]},
                        stochastic=False, bold_dt_s=1e-3)


def test_dimensions_coordinates_and_values(result):
    bold = result.to_xarray(transient_s=1.0)
    assert bold.dims == ("simulation", "time", "state", "region")
    assert bold.shape == (3, 3, 1, 3) and bold.state.values.tolist() == ["bold"]
    np.testing.assert_array_equal(bold.values[:, :, 0, :], result.bold)
    # sample k is taken after step (k + 1) * period: at the end of its window
    np.testing.assert_allclose(bold.time.values, [0.72, 1.44, 2.16])
    assert bold.time.attrs["units"] == "s" and bold.attrs["tr_s"] == 0.72
    assert bold.transient.values.tolist() == [True, False, False]
    assert bold.region.values.tolist() == ["A_L", "A_R", "B_L"]
    raw = result.to_xarray("raw")
    assert raw.state.values.tolist() == ["r", "V"] and raw.shape == (3, 108, 2, 3)
    np.testing.assert_allclose(raw.time.values[:2], [0.02, 0.04])  # 200 steps of 0.1 ms
    np.testing.assert_array_equal(raw.sel(state="V").values, result.raw[:, :, 1, :])


def test_parameter_names_are_the_same_going_in_and_out(result):
    bold = result.to_xarray()
    np.testing.assert_array_equal(bold["global_coupling"].values, [0.1, 0.3, 0.5])
    assert bold["global_coupling"].attrs["kernel_column"] == "coupling.a"
    assert "coupling.a" not in bold.coords
    assert bold["speed"].attrs["units"] == "m/s"
    np.testing.assert_array_equal(result.param("global_coupling"), result.param("coupling.a"))
    selected = bold.where(bold["speed"] == 8.0, drop=True)
    assert selected["global_coupling"].values.tolist() == [0.5]
    with pytest.raises(InputError, match="unknown parameter 'gc'"):
        result.param("gc")
    with pytest.raises(InputError, match="'tavg' was not recorded"):
        result.to_xarray("tavg")


def test_repr_is_one_short_line(result):
    text = repr(result)
    assert len(text) < 300 and "\n" not in text
    assert "3 simulations, 0 diverged" in text and "global_coupling [0.1, 0.3, 0.5]" in text
