"""Cleaning steps: region selection, symmetrise, zero diagonal, normalise, threshold, average.

The order is fixed (it is the order in which the steps make sense): regions are chosen
first so that normalisations see only the regions kept; the per-subject steps run on each
matrix of a stack; averaging collapses the stack last. Every step appends a record of its
settings and effect to ``Connectome.steps``; that list goes into the output's sidecar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from brainsweep.errors import InputError
from brainsweep.regions import select_regions

from .model import Connectome
from .read_hcp import SAMPLES_PER_VOXEL

__all__ = [
    "AVERAGES",
    "NORMALISATIONS",
    "SYMMETRISATIONS",
    "average_subjects",
    "check_average",
    "check_choice",
    "check_regions",
    "check_threshold",
    "normalise_weights",
    "preprocess",
    "select",
    "symmetrise_matrices",
    "threshold_weights",
    "zero_diagonal",
]

SYMMETRISATIONS = ("mean", "max", "none")
NORMALISATIONS = ("max", "waytotal", "nvoxel", "log1p", "row-sum", "none")
AVERAGES = ("mean", "median", "consistency")
_PER_SUBJECT = ("waytotal", "nvoxel")


def _field(key: str) -> str:
    return f"connectome.{key}"


# ---------------------------------------------------------------------------- validation


def check_regions(regions: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Validate a ``regions`` setting: None, or ``{preset: name | None, drop: [...]}``."""
    if regions is None:
        return None
    if not isinstance(regions, Mapping):
        raise InputError(f"expected a mapping {{preset, drop}}, got {regions!r}",
                         field=_field("regions"))
    unknown = sorted(set(regions) - {"preset", "drop"})
    if unknown:
        raise InputError(f"unknown key(s) {unknown}; expected preset and drop",
                         field=_field(f"regions.{unknown[0]}"))
    drop = regions.get("drop") or []
    if isinstance(drop, str | int) or not isinstance(drop, Sequence):
        raise InputError(f"expected a list of region indices or labels, got {drop!r}",
                         field=_field("regions.drop"))
    for item in drop:
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise InputError(f"expected a region index (int) or label (str), got {item!r}",
                             field=_field("regions.drop"))
    preset = regions.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise InputError(f"expected a preset name, got {preset!r}",
                         field=_field("regions.preset"))
    return {"preset": preset, "drop": list(drop)}


def check_threshold(threshold: Mapping[str, float] | None) -> dict[str, float] | None:
    """Validate ``threshold``: None, ``{absolute: x >= 0}`` or ``{density: 0 < d <= 1}``."""
    if threshold is None:
        return None
    if not isinstance(threshold, Mapping) or len(threshold) != 1:
        raise InputError(f"expected null, {{absolute: value}} or {{density: fraction}}, got "
                         f"{threshold!r}", field=_field("threshold"))
    (kind, value), = threshold.items()
    if kind not in ("absolute", "density"):
        raise InputError(f"unknown threshold {kind!r}; expected absolute or density",
                         field=_field("threshold"))
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise InputError(f"expected a number, got {value!r}", field=_field(f"threshold.{kind}"))
    if kind == "absolute" and value < 0:
        raise InputError(f"expected a value >= 0, got {value}", field=_field("threshold.absolute"))
    if kind == "density" and not 0 < value <= 1:
        raise InputError(f"expected a fraction in (0, 1], got {value}",
                         field=_field("threshold.density"))
    return {kind: float(value)}


def check_average(average: str | Mapping[str, float]) -> dict[str, Any]:
    """Validate ``average``: ``mean``, ``median``, ``{consistency: 0 < p <= 1}`` or ``none``
    (keep the per-subject stack: per-subject fits, :mod:`brainsweep.optimise`)."""
    if isinstance(average, str) and average in ("mean", "median", "none"):
        return {"method": average}
    if isinstance(average, Mapping) and set(average) == {"consistency"}:
        p = average["consistency"]
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 1:
            raise InputError(f"expected a fraction of subjects in (0, 1], got {p!r}",
                             field=_field("average.consistency"))
        return {"method": "consistency", "fraction": float(p)}
    raise InputError(f"unknown average {average!r}; expected mean, median, none or "
                     "{consistency: fraction}", field=_field("average"))


