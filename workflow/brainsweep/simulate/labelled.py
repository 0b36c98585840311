"""A simulation's outputs as labelled arrays (xarray): dimensions with names, coordinates with
units, so a result carries what its numbers mean.

Every monitor becomes ``(simulation, time, state, region)``; BOLD, a single signal per region,
has the one state ``bold``. The parameters are coordinates along ``simulation``, under the
names they were given to :func:`brainsweep.simulate.run` (``global_coupling``, not the kernel
column ``coupling.a``; a parameter not given keeps its kernel name). ``time`` is in seconds,
at the end of each sample's window (sample k of a monitor with period P steps is taken after
step (k + 1) P, as the kernels and the oracle do), and the ``transient`` coordinate marks the
samples a post-processing with that transient drops.
"""

from __future__ import annotations

import numpy as np

from brainsweep.errors import InputError

__all__ = ["to_xarray"]

_MONITORS = ("bold", "tavg", "raw")


def to_xarray(result, monitor: str | None = None, *, transient_s: float = 0.0):
    """One monitor of ``result`` as an :class:`xarray.DataArray`.

    Parameters
    ----------
    result
        A :class:`brainsweep.simulate.SimulationResult`.
    monitor
        ``bold``, ``tavg`` or ``raw``; default the first of these the run recorded.
    transient_s
        Samples at or before this time (s) are marked ``transient = True``.

    Returns
    -------
    xarray.DataArray
        Dimensions ``simulation, time, state, region``; attributes: units, the sampling
        period (``period_s``; for BOLD also ``tr_s``), the integration step, model and target.
    """
    import xarray as xr

    recorded = [name for name in _MONITORS if getattr(result, name).size]
    if monitor is None:
        if not recorded:
            raise InputError("the run recorded no monitor", field="monitors")
        monitor = recorded[0]
    if monitor not in recorded:
        raise InputError(f"monitor {monitor!r} was not recorded; recorded: {recorded}",
                         field="monitor")
    values = np.asarray(getattr(result, monitor))
    dt_s = result.dt * result.time_unit_s
    if monitor == "bold":
        values = values[:, :, None, :]
        states = ["bold"]
        period_s = result.bold_period_s
        units = "BOLD signal change (fraction of baseline)"
    else:
        states = list(result.state_names) or [f"state-{k}" for k in range(values.shape[2])]
        period_s = (result.raw_period if monitor == "raw" else result.tavg_period) * dt_s
        units = "model units (see the model file)"
    n_times, n_regions = values.shape[1], values.shape[-1]
    time = (np.arange(n_times) + 1) * period_s
    regions = list(result.region_labels) if result.region_labels is not None else [
        f"region-{i:03d}" for i in range(n_regions)]
    # the kernel columns under the caller's names: the same name going in and coming out
    given = {column: name for name, column in result.swept.items()}
    coords = {
        "simulation": ("simulation", np.asarray(result.sim_index)),
        "time": ("time", time, {"units": "s", "long_name": "time at the end of the sample"}),
        "transient": ("time", time <= transient_s + 1e-12,
                      {"long_name": f"inside the first {transient_s:g} s (dropped by "
                                    "post-processing with this transient)"}),
        "state": ("state", states),
        "region": ("region", regions),
        "diverged": ("simulation", np.asarray(result.diverged, dtype=bool)),
    }
    for k, column in enumerate(result.parameter_names):
        name = given.get(column, column)
        attrs = {"units": "m/s"} if column == "speed" else {}
        if name != column:
            attrs["kernel_column"] = column
        coords[name] = ("simulation", result.parameters[:, k], attrs)
    attrs = {"units": units, "monitor": monitor, "period_s": float(period_s),
             "dt": float(result.dt), "dt_s": float(dt_s), "model": result.model_name,
             "target": result.target, "transient_s": float(transient_s)}
    if monitor == "bold":
        attrs["tr_s"] = float(result.bold_period_s)
    return xr.DataArray(values, dims=("simulation", "time", "state", "region"),
                        coords=coords, name=monitor, attrs=attrs)
