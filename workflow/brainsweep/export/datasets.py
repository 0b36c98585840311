"""The layout of the netCDF files: one function per kind of output.

* a simulation shard (``results/sims/{study}/shard-{i}.nc``): ``bold`` with dimensions
  ``simulation, time, state, region`` (float32, as simulated; one state, ``bold``);
* a bold shard (``results/bold/{study}/shard-{i}.nc``): ``fc`` with dimensions
  ``simulation, region, region_b`` (float32), the FCD values (``fcd``, dimensions
  ``simulation, fcd_pair``) when the study computes them, ``bold_std`` and ``global_step``;
* a fit table (``results/fit/{study}/scores.nc``, ``realisations.nc``): one variable per
  column along ``point`` (``scores.csv``) or ``simulation`` (``realisations.csv``).

Along ``simulation`` every file carries the global simulation index (the coordinate
``simulation``), one coordinate per swept parameter under the name the study gave it (with
its unit) and ``diverged``. Region names are the connectome's. Time is in seconds at the end
of each sample (the kernels take sample k of a TR at (k + 1) TR); the ``transient``
coordinate marks the samples the bold stage drops. Every variable with a unit has a
``units`` attribute; the TR, the seed and the transient are attributes of the dataset.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from brainsweep.bold.filters import transient_samples
from brainsweep.errors import InputError
from brainsweep.fit.metrics import METRICS
from brainsweep.fit.stage import RESERVED_COLUMNS
from brainsweep.fit.units import BOLD_UNIT, column_unit, unit_of

__all__ = ["bold_dataset", "sim_dataset", "table_dataset"]

# names the files use for their own dimensions and variables: a swept parameter of one of
# these names would overwrite it
_TAKEN = ("simulation", "time", "state", "region", "region_b", "fcd_pair", "point",
          "transient", "diverged", "bold", "fc", "fcd", "bold_std", "global_step")


def _parameter_coords(names, values: np.ndarray, units: Mapping[str, str] | None,
                      source: str, dim: str = "simulation") -> dict:
    coords = {}
    for k, name in enumerate(str(item) for item in names):
        if name in _TAKEN:
            raise InputError(f"a swept parameter named {name!r} clashes with the netCDF "
                             f"layout's names {list(_TAKEN)}", source=source,
                             field="param_names")
        attrs = {"long_name": f"swept parameter {name}"}
        if unit_of(name, units):
            attrs["units"] = unit_of(name, units)
        coords[name] = (dim, np.asarray(values[:, k], dtype=np.float64), attrs)
    return coords


def _shard_coords(data: Mapping[str, np.ndarray], units, source: str) -> dict:
    """The coordinates along ``simulation`` and ``region`` every shard file carries."""
    coords = {
        "simulation": ("simulation", np.asarray(data["sim_index"], dtype=np.int64),
                       {"long_name": "global simulation index (noise key with the seed)"}),
        "diverged": ("simulation", np.asarray(data["diverged"], dtype=bool),
                     {"long_name": "state became non-finite; its values are NaN"}),
        **_parameter_coords(data["param_names"], data["param_values"], units, source),
    }
    if "region_labels" in data:
        coords["region"] = ("region", [str(label) for label in data["region_labels"]],
                            {"long_name": "region name (the connectome's)"})
    return coords


def _shard_attrs(data: Mapping[str, np.ndarray], source: str) -> dict:
    attrs = {"source": os.path.basename(source)}
    if "seed" in data:
        attrs["seed"] = int(data["seed"])
    return attrs


def sim_dataset(data: Mapping[str, np.ndarray], *, source: str,
                units: Mapping[str, str] | None = None):
    """A simulation shard (:func:`brainsweep.bold.shards.read_sim_shard`) as a dataset."""
    import xarray as xr

    bold = np.asarray(data["bold"])
    tr = float(data["bold_period_s"])
    n_times = bold.shape[1]
    time = (np.arange(n_times) + 1) * tr
    transient_s = float(data["transient_s"]) if "transient_s" in data else 0.0
    # the same samples the bold stage drops (ceil(transient / TR)), not a rounded time
    dropped = min(transient_samples(transient_s, tr), n_times)
    coords = {
        **_shard_coords(data, units, source),
        "time": ("time", time, {"units": "s", "long_name": "time at the end of the sample"}),
        "transient": ("time", np.arange(n_times) < dropped,
                      {"long_name": f"inside the simulated transient ({transient_s:g} s), "
                                    "dropped before FC"}),
        "state": ("state", ["bold"]),
    }
    variable = xr.Variable(("simulation", "time", "state", "region"), bold[:, :, None, :],
                           {"units": BOLD_UNIT, "long_name": "simulated BOLD at the TR"})
    attrs = {**_shard_attrs(data, source), "tr_s": tr, "transient_s": transient_s,
             "monitor": "bold"}
    return xr.Dataset({"bold": variable}, coords=coords, attrs=attrs)


def bold_dataset(data: Mapping[str, np.ndarray], *, source: str,
                 units: Mapping[str, str] | None = None):
    """A bold shard (:func:`brainsweep.bold.shards.read_bold_shard`) as a dataset."""
    import xarray as xr

    coords = _shard_coords(data, units, source)
    if "region" in coords:
        coords["region_b"] = ("region_b", coords["region"][1],
                              {"long_name": "region name (FC columns)"})
    variables = {
        "fc": (("simulation", "region", "region_b"), np.asarray(data["fc"]),
               {"units": "Pearson r", "long_name": "functional connectivity of the "
                                                   "post-processed BOLD"}),
    }
    if "fcd_values" in data:
        variables["fcd"] = (("simulation", "fcd_pair"), np.asarray(data["fcd_values"]),
                            {"units": "Pearson r", "long_name": "FCD: strict upper triangle "
                                                                "of the window-by-window FC "
                                                                "correlations"})
    for name, long_name, unit in (
            ("bold_std", "median regional standard deviation of the kept raw BOLD",
             BOLD_UNIT),
            ("global_step", "largest move of the global signal between 60 s segments",
             column_unit("global_step"))):
        if name in data:
            variables[name] = ("simulation", np.asarray(data[name], dtype=np.float64),
                               {"units": unit, "long_name": long_name})
    attrs = _shard_attrs(data, source)
    if "tr" in data:
        attrs["tr_s"] = float(data["tr"])
    if "postprocess_json" in data:
        post = json.loads(str(data["postprocess_json"]))
        attrs["postprocess"] = json.dumps(post, sort_keys=True)
        attrs["transient_s"] = float(post.get("transient_s", 0.0))
    if "n_samples" in data and int(data["n_samples"]) >= 0:
        attrs["n_samples"] = int(data["n_samples"])  # BOLD samples after the transient
    return xr.Dataset(variables, coords=coords, attrs=attrs)


# columns of text, even when every cell is empty (no degenerate point)
_TEXT = ("degenerate_reason",)


def _is_parameter(name: str) -> bool:
    return (name not in RESERVED_COLUMNS and name not in METRICS
            and not name.startswith(("fc_corr_", "std_")))


def table_dataset(table: pd.DataFrame, *, source: str,
                  units: Mapping[str, str] | None = None):
    """``scores.csv`` (one row per point) or ``realisations.csv`` (one per simulation) as a
    dataset: each column a variable along ``point`` or ``simulation``, the swept
    parameters (and ``sim_index``, ``point``, ``realisation``) as coordinates; each
    column's unit as in the table's sidecar (:func:`brainsweep.fit.units.column_units`)."""
    import xarray as xr

    if "sim_index" not in table:
        raise InputError("expected the column sim_index of the fit stage's tables",
                         source=source, field="sim_index")
    per_point = "realisations" in table  # scores.csv counts each point's realisations
    dim = "point" if per_point else "simulation"
    index = "point" if per_point else "sim_index"
    if index not in table:
        raise InputError(f"expected the column {index!r} of the fit stage's tables",
                         source=source, field=index)
    coords_of = {index, "sim_index", "point", "realisation"}
    coords, variables = {}, {}
    for name in map(str, table.columns):
        values = table[name]
        if values.dtype == object or name in _TEXT:  # empty cells read as NaN
            values = values.astype(object).where(values.notna(), "").astype(str)
        elif isinstance(values.dtype, pd.Int64Dtype):  # the seed, empty for old shards
            values = values.astype("float64") if values.isna().any() else values.astype("int64")
        elif _is_parameter(name) and name not in coords_of:
            # "%.9g" writes 1.0 as 1: a parameter is a float whatever its values look like
            values = values.astype("float64")
        attrs = {}
        if column_unit(name, units):
            attrs["units"] = column_unit(name, units)
        array = values.to_numpy()
        if name == index:
            coords[dim] = (dim, array, attrs)
        elif name in coords_of or _is_parameter(name):
            if name not in coords_of and name in _TAKEN:
                raise InputError(f"a column named {name!r} clashes with the netCDF layout's "
                                 f"names {list(_TAKEN)}", source=source, field=name)
            coords[name] = (dim, array, attrs)
        else:
            variables[name] = (dim, array, attrs)
    attrs = {"source": os.path.basename(source), "rows": dim}
    seeds = table["seed"].dropna().unique() if "seed" in table else []
    if len(seeds) == 1:
        attrs["seed"] = int(seeds[0])
    return xr.Dataset(variables, coords=coords, attrs=attrs)
