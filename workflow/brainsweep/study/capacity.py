"""Whether a study's grid and shard plan can run at all, decided from counts alone.

The workflow needs the shard ids before it builds its DAG, and a grid of 10^8 simulations
must be refused then, with the numbers, rather than expanded into a table Python cannot hold.
:func:`check_study_fits` counts the grid (:meth:`GridSettings.size`, a product of axis
lengths), estimates the bytes a shard's outputs need on the host (the same parts as
:func:`brainsweep.simulate.memory.host_memory` counts, with the number of regions the
connectome's region selection gives, or 2, the fewest a study may keep, when the connectome
is not built yet) and compares them with the limits given. The shard stage checks the exact
plan again before it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from brainsweep.errors import PlanError
from brainsweep.regions import PRESETS

__all__ = ["MAX_SHARDS", "StudySize", "check_study_fits", "study_size"]

# Snakemake plans one job per shard and per bold shard; beyond this many the DAG alone takes
# minutes and gigabytes, and a cluster's scheduler refuses the jobs anyway.
MAX_SHARDS = 50_000
_REAL_BYTES = {"float32": 4, "float64": 8}


@dataclass(frozen=True)
class StudySize:
    simulations: int
    shards: int
    sims_per_shard: int
    bold_frames: int
    regions: int
    regions_known: bool  # False: the connectome's selection does not say; 2 assumed
    grid_bytes: int  # the expanded parameter table (float64)
    shard_output_bytes: int  # BOLD of the largest shard, as computed and as saved (float32)


def _regions(connectome: Mapping | None) -> tuple[int, bool]:
    selection = (connectome or {}).get("regions") or {}
    preset = selection.get("preset")
    if preset in PRESETS:
        count, dropped = PRESETS[preset]
        return count - len(set(dropped) | set(selection.get("drop") or ())), True
    return 2, False


def study_size(study) -> StudySize:
    """The counts of :func:`check_study_fits` (nothing is expanded)."""
    settings = study.simulate
    simulations = settings.grid.size()
    shards = settings.shard_count()
    per_shard = -(-simulations // shards)
    sim = settings.simulation
    frames = int((sim.transient_s + sim.duration_s) / settings.bold_monitor.tr)
    regions, known = _regions(study.connectome)
    real = _REAL_BYTES.get(settings.integrator.dtype, 8)
    n_params = len(settings.grid.axes_values())
    return StudySize(simulations=simulations, shards=shards, sims_per_shard=per_shard,
                     bold_frames=frames, regions=regions, regions_known=known,
                     grid_bytes=simulations * n_params * 8,
                     shard_output_bytes=per_shard * frames * regions * (real + 4))


def check_study_fits(study, limits: Mapping[str, int | None], *,
                     max_shards: int = MAX_SHARDS) -> StudySize:
    """Refuse, with the numbers, a study whose grid or shards cannot fit.

    ``limits`` maps a name ("this host", "a shard job") to the bytes it allows (None:
    unknown, not checked). Raises :class:`PlanError` naming the simulations, shards, bytes
    and the limit.
    """
    size = study_size(study)
    known = {name: int(value) for name, value in limits.items() if value is not None}
    where, limit = min(known.items(), key=lambda item: item[1]) if known else (None, None)
    grid = f"the sweep makes {size.simulations:,} simulations in {size.shards:,} shard(s)"
    if size.shards > max_shards:
        raise PlanError(f"{grid}: the workflow plans at most {max_shards:,} shard jobs; use "
                        f"fewer, larger shards (shards.count or shards.size)")
    if limit is not None and size.grid_bytes > limit:
        raise PlanError(f"{grid}: its parameter table alone needs {_size(size.grid_bytes)} "
                        f"but {where} allows {_size(limit)}; sweep fewer values")
    if limit is not None and size.shard_output_bytes > limit:
        regions = (f"{size.regions} regions" if size.regions_known
                   else f"at least {size.regions} regions")
        fit = limit // max(size.shard_output_bytes // max(size.sims_per_shard, 1), 1)
        raise PlanError(
            f"{grid}: a shard of {size.sims_per_shard:,} simulations needs "
            f"{_size(size.shard_output_bytes)} for its BOLD ({size.bold_frames} frames x "
            f"{regions}) but {where} allows {_size(limit)}; at most {fit:,} simulations fit "
            f"in a shard: use more shards (shards.count or shards.size) or sweep fewer values")
    return size


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB ({n:,} B)" if n >= 2**30 else f"{n / 2**20:.1f} MiB ({n:,} B)"
