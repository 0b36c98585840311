"""The :class:`Connectome` value: weights, tract lengths, labels, and how they were made."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from brainsweep import io
from brainsweep.errors import InputError

from .checks import check_labels, check_matrix, check_same_shape

__all__ = ["Connectome", "REGION_ARRAYS"]

# Per-region arrays a reader may attach (TVB zip members, HCP normalisation counts). Region
# selection subsets them along their region axis (the last one), so they stay aligned.
REGION_ARRAYS = ("areas", "cortical", "hemispheres", "average_orientations", "waytotal",
                 "nvoxel")
# Arrays whose leading axis is the subject axis when the connectome is a stack.
_PER_SUBJECT = ("waytotal", "nvoxel")


def _frozen(array: np.ndarray) -> np.ndarray:
    # a frozen dataclass holding writable arrays would not be frozen at all
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Connectome:
    """A structural connectome: one ``(N, N)`` matrix pair, or a stack of subjects.

    Convention: ``weights[i, j]`` is the connection from source region ``j`` to target region
    ``i`` (rows are targets), as in The Virtual Brain's coupling. Lengths are in mm.

    Parameters
    ----------
    weights
        ``(N, N)`` or ``(S, N, N)`` float64, non-negative.
    lengths
        Tract lengths in mm, same shape as ``weights``.
    labels
        One name per region.
    centres
        ``(N, 3)`` region centres in mm, or None.
    steps
        Every reading and cleaning step applied, with its settings, in order.
    sources
        Every file read to build this connectome.
    subject_ids
        The subjects of a stack (``weights.ndim == 3``); None for one matrix.
    region_data
        Optional per-region arrays (see :data:`REGION_ARRAYS`): TVB's ``areas``,
        ``cortical``, ``hemispheres``, ``average_orientations``; HCP's ``waytotal`` and
        ``nvoxel`` (``(S, N)`` for a stack).

    Examples
    --------
    >>> import numpy as np
    >>> c = Connectome(np.ones((2, 2)), np.full((2, 2), 10.0), ("a", "b"))
    >>> c.n_regions
    2
    """

    weights: np.ndarray
    lengths: np.ndarray
    labels: tuple[str, ...]
    centres: np.ndarray | None = None
    steps: tuple[dict[str, Any], ...] = ()
    sources: tuple[str, ...] = ()
    subject_ids: tuple[str, ...] | None = None
    region_data: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        source = self.sources[0] if len(self.sources) == 1 else None
        stacked = np.ndim(self.weights) == 3
        weights = check_matrix(self.weights, source=source, field="weights", stacked=stacked)
        lengths = check_matrix(self.lengths, source=source, field="lengths", stacked=stacked)
        check_same_shape(weights, lengths, source=source, field="lengths")
        n = weights.shape[-1]
        labels = check_labels(self.labels, n, source=source)
        centres = None
        if self.centres is not None:
            centres = np.array(self.centres, dtype=np.float64)
            if centres.shape != (n, 3) or not np.isfinite(centres).all():
                raise InputError(f"expected finite ({n}, 3) region centres, got shape "
                                 f"{centres.shape}", source=source, field="centres")
        if stacked:
            ids = () if self.subject_ids is None else tuple(str(s) for s in self.subject_ids)
            if len(ids) != weights.shape[0]:
                raise InputError(f"{len(ids)} subject ids for a stack of {weights.shape[0]}",
                                 source=source, field="subject_ids")
        elif self.subject_ids is not None:
            raise InputError("subject ids given for a single matrix", source=source,
                             field="subject_ids")
        else:
            ids = None
        region_data = {}
        for key, value in self.region_data.items():
            if key not in REGION_ARRAYS:
                raise InputError(f"unknown per-region array {key!r}; known: {REGION_ARRAYS}",
                                 source=source, field=key)
            value = np.asarray(value)
            lead = (weights.shape[0],) if stacked and key in _PER_SUBJECT else ()
            region_axis = len(lead)
            if value.shape[:region_axis] != lead or value.ndim <= region_axis \
                    or value.shape[region_axis] != n:
                raise InputError(f"shape {value.shape} does not fit {n} regions"
                                 + (f" of {lead[0]} subjects" if lead else ""),
                                 source=source, field=key)
            region_data[key] = _frozen(value)
        set_ = object.__setattr__  # frozen: normalise the fields once, here
        set_(self, "weights", _frozen(weights))
        set_(self, "lengths", _frozen(lengths))
        set_(self, "labels", labels)
        set_(self, "centres", None if centres is None else _frozen(centres))
        set_(self, "steps", tuple(dict(step) for step in self.steps))
        set_(self, "sources", tuple(os.fspath(s) for s in self.sources))
        set_(self, "subject_ids", ids)
        set_(self, "region_data", MappingProxyType(region_data))

    @property
    def n_regions(self) -> int:
        """Number of regions N."""
        return int(self.weights.shape[-1])

    @property
    def is_stack(self) -> bool:
        """True when the weights are a per-subject stack ``(S, N, N)``."""
        return self.weights.ndim == 3

    def __repr__(self) -> str:
        """One line: size, subjects, the weights' and lengths' ranges, a few region names and
        the steps applied (the arrays themselves are ``weights`` and ``lengths``)."""
        weights, lengths = np.asarray(self.weights), np.asarray(self.lengths)
        exists = weights > 0
        names = list(self.labels)
        shown = ", ".join(names[:2]) + (f", ..., {names[-1]}" if len(names) > 3 else
                                        "".join(f", {name}" for name in names[2:]))
        stack = f", {len(self.subject_ids)} subjects" if self.is_stack else ""
        span = (f"weights {weights[exists].min():.3g}..{weights.max():.3g}, "
                f"lengths {lengths[exists].min():.3g}..{lengths[exists].max():.3g} mm"
                if exists.any() else "no connections")
        steps = " -> ".join(str(step.get("step", "?")) for step in self.steps) or "none"
        return (f"Connectome({self.n_regions} regions{stack}, {exists.mean():.0%} of pairs "
                f"connected, {span}; regions {shown}; steps {steps})")

    def evolve(self, **changes: Any) -> Connectome:
        """A copy with some fields replaced (the original is left as it was)."""
        return replace(self, **changes)

    def with_step(self, step: Mapping[str, Any], **changes: Any) -> Connectome:
        """A copy with ``step`` appended to :attr:`steps` and some fields replaced."""
        return replace(self, steps=(*self.steps, dict(step)), **changes)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays written by :meth:`save` (and read back by :meth:`from_npz`)."""
        out: dict[str, np.ndarray] = {
            "weights": np.asarray(self.weights),
            "lengths": np.asarray(self.lengths),
            "labels": np.array(self.labels, dtype=np.str_),
        }
        if self.centres is not None:
            out["centres"] = np.asarray(self.centres)
        if self.subject_ids is not None:
            out["subject_ids"] = np.array(self.subject_ids, dtype=np.str_)
        out.update({key: np.asarray(value) for key, value in self.region_data.items()})
        return out

    def save(self, path: str | os.PathLike, *, config: Mapping[str, Any] | None = None,
             **extra: Any) -> Path:
        """Write ``path`` (``.npz``) atomically, then its provenance sidecar ``<path>.json``.

        Parameters
        ----------
        path
            The output file, e.g. ``results/connectome/{name}.npz``.
        config
            The settings that made this connectome (stored with their hash).
        **extra
            More provenance fields (timings, ...).

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        record = io.provenance(
            inputs={source: source for source in self.sources},
            config=config,
            steps=list(self.steps),
            sources=list(self.sources),
            n_regions=self.n_regions,
            **extra,
        )
        return io.save_npz(path, self.arrays(), record)

    @classmethod
    def from_npz(cls, path: str | os.PathLike) -> Connectome:
        """Read a connectome written by :meth:`save` (steps come from its sidecar if present).

        Parameters
        ----------
        path
            An ``.npz`` with keys ``weights``, ``lengths``, ``labels`` and optionally
            ``centres``, ``subject_ids`` and per-region arrays.
        """
        path = Path(path)
        try:
            data = io.load_npz(path)
        except InputError:
            raise
        except (OSError, ValueError) as error:
            raise InputError(f"cannot read as .npz ({error})", source=str(path)) from None
        for key in ("weights", "lengths", "labels"):
            if key not in data:
                raise InputError(f"missing array {key!r}; found {sorted(data)}",
                                 source=str(path), field=key)
        steps: tuple[dict[str, Any], ...] = ()
        sidecar = io.written_path(io.sidecar_path(path))
        if sidecar.is_file():
            try:
                steps = tuple(json.loads(sidecar.read_text()).get("steps", ()))
            except (OSError, ValueError):
                steps = ()  # a damaged sidecar loses history, not the data
        subject_ids = data.get("subject_ids")
        return cls(
            weights=data["weights"],
            lengths=data["lengths"],
            labels=tuple(str(s) for s in data["labels"]),
            centres=data.get("centres"),
            steps=steps,
            sources=(str(path),),
            subject_ids=None if subject_ids is None else tuple(str(s) for s in subject_ids),
            region_data={k: v for k, v in data.items() if k in REGION_ARRAYS},
        )
