"""The empirical stage: measured BOLD region time series → per-subject and group FC (and FCD).

Measured BOLD goes through exactly the post-processing the simulated BOLD gets
(:func:`brainsweep.bold.postprocess` with the ``bold:`` settings, passed here under
``postprocess``), so that the fit compares like with like.

Inputs read by :func:`load_timeseries`:

* an HCP-style folder (``<source>/subjects/<id>/functional/TC_*.mat``,
  ``<source>/<id>/functional/TC_*.mat`` or one subject's ``<source>/functional/TC_*.mat``,
  MATLAB key ``tc``), one series per subject and run;
* a folder of per-subject ``.mat``/``.npy``/``.csv``/``.tsv`` files (subject id = file stem);
* one ``.mat``/``.npy``/``.csv``/``.tsv`` file (one subject);
* a 4D NIfTI plus a 3D parcellation NIfTI of integer labels (0 = background): the region
  series are the means over each label's voxels, regions in ascending label order;
* a simulate-stage shard (``format: simulated``, any ``.npz``): each simulation's BOLD is one
  "subject" (id ``sim-<sim_index>``), TR from the shard. This is how a parameter-recovery study
  (:mod:`brainsweep.recovery`) treats a planted ground truth as empirical data. The shard's
  BOLD still holds the simulated transient, so the ``postprocess.transient_s`` given is applied
  here (the workflow passes the ``bold:`` transient for this format, 0 for recorded data);
  regions default to all of them (``regions.preset: null``).

Layout of matrix files: ``layout='time-node'`` or ``'node-time'`` is taken as given; with
``'auto'`` the longer axis is time (a scan has more samples than a parcellation has regions;
HCP's ``tc`` is 94 × 1200, node × time) and a square matrix is refused as ambiguous.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainsweep import bold
from brainsweep.errors import InputError
from brainsweep.io import provenance, save_npz
from brainsweep.regions import select_regions

__all__ = [
    "EMPIRICAL_DEFAULTS",
    "FORMATS",
    "GROUP_RULES",
    "LAYOUTS",
    "Timeseries",
    "group_fc",
    "load_timeseries",
    "run_stage",
    "simulated_truth",
    "validate_settings",
]

FORMATS = ("auto", "hcp", "mat", "npy", "csv", "tsv", "nifti", "simulated")
LAYOUTS = ("auto", "time-node", "node-time")
#: ``mean``: element-wise mean of the subjects' correlations. ``fisher-z``: mean of
#: ``arctanh(r)``, mapped back with ``tanh`` (less biased towards zero for strong correlations).
GROUP_RULES = ("mean", "fisher-z")

EMPIRICAL_DEFAULTS: dict[str, Any] = {
    "name": None,
    "source": None,
    "format": "auto",
    "subjects": "all",
    "regions": {"preset": "aal2-cortical", "drop": []},
    "tr": 0.72,
    "layout": "auto",
    "group": "mean",
    "parcellation": None,
    "postprocess": None,
}

_MATRIX_SUFFIXES = {".mat": "mat", ".npy": "npy", ".csv": "csv", ".tsv": "tsv"}
_HCP_PATTERN = "TC_*.mat"
_HCP_KEY = "tc"


@dataclass(frozen=True)
class Timeseries:
    """Region time series of several subjects, as read from disk.

    Attributes
    ----------
    data
        One float64 array ``[time, node]`` per subject (lengths may differ).
    subject_ids
        One id per array.
    files
        Every file read, for provenance (the parcellation included).
    tr
        Sampling period from the files (a NIfTI header), or None when they do not say.
    labels
        Region names from the files (CSV header, NIfTI label values), or None.
    layout
        How the matrix layout was decided, e.g. ``"node-time (auto: longer axis is time)"``.
    """

    data: tuple[np.ndarray, ...]
    subject_ids: tuple[str, ...]
    files: tuple[Path, ...]
    tr: float | None = None
    labels: tuple[str, ...] | None = None
    layout: str = "time-node"


def _is_hcp_folder(path: Path) -> Path | None:
    if any((path / "functional").glob(_HCP_PATTERN)):
        return path  # one subject's own folder
    for root in (path / "subjects", path):
        if root.is_dir() and any(root.glob(f"*/functional/{_HCP_PATTERN}")):
            return root
    return None


def _detect_format(path: Path) -> str:
    if path.is_dir():
        return "hcp" if _is_hcp_folder(path) else "folder"
    name = path.name.lower()
    if name.endswith((".nii", ".nii.gz")):
        return "nifti"
    if path.suffix.lower() == ".npz":
        return "simulated"
    if path.suffix.lower() in _MATRIX_SUFFIXES:
        return _MATRIX_SUFFIXES[path.suffix.lower()]
    raise InputError(
        f"cannot tell the format of {path.name!r}; give format: one of {list(FORMATS[1:])}",
        source=os.fspath(path),
        field="format",
    )


def _orient(matrix: np.ndarray, layout: str, source: str, field: str) -> tuple[np.ndarray, str]:
    if matrix.ndim != 2:
        raise InputError(
            f"expected a 2-D region time series, got shape {matrix.shape}",
            source=source,
            field=field,
        )
    if matrix.dtype.kind not in "biuf":
        raise InputError(f"expected numbers, got {matrix.dtype}", source=source, field=field)
    if layout == "time-node":
        return matrix, "time-node"
    if layout == "node-time":
        return matrix.T, "node-time"
    rows, cols = matrix.shape
    if rows == cols:
        raise InputError(
            f"square {rows}x{cols} matrix: cannot tell time from regions; "
            "set layout: time-node or node-time",
            source=source,
            field="layout",
        )
    if rows > cols:
        return matrix, "time-node (auto: longer axis is time)"
    return matrix.T, "node-time (auto: longer axis is time)"


def _read_mat(path: Path, key: str | None) -> tuple[np.ndarray, str]:
    from scipy import io as sio

    source = os.fspath(path)
    try:
        content = sio.loadmat(path)
    except NotImplementedError as error:  # MATLAB v7.3 files are HDF5
        raise InputError(
            "MATLAB v7.3 (HDF5) files are not supported; save with -v7 or export to .npy",
            source=source,
        ) from error
    except (OSError, ValueError, TypeError) as error:
        raise InputError(f"cannot read as a MATLAB file: {error}", source=source) from error
    arrays = {
        name: value
        for name, value in content.items()
        if not name.startswith("__") and isinstance(value, np.ndarray) and value.ndim == 2
    }
    if key is not None:
        if key not in content:
            raise InputError(
                f"no variable {key!r}; found {sorted(arrays)}", source=source, field=key
            )
        return np.asarray(content[key]), key
    if _HCP_KEY in arrays:
        return arrays[_HCP_KEY], _HCP_KEY
    if len(arrays) == 1:
        name, value = next(iter(arrays.items()))
        return value, name
    raise InputError(
        f"expected one 2-D variable (or one named {_HCP_KEY!r}); found {sorted(arrays)}",
        source=source,
    )


def _read_table(path: Path, sep: str) -> tuple[np.ndarray, list[str] | None]:
    import pandas as pd

    source = os.fspath(path)
    try:
        table = pd.read_csv(path, sep=sep, header=None, comment="#")
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read as a table: {error}", source=source) from error
    labels = None
    first = pd.to_numeric(table.iloc[0], errors="coerce")
    if first.isna().all():
        # a header row of names: columns are regions
        labels = [str(value) for value in table.iloc[0]]
        table = table.iloc[1:]
    try:
        values = table.apply(pd.to_numeric, errors="raise").to_numpy(dtype=np.float64)
    except (ValueError, TypeError) as error:
        raise InputError(f"non-numeric entry: {error}", source=source) from error
    return values, labels


def _read_matrix(path: Path, fmt: str, layout: str) -> tuple[np.ndarray, str, list[str] | None]:
    source = os.fspath(path)
    labels = None
    if fmt == "mat":
        matrix, field = _read_mat(path, None)
    elif fmt == "npy":
        try:
            matrix, field = np.load(path, allow_pickle=False), "array"
        except (OSError, ValueError) as error:
            raise InputError(f"cannot read as .npy: {error}", source=source) from error
    elif fmt in ("csv", "tsv"):
        matrix, labels = _read_table(path, "," if fmt == "csv" else "\t")
        field = "table"
        if labels is not None:
            if layout == "node-time":
                raise InputError(
                    "a header row names columns, i.e. regions, but layout is node-time",
                    source=source,
                    field="layout",
                )
            layout = "time-node"
    else:  # pragma: no cover - callers pass a known format
        raise InputError(f"unknown format {fmt!r}", source=source, field="format")
    oriented, how = _orient(np.asarray(matrix), layout, source, field)
    if labels is not None and len(labels) != oriented.shape[1]:
        raise InputError(
            f"{len(labels)} column names for {oriented.shape[1]} regions", source=source
        )
    series = oriented.astype(np.float64)
    _check_finite(series, source, field)
    return series, how, labels


def _check_finite(series: np.ndarray, source: str, field: str) -> None:
    bad = ~np.isfinite(series)
    if bad.any():
        t, node = np.argwhere(bad)[0]
        raise InputError(
            f"{int(bad.sum())} non-finite value(s), first at time {t}, region {node}",
            source=source,
            field=field,
        )
    if series.shape[0] < 2:
        raise InputError(
            f"need at least 2 time points, got {series.shape[0]}", source=source, field=field
        )


def _read_nifti(
    path: Path, parcellation: Path | None
) -> tuple[np.ndarray, float | None, list[str]]:
    import nibabel as nib

    source = os.fspath(path)
    if parcellation is None:
        raise InputError(
            "a 4D NIfTI needs a parcellation NIfTI to average regions",
            source=source,
            field="parcellation",
        )
    images = []
    for item in (path, parcellation):
        try:
            images.append(nib.load(os.fspath(item)))
        except Exception as error:  # nibabel raises several unrelated types on bad files
            raise InputError(f"cannot read as NIfTI: {error}", source=os.fspath(item)) from error
    image, atlas = images
    if len(image.shape) != 4:
        raise InputError(f"expected a 4D image, got shape {image.shape}", source=source)
    atlas_data = np.asarray(atlas.dataobj)
    atlas_data = (
        atlas_data.reshape(atlas_data.shape[:3])
        if atlas_data.ndim == 4 and atlas_data.shape[3] == 1
        else atlas_data
    )
    if atlas_data.shape != image.shape[:3]:
        raise InputError(
            f"parcellation grid {atlas_data.shape} differs from the image grid {image.shape[:3]}",
            source=os.fspath(parcellation),
        )
    if not np.allclose(atlas.affine, image.affine, atol=1e-3):
        raise InputError(
            "parcellation and image affines differ: resample the parcellation to the image",
            source=os.fspath(parcellation),
        )
    if not np.allclose(atlas_data, np.rint(atlas_data)):
        raise InputError("expected integer region labels", source=os.fspath(parcellation))
    label_map = np.rint(atlas_data).astype(np.int64)
    values = np.unique(label_map[label_map > 0])
    if values.size < 2:
        raise InputError(
            f"found {values.size} region label(s) > 0, need 2", source=os.fspath(parcellation)
        )
    volume = np.asarray(image.dataobj, dtype=np.float64)  # [x, y, z, time]
    flat_labels = label_map.reshape(-1)
    voxels = volume.reshape(-1, volume.shape[3])
    inside = flat_labels > 0
    # region sums by label with one bincount per time point would loop; a sparse-free way is
    # to sort voxels by label and reduce contiguous runs
    order = np.argsort(flat_labels[inside], kind="stable")
    sorted_labels = flat_labels[inside][order]
    starts = np.searchsorted(sorted_labels, values)
    sums = np.add.reduceat(voxels[inside][order], starts, axis=0)  # [region, time]
    counts = np.diff(np.append(starts, sorted_labels.size))
    series = (sums / counts[:, None]).T
    _check_finite(series, source, "data")

    tr = None
    zooms = image.header.get_zooms()
    if len(zooms) > 3 and float(zooms[3]) > 0:
        unit = (
            image.header.get_xyzt_units()[1] if hasattr(image.header, "get_xyzt_units") else "sec"
        )
        tr = float(zooms[3]) * {"msec": 1e-3, "usec": 1e-6}.get(unit, 1.0)
    return series, tr, [f"label_{int(value)}" for value in values]


def _select_subjects(found: dict[str, list[Path]], subjects: Any, source: str) -> list[str]:
    if subjects == "all":
        return sorted(found)
    if isinstance(subjects, str | int):
        subjects = [subjects]
    wanted = [str(item) for item in subjects]
    missing = [item for item in wanted if item not in found]
    if missing:
        raise InputError(
            f"subject(s) {missing} not found; found {sorted(found)}",
            source=source,
            field="subjects",
        )
    return wanted


def load_timeseries(
    source: str | os.PathLike,
    *,
    fmt: str = "auto",
    subjects: str | Sequence[str | int] = "all",
    layout: str = "auto",
    parcellation: str | os.PathLike | None = None,
) -> Timeseries:
    """Read BOLD region time series of one or more subjects.

    Parameters
    ----------
    source
        An HCP-style folder, a folder of per-subject files, one ``.mat``/``.npy``/``.csv``/
        ``.tsv`` file, or a 4D NIfTI (see the module docstring).
    fmt
        One of :data:`FORMATS`; ``auto`` decides from the path (a folder with
        ``*/functional/TC_*.mat`` is HCP; otherwise from the suffix).
    subjects
        ``"all"`` or the subject ids to keep (folder inputs only), in the order given.
    layout
        ``auto``, ``time-node`` or ``node-time`` for matrix files (see the module docstring).
    parcellation
        The 3D label image for a NIfTI source.

    Returns
    -------
    Timeseries
        float64 series ``[time, node]`` per subject, their ids, the files read, the TR when
        the files hold one, region labels when the files hold them.

    Raises
    ------
    InputError
        A missing or unreadable file, a NaN/inf value, a non 2-D matrix, an ambiguous layout,
        subjects with different numbers of regions, an unknown subject.

    Examples
    --------
    >>> ts = load_timeseries("resources/hcp-aal2", subjects=["101309"])  # doctest: +SKIP
    >>> ts.data[0].shape  # doctest: +SKIP
    (1200, 94)
    """
    path = Path(source)
    where = os.fspath(path)
    if fmt not in FORMATS:
        raise InputError(
            f"unknown format {fmt!r}; known: {list(FORMATS)}", source=where, field="format"
        )
    if layout not in LAYOUTS:
        raise InputError(
            f"unknown layout {layout!r}; known: {list(LAYOUTS)}", source=where, field="layout"
        )
    if not path.exists():
        raise InputError("no such file or folder", source=where, field="source")
    kind = _detect_format(path) if fmt == "auto" else fmt

    files: list[Path] = []
    data: list[np.ndarray] = []
    ids: list[str] = []
    labels: list[str] | None = None
    tr: float | None = None
    how = "time-node"
    if kind == "nifti":
        if subjects != "all":
            raise InputError(
                "subject selection needs a folder source", source=where, field="subjects"
            )
        series, tr, labels = _read_nifti(path, None if parcellation is None else Path(parcellation))
        data, ids = [series], [_stem(path)]
        files = [path, Path(parcellation)]  # type: ignore[arg-type]
    elif kind in ("hcp", "folder"):
        if not path.is_dir():
            raise InputError(f"format {kind!r} needs a folder", source=where, field="format")
        if kind == "hcp":
            root = _is_hcp_folder(path)
            if root is None:
                raise InputError(f"no */functional/{_HCP_PATTERN} files", source=where)
            folders = [root] if (root / "functional").is_dir() else sorted(root.iterdir())
            found = {
                folder.name: sorted((folder / "functional").glob(_HCP_PATTERN))
                for folder in folders
                if folder.is_dir() and any((folder / "functional").glob(_HCP_PATTERN))
            }
        else:
            found = {
                _stem(item): [item]
                for item in sorted(path.iterdir())
                if item.is_file() and item.suffix.lower() in _MATRIX_SUFFIXES
            }
            if not found:
                raise InputError(f"no {sorted(_MATRIX_SUFFIXES)} files", source=where)
        for subject in _select_subjects(found, subjects, where):
            runs = found[subject]
            for run in runs:
                run_fmt = "mat" if kind == "hcp" else _MATRIX_SUFFIXES[run.suffix.lower()]
                series, how, run_labels = _read_matrix(run, run_fmt, layout)
                labels = labels or run_labels
                data.append(series)
                # several runs of one subject are kept apart: FC is computed per run
                ids.append(subject if len(runs) == 1 else f"{subject}/{_stem(run)}")
                files.append(run)
    elif kind == "simulated":
        if subjects != "all":
            raise InputError(
                "a simulated source keeps every simulation; subject selection is not supported",
                source=where,
                field="subjects",
            )
        data, ids, tr = _read_simulated(path)
        files = [path] * len(data)
    elif kind in ("mat", "npy", "csv", "tsv"):
        if subjects != "all":
            raise InputError(
                "subject selection needs a folder source", source=where, field="subjects"
            )
        series, how, labels = _read_matrix(path, kind, layout)
        data, ids, files = [series], [_stem(path)], [path]
    else:  # pragma: no cover - FORMATS is checked above
        raise InputError(f"unknown format {kind!r}", source=where, field="format")

    n_nodes = {series.shape[1] for series in data}
    if len(n_nodes) > 1:
        counts = {ident: series.shape[1] for ident, series in zip(ids, data, strict=True)}
        raise InputError(f"subjects have different numbers of regions: {counts}", source=where)
    return Timeseries(
        data=tuple(data),
        subject_ids=tuple(ids),
        files=tuple(files),
        tr=tr,
        labels=None if labels is None else tuple(labels),
        layout=how,
    )


def _read_simulated(path: Path) -> tuple[list[np.ndarray], list[str], float]:
    from brainsweep.bold.shards import read_sim_shard

    source = os.fspath(path)
    if not path.is_file():
        raise InputError("a simulated source is a simulate-stage shard file", source=source)
    shard = read_sim_shard(path)
    diverged = np.flatnonzero(shard["diverged"])
    if diverged.size:
        raise InputError(
            f"simulation(s) {shard['sim_index'][diverged].tolist()} diverged: a diverged "
            "simulation cannot serve as empirical data",
            source=source,
            field="diverged",
        )
    data = []
    for i, series in enumerate(shard["bold"]):
        series = series.astype(np.float64)
        _check_finite(series, source, f"bold[{i}]")
        data.append(series)
    ids = [f"sim-{int(index)}" for index in shard["sim_index"]]
    return data, ids, shard["bold_period_s"]


def simulated_truth(path: str | os.PathLike) -> dict[str, list[float]]:
    """The parameter rows of a simulate-stage shard: name -> one value per simulation."""
    from brainsweep.bold.shards import read_sim_shard

    shard = read_sim_shard(path)
    names = [str(name) for name in shard["param_names"]]
    return {name: shard["param_values"][:, k].tolist() for k, name in enumerate(names)}


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".nii.gz", ".nii", *_MATRIX_SUFFIXES):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def validate_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Check the ``empirical:`` settings and fill in defaults.

    Keys: ``source`` (required), ``name``, ``format`` (:data:`FORMATS`), ``subjects``
    (``all`` or a list of ids), ``regions`` (``{preset, drop}``, see
    :func:`brainsweep.regions.select_regions`), ``tr`` (seconds, or null to take it from a
    NIfTI header), ``layout`` (:data:`LAYOUTS`), ``group`` (:data:`GROUP_RULES`),
    ``parcellation`` (NIfTI sources) and ``postprocess`` (the ``bold:`` settings).

    Raises
    ------
    InputError
        An unknown key or a bad value, naming ``empirical.<key>``.
    """
    if not isinstance(settings, Mapping):
        raise InputError(f"expected a mapping, got {type(settings).__name__}", field="empirical")
    unknown = sorted(set(settings) - set(EMPIRICAL_DEFAULTS))
    if unknown:
        raise InputError(
            f"unknown key(s) {unknown}; known: {sorted(EMPIRICAL_DEFAULTS)}",
            field=f"empirical.{unknown[0]}",
        )
    out = {**EMPIRICAL_DEFAULTS, **settings}
    simulated = out["format"] == "simulated" or (
        out["format"] == "auto" and str(out["source"]).lower().endswith(".npz")
    )
    if simulated and "regions" not in settings:
        out["regions"] = {"preset": None, "drop": []}  # a simulation has the model's regions
    if not isinstance(out["source"], str | os.PathLike) or not os.fspath(out["source"]):
        raise InputError("expected the path of the BOLD data", field="empirical.source")
    for key, choices in (("format", FORMATS), ("layout", LAYOUTS), ("group", GROUP_RULES)):
        if out[key] not in choices:
            raise InputError(
                f"expected one of {list(choices)}, got {out[key]!r}", field=f"empirical.{key}"
            )
    subjects = out["subjects"]
    if subjects != "all" and not (
        isinstance(subjects, Sequence)
        and not isinstance(subjects, str)
        and subjects
        and all(isinstance(item, str | int) and not isinstance(item, bool) for item in subjects)
    ):
        raise InputError(
            f"expected 'all' or a list of subject ids, got {subjects!r}", field="empirical.subjects"
        )
    tr = out["tr"]
    if tr is not None and (
        isinstance(tr, bool) or not isinstance(tr, int | float) or not math.isfinite(tr) or tr <= 0
    ):
        raise InputError(
            f"expected a positive number of seconds or null, got {tr!r}", field="empirical.tr"
        )
    regions = out["regions"] if out["regions"] is not None else {}
    if not isinstance(regions, Mapping):
        raise InputError(f"expected {{preset, drop}}, got {regions!r}", field="empirical.regions")
    unknown = sorted(set(regions) - {"preset", "drop"})
    if unknown:
        raise InputError(
            f"unknown key(s) {unknown}; known: ['drop', 'preset']",
            field=f"empirical.regions.{unknown[0]}",
        )
    drop = regions.get("drop") or []
    if (
        not isinstance(drop, Sequence)
        or isinstance(drop, str)
        or not all(isinstance(item, int) and not isinstance(item, bool) for item in drop)
    ):
        raise InputError(
            f"expected a list of 0-based region indices, got {drop!r}",
            field="empirical.regions.drop",
        )
    preset = regions.get("preset", EMPIRICAL_DEFAULTS["regions"]["preset"])
    if preset is not None and not isinstance(preset, str):
        raise InputError(
            f"expected a preset name or null, got {preset!r}", field="empirical.regions.preset"
        )
    out["regions"] = {"preset": preset, "drop": list(drop)}
    if out["name"] is not None and not isinstance(out["name"], str):
        raise InputError(f"expected a string, got {out['name']!r}", field="empirical.name")
    out["source"] = os.fspath(out["source"])
    if out["parcellation"] is not None:
        out["parcellation"] = os.fspath(out["parcellation"])
    out["postprocess"] = bold.validate_postprocess(
        out["postprocess"], prefix="empirical.postprocess"
    )
    return out


