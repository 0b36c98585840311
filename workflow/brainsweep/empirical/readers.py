"""Readers of measured BOLD region time series (HCP folders, matrix files, 4D NIfTI with a
parcellation) and of a simulate-stage shard read as data (``format: simulated``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

import numpy as np

from brainsweep.empirical.checks import FORMATS, LAYOUTS
from brainsweep.empirical.fc_files import read_array
from brainsweep.errors import InputError

__all__ = ["Timeseries", "load_timeseries", "simulated_truth"]

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
    skipped: dict[str, str] = dataclass_field(default_factory=dict)


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
    elif fmt == "npy" and path.suffix.lower() == ".npz":
        # one unnamed array in an .npz (np.savez's arr_0), as resources/hcp-schaefer100 has
        matrix, field = read_array(path, field="empirical.source"), "array"
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
    missing_subjects: str = "error",
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
    missing_subjects
        HCP folders: a subject folder without a ``functional/TC_*.mat`` is an InputError
        (``"error"``) or left out and listed in ``Timeseries.skipped`` (``"skip"``).

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
    skipped: dict[str, str] = {}  # subject -> the file it lacks (missing_subjects: skip)
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
            wanted = None if subjects == "all" else {str(s) for s in (
                [subjects] if isinstance(subjects, str | int) else subjects)}
            skipped = {
                folder.name: f"{folder.name}/functional/{_HCP_PATTERN}"
                for folder in folders
                if folder.is_dir() and folder.name not in found
                and (wanted is None or folder.name in wanted)
            }
            if skipped and missing_subjects != "skip":
                subject, pattern = next(iter(skipped.items()))
                raise InputError(
                    f"subject {subject} has no {pattern} file (subjects without files: "
                    f"{sorted(skipped)}); add the file, or set empirical.missing_subjects: "
                    "skip to leave them out",
                    source=os.fspath(root / subject),
                    field="empirical.missing_subjects",
                )
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
        skipped=skipped,
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


