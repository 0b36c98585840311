"""Writing a dataset as netCDF-4, atomically, compressed."""

from __future__ import annotations

import os
from pathlib import Path

from brainsweep.io import atomic_path

__all__ = ["ENGINE", "write_netcdf"]

# netCDF-4 through h5py: a wheel on every platform, no C netCDF library to match
ENGINE = "h5netcdf"
# arrays this large or larger are compressed: the shards' BOLD and FC are most of a study's
# bytes, and gzip at a low level costs little time (tables and coordinates stay plain)
_COMPRESS_FROM = 4096


def write_netcdf(dataset, path: str | os.PathLike) -> Path:
    """Write ``dataset`` to ``path`` (netCDF-4) through a temporary file renamed into place,
    so a killed job leaves no file that opens as finished."""
    encoding = {}
    for name, variable in {**dataset.data_vars, **dataset.coords}.items():
        if variable.size >= _COMPRESS_FROM and variable.dtype.kind in "fiub":
            encoding[name] = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
    with atomic_path(path, suffix=".nc") as tmp:
        dataset.to_netcdf(tmp, engine=ENGINE, encoding=encoding, invalid_netcdf=False)
    return Path(path)
