"""Cortical maps and regional parametrisations: one value per region from a few swept numbers.

:func:`read_map` reads a map (txt/npy/csv, a parcellated CIFTI, or a volumetric NIfTI parcellated
by an atlas image and its label table, via nibabel) keyed by region label and puts it in the
connectome's region order; :class:`RegionalParameter` turns a base
value ``p0`` and coefficients ``b_k`` into per-region values (``scaled``:
``p0 (1 + sum_k b_k map_k)``, ``shifted``: ``p0 + sum_k b_k map_k``, ``groups``: one value per
group of regions), checked against the parameter's range.
"""

from brainsweep.maps.parametrise import FORMS, RegionalParameter
from brainsweep.maps.reading import Atlas, read_groups, read_map, read_region_labels, zscore
from brainsweep.maps.volume import parcellate, read_label_table

__all__ = ["FORMS", "Atlas", "RegionalParameter", "parcellate", "read_groups", "read_label_table",
           "read_map", "read_region_labels", "zscore"]
