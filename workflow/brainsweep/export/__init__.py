"""A study's outputs as labelled netCDF-4 files (``brainsweep netcdf``), opened with
``xarray.open_dataset``.

The stages pass ``.npz`` and CSV files between them; this stage writes beside each of them a
netCDF-4 file (through xarray and h5netcdf) that says what its numbers are: named
dimensions, parameters as coordinates under the names the study gave them, region names,
time in seconds with the transient marked, units and the TR as attributes. See
:mod:`brainsweep.export.datasets` for the layout of each file.
"""

from __future__ import annotations

from brainsweep.export.datasets import bold_dataset, sim_dataset, table_dataset
from brainsweep.export.writing import ENGINE, write_netcdf

__all__ = ["ENGINE", "bold_dataset", "sim_dataset", "table_dataset", "write_netcdf"]