def check_choice(value: Any, choices: Sequence[str], key: str) -> str:
    if value is None:
        value = "none"
    if not isinstance(value, str) or value not in choices:
        raise InputError(f"unknown value {value!r}; expected one of {list(choices)}",
                         field=_field(key))
    return value


# ---------------------------------------------------------------------------- the steps


def _transpose(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def select(conn: Connectome, regions: Mapping[str, Any]) -> Connectome:
    """Keep the regions chosen by ``{preset, drop}`` (indices or labels), in order."""
    settings = check_regions(regions)
    assert settings is not None
    source = conn.sources[0] if conn.sources else None
    drop: list[int] = []
    for item in settings["drop"]:
        if isinstance(item, str):
            if item not in conn.labels:
                raise InputError(f"no region labelled {item!r}", source=source,
                                 field=_field("regions.drop"))
            drop.append(conn.labels.index(item))
        else:
            drop.append(item)
    try:
        keep = select_regions(conn.n_regions, preset=settings["preset"], drop=drop,
                              source=source)
    except InputError as error:
        # regions.py names the field without the config section; add it
        prefix = f"{error.source or ''}" + (f"[{error.field}]" if error.field else "")
        message = str(error).removeprefix(f"{prefix}: ") if prefix else str(error)
        raise InputError(message, source=source,
                         field=_field(error.field or "regions")) from None
    region_data = {
        key: np.take(value, keep, axis=1 if conn.is_stack and key in _PER_SUBJECT else 0)
        for key, value in conn.region_data.items()
    }
    dropped = sorted(set(range(conn.n_regions)) - set(keep.tolist()))
    step = {"step": "select_regions", "preset": settings["preset"], "drop": settings["drop"],
            "n_before": conn.n_regions, "n_after": int(keep.size),
            "dropped": [conn.labels[i] for i in dropped]}
    return conn.with_step(
        step,
        weights=conn.weights[..., keep, :][..., :, keep],
        lengths=conn.lengths[..., keep, :][..., :, keep],
        labels=tuple(conn.labels[i] for i in keep),
        centres=None if conn.centres is None else conn.centres[keep],
        region_data=region_data,
    )


def symmetrise_matrices(weights: np.ndarray, lengths: np.ndarray, method: str
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric weights (``mean``: (W + Wᵀ)/2, ``max``: max(W, Wᵀ)) and lengths.

    A pair's length is the mean over the directions that have a connection (weight > 0),
    so a one-way connection keeps its own length rather than being averaged with a zero; a
    pair with no connection either way gets the mean of its two lengths.
    """
    if method == "none":
        return weights, lengths
    wt, lt = _transpose(weights), _transpose(lengths)
    sym_w = (weights + wt) / 2 if method == "mean" else np.maximum(weights, wt)
    here, there = weights > 0, wt > 0
    n_present = here.astype(float) + there
    summed = np.where(here, lengths, 0.0) + np.where(there, lt, 0.0)
    sym_l = np.where(n_present > 0, summed / np.maximum(n_present, 1), (lengths + lt) / 2)
    return sym_w, sym_l


def zero_diagonal(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` (one matrix or a stack) with its diagonal(s) set to 0."""
    out = np.array(a, copy=True)
    n = out.shape[-1]
    out[..., np.arange(n), np.arange(n)] = 0.0
    return out


def normalise_weights(conn: Connectome, method: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Normalised weights of ``conn`` (each subject separately) and the step's record."""
    w = np.asarray(conn.weights)
    source = conn.sources[0] if len(conn.sources) == 1 else None
    record: dict[str, Any] = {"step": "normalise", "method": method}
    if method == "none":
        return w, record
    if method == "max":
        peak = w.max(axis=(-2, -1), keepdims=True)
        if (peak <= 0).any():
            raise InputError("cannot normalise by the maximum: a matrix is all zeros",
                             source=source, field=_field("normalise"))
        record["divided_by"] = peak.ravel().tolist()
        return w / peak, record
    if method in ("waytotal", "nvoxel"):
        if method not in conn.region_data:
            raise InputError(f"normalise: {method} needs {method}.txt per subject (HCP data); "
                             "this connectome has none", source=source,
                             field=_field("normalise"))
        per_source = np.asarray(conn.region_data[method], dtype=np.float64)
        if method == "nvoxel":
            per_source = per_source * SAMPLES_PER_VOXEL
            record["samples_per_voxel"] = SAMPLES_PER_VOXEL
        # column j is source region j: divide by what was sent from it
        record["per"] = "column (source region)"
        return w / per_source[..., None, :], record
    if method == "log1p":
        return np.log1p(w), record
    if method == "row-sum":
        total = w.sum(axis=-1, keepdims=True)
        record["empty_rows"] = int((total == 0).sum())
        # a region with no input keeps a zero row instead of 0/0
        return np.divide(w, total, out=np.zeros_like(w), where=total > 0), record
    raise AssertionError(method)  # guarded by check_choice


def _upper_or_offdiag(matrix: np.ndarray) -> np.ndarray:
    n = matrix.shape[0]
    if np.array_equal(matrix, matrix.T):
        return np.triu(np.ones((n, n), dtype=bool), k=1)
    return ~np.eye(n, dtype=bool)


def threshold_weights(weights: np.ndarray, threshold: Mapping[str, float]
                      ) -> tuple[np.ndarray, dict[str, Any]]:
    """Zero weak connections: below an absolute value, or all but the strongest fraction.

    ``{density: d}`` keeps the ``round(d · M)`` strongest of the ``M`` possible connections
    (off-diagonal entries; for a symmetric matrix, pairs, so symmetry survives); entries tied
    with the weakest kept one are kept too, so the density reached is recorded per matrix.
    """
    settings = check_threshold(threshold)
    assert settings is not None
    stack = weights.reshape(-1, *weights.shape[-2:])
    out = np.array(stack, copy=True)
    densities, cutoffs = [], []
    for k, matrix in enumerate(stack):
        candidates = _upper_or_offdiag(matrix)
        if "absolute" in settings:
            cutoff = settings["absolute"]
            out[k][matrix < cutoff] = 0.0
        else:
            values = np.sort(matrix[candidates])[::-1]
            n_keep = int(round(settings["density"] * values.size))
            cutoff = float(values[n_keep - 1]) if n_keep > 0 else np.inf
            # a cutoff of 0 would "keep" absent connections; keep only real ones
            out[k][(matrix < cutoff) | (matrix <= 0)] = 0.0
        densities.append(float((out[k][candidates] > 0).mean()))
        cutoffs.append(float(cutoff))
    record = {"step": "threshold", **settings, "cutoff": cutoffs, "density_reached": densities}
    return out.reshape(weights.shape), record


def average_subjects(conn: Connectome, average: str | Mapping[str, float]) -> Connectome:
    """Collapse a stack ``(S, N, N)`` to one matrix.

    Weights: the mean or median over subjects; ``{consistency: p}`` takes the mean over all
    subjects and keeps only connections present (weight > 0) in at least a fraction ``p`` of
    them. Lengths: the mean over the subjects in which the connection exists (a missing
    connection has no length, not a zero one); where it exists in none, the plain mean.
    """
    settings = check_average(average)
    w, lengths = np.asarray(conn.weights), np.asarray(conn.lengths)
    exists = w > 0
    n_exist = exists.sum(axis=0)
    if settings["method"] == "median":
        weights = np.median(w, axis=0)
    else:
        weights = w.mean(axis=0)
    record: dict[str, Any] = {"step": "average", **settings, "n_subjects": int(w.shape[0]),
                              "subjects": list(conn.subject_ids or ())}
    if settings["method"] == "consistency":
        # exact rational comparison: p = 0.5 of 7 subjects needs 4, not 3.5 rounded down
        keep = n_exist >= settings["fraction"] * w.shape[0] - 1e-9
        record["dropped_connections"] = int(((weights > 0) & ~keep).sum())
        weights = np.where(keep, weights, 0.0)
    summed = np.where(exists, lengths, 0.0).sum(axis=0)
    mean_length = np.where(n_exist > 0, summed / np.maximum(n_exist, 1), lengths.mean(axis=0))
    region_data = {key: (np.mean(value, axis=0) if key in _PER_SUBJECT else value)
                   for key, value in conn.region_data.items()}
    return conn.with_step(record, weights=weights, lengths=mean_length, subject_ids=None,
                          region_data=region_data)


def preprocess(
    conn: Connectome,
    *,
    regions: Mapping[str, Any] | None = None,
    symmetrise: str = "mean",
    normalise: str = "max",
    threshold: Mapping[str, float] | None = None,
    average: str | Mapping[str, float] = "mean",
) -> Connectome:
    """Clean a connectome; return a new one (``conn`` is left unchanged).

    Order: select regions, symmetrise, zero the diagonal, normalise, threshold (each on
    every subject of a stack), then average a stack to one matrix.

    Parameters
    ----------
    conn
        One connectome or a stack of subjects.
    regions
        ``{"preset": "aal2-cortical" | None, "drop": [index or label, ...]}``; None keeps
        every region.
    symmetrise
        ``"mean"``, ``"max"`` or ``"none"``.
    normalise
        ``"max"`` (divide by the largest weight), ``"waytotal"`` (column j by region j's
        FSL waytotal), ``"nvoxel"`` (column j by region j's voxels × 5000 samples),
        ``"log1p"``, ``"row-sum"`` (each target's inputs sum to 1) or ``"none"``.
    threshold
        None, ``{"absolute": x}`` (zero weights below x) or ``{"density": d}`` (keep the
        strongest fraction d of possible connections).
    average
        Stacks only: ``"mean"``, ``"median"``, ``{"consistency": p}`` or ``"none"`` (the
        stack is kept, each subject cleaned on its own).

    Returns
    -------
    Connectome
        With one record per step appended to ``steps``.

    Examples
    --------
    >>> from brainsweep import connectome
    >>> conn = connectome.load("resources/hcp-aal2")  # doctest: +SKIP
    >>> conn = connectome.preprocess(conn, regions={"preset": "aal2-cortical"})  # doctest: +SKIP
    >>> conn.weights.shape, float(conn.weights.max())  # doctest: +SKIP
    ((80, 80), 1.0)
    """
    # validate everything before doing anything, so one bad setting costs no work
    regions = check_regions(regions)
    symmetrise = check_choice(symmetrise, SYMMETRISATIONS, "symmetrise")
    normalise = check_choice(normalise, NORMALISATIONS, "normalise")
    threshold = check_threshold(threshold)
    check_average(average)

    if regions is not None:
        conn = select(conn, regions)
    w, lengths = symmetrise_matrices(np.asarray(conn.weights), np.asarray(conn.lengths),
                                     symmetrise)
    conn = conn.with_step(
        {"step": "symmetrise", "method": symmetrise,
         "was_symmetric": bool(np.array_equal(conn.weights, _transpose(conn.weights)))},
        weights=w, lengths=lengths)
    removed = float(np.trace(conn.weights, axis1=-2, axis2=-1).sum())
    conn = conn.with_step({"step": "zero_diagonal", "removed_weight": removed},
                          weights=zero_diagonal(conn.weights),
                          lengths=zero_diagonal(conn.lengths))
    w, record = normalise_weights(conn, normalise)
    conn = conn.with_step(record, weights=w)
    if threshold is not None:
        w, record = threshold_weights(np.asarray(conn.weights), threshold)
        conn = conn.with_step(record, weights=w)
    if conn.is_stack and check_average(average)["method"] != "none":
        conn = average_subjects(conn, average)
    return conn
