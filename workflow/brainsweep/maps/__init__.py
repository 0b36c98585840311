"""Cortical maps and regional parametrisations: one value per region from a few swept numbers.

:func:`read_map` reads a map (txt/npy/csv, or a parcellated CIFTI via nibabel) keyed by region
label and puts it in the connectome's region order; :class:`RegionalParameter` turns a base
value ``p0`` and coefficients ``b_k`` into per-region values (``scaled``:
``p0 (1 + sum_k b_k map_k)``, ``shifted``: ``p0 + sum_k b_k map_k``, ``groups``: one value per
group of regions), checked against the parameter's range.
"""

from brainsweep.maps.parametrise import FORMS, RegionalParameter
from brainsweep.maps.reading import read_groups, read_map, read_region_labels, zscore

__all__ = ["FORMS", "RegionalParameter", "read_groups", "read_map", "read_region_labels",
           "zscore"]