def group_fc(fc_subjects: np.ndarray, rule: str = "mean") -> np.ndarray:
    """The group FC of ``[subject, node, node]`` correlation matrices.

    Parameters
    ----------
    fc_subjects
        Per-subject FC, each symmetric with a unit diagonal.
    rule
        ``mean``: element-wise arithmetic mean. ``fisher-z``: ``tanh(mean(arctanh(r)))``
        off the diagonal (``|r|`` clipped to ``1 - 1e-7`` so that the transform stays
        finite); the diagonal is 1.

    Returns
    -------
    numpy.ndarray
        float64 ``[node, node]``.
    """
    stack = np.asarray(fc_subjects, dtype=np.float64)
    if stack.ndim != 3 or stack.shape[1] != stack.shape[2] or stack.shape[0] < 1:
        raise InputError(
            f"expected [subject, node, node], got shape {stack.shape}", field="fc_subjects"
        )
    if rule == "mean":
        return stack.mean(axis=0)
    if rule == "fisher-z":
        limit = 1.0 - 1e-7
        group = np.tanh(np.arctanh(np.clip(stack, -limit, limit)).mean(axis=0))
        np.fill_diagonal(group, 1.0)
        return group
    raise InputError(f"unknown group rule {rule!r}; known: {list(GROUP_RULES)}", field="group")


def _output_path(out: str | os.PathLike, options: Mapping[str, Any]) -> Path:
    target = Path(out)
    if target.suffix == ".npz":
        return target
    # a folder: name the file after the study's empirical name or the source
    name = options["name"] or _stem(Path(options["source"]).resolve())
    return target / f"{name}.npz"


def run_stage(settings: Mapping[str, Any], out: str | os.PathLike) -> Path:
    """Read measured BOLD, post-process it like the simulations, write FC and FCD.

    Parameters
    ----------
    settings
        The ``empirical:`` config (see :func:`validate_settings`) with the ``bold:`` settings
        under ``postprocess``.
    out
        The output ``results/empirical/{name}.npz``, or a folder to put ``{name}.npz`` in.

    Returns
    -------
    pathlib.Path
        The ``.npz`` written (atomically, with a JSON provenance sidecar), holding
        ``fc_subjects`` (S, N, N) float64, ``fc_group`` (N, N) float64 (the ``group`` rule),
        ``fcd_values`` float32 (every subject's FCD upper triangle, concatenated; empty when
        ``postprocess.fcd`` is null) with ``fcd_offsets`` (S + 1,) int64 (subject ``s`` owns
        ``fcd_values[fcd_offsets[s]:fcd_offsets[s + 1]]``), ``tr``, ``subject_ids``,
        ``labels``, ``region_indices`` (0-based indices kept from the source), ``n_samples``
        (per subject, after the transient), ``group_rule`` and ``postprocess_json``.

    Raises
    ------
    InputError
        Bad settings, unreadable or non-finite data, a flat (constant) kept region.
    """
    started = time.perf_counter()
    options = validate_settings(settings)
    source = options["source"]
    series = load_timeseries(
        source,
        fmt=options["format"],
        subjects=options["subjects"],
        layout=options["layout"],
        parcellation=options["parcellation"],
    )
    kind = _detect_format(Path(source)) if options["format"] == "auto" else options["format"]
    found_in = "shard" if kind == "simulated" else "nifti header"
    tr, tr_source = _resolve_tr(options["tr"], series.tr, source, found_in=found_in)
    n_regions = series.data[0].shape[1]
    keep = select_regions(
        n_regions,
        preset=options["regions"]["preset"],
        drop=options["regions"]["drop"],
        source=source,
    )
    labels = [series.labels[i] if series.labels else f"region_{i:03d}" for i in keep]

    post = options["postprocess"]
    filter_options = {
        key: post[key] for key in ("transient_s", "detrend", "bandpass", "zscore", "gsr")
    }
    matrices, fcd_chunks, n_samples = [], [], []
    for ident, path, raw in zip(series.subject_ids, series.files, series.data, strict=False):
        kept = raw[:, keep]
        std = kept.std(axis=0)
        flat = np.flatnonzero(~(std > 1e-12 * np.abs(kept).max(axis=0)))
        if flat.size:
            raise InputError(
                f"subject {ident}: region(s) {keep[flat].tolist()} (0-based, of the source) are "
                "constant; drop them with regions.drop",
                source=os.fspath(path),
                field="empirical.regions",
            )
        try:
            clean = bold.postprocess(kept, tr=tr, **filter_options)
            matrices.append(bold.fc(clean))
            if post["fcd"] is not None:
                fcd_chunks.append(bold.fcd_values(bold.fcd(clean, tr=tr, **post["fcd"])))
        except InputError as error:
            message = str(error)
            if error.field and error.source is None:
                message = message.removeprefix(f"[{error.field}]: ")
            raise InputError(
                f"subject {ident}: {message}",
                source=os.fspath(path),
                field=f"empirical.postprocess.{error.field}" if error.field else None,
            ) from error
        n_samples.append(clean.shape[0])
    fc_subjects = np.stack(matrices)
    offsets = np.concatenate([[0], np.cumsum([chunk.size for chunk in fcd_chunks])])
    if not fcd_chunks:
        offsets = np.zeros(len(matrices) + 1, dtype=np.int64)
    arrays = {
        "fc_subjects": fc_subjects,
        "fc_group": group_fc(fc_subjects, options["group"]),
        "fcd_values": (np.concatenate(fcd_chunks) if fcd_chunks else np.zeros(0)).astype(
            np.float32
        ),
        "fcd_offsets": offsets.astype(np.int64),
        "tr": np.float64(tr),
        "subject_ids": np.array(series.subject_ids, dtype=str),
        "labels": np.array(labels, dtype=str),
        "region_indices": keep,
        "n_samples": np.array(n_samples, dtype=np.int64),
        "group_rule": np.array(options["group"]),
        "postprocess_json": np.array(json.dumps(post, sort_keys=True)),
    }
    truth = None
    if kind == "simulated":
        # the planted parameters travel with the FC, so a recovery report needs no other input
        truth = simulated_truth(source)
        arrays["truth_names"] = np.array(list(truth), dtype=str)
        arrays["truth_values"] = np.array(list(truth.values()), dtype=np.float64).T
    inputs = {
        f"timeseries:{ident}": path
        for ident, path in zip(series.subject_ids, series.files, strict=False)
    }
    if options["parcellation"]:
        inputs["parcellation"] = options["parcellation"]
    record = provenance(
        inputs=inputs,
        config=options,
        stage="empirical",
        tr_s=tr,
        tr_source=tr_source,
        layout=series.layout,
        group_rule=options["group"],
        n_subjects=len(matrices),
        n_regions=int(keep.size),
        truth=truth,
        seconds=round(time.perf_counter() - started, 3),
    )
    return save_npz(_output_path(out, options), arrays, record)


def _resolve_tr(
    configured: float | None, from_file: float | None, source: str, found_in: str = "nifti header"
) -> tuple[float, str]:
    if from_file is not None:
        if configured is not None and not math.isclose(configured, from_file, rel_tol=0.01):
            warnings.warn(
                f"{source}: the {found_in} gives TR {from_file:g} s, the config "
                f"{configured:g} s; using the {found_in}",
                stacklevel=3,
            )
        return from_file, found_in
    if configured is None:
        raise InputError(
            "the data do not give a TR; set empirical.tr", source=source, field="empirical.tr"
        )
    return float(configured), "config"
