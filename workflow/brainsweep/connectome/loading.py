"""``load``: one entry point that infers the format and hands over to the right reader."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from brainsweep.errors import InputError

from .checks import check_labels
from .labels import read_labels
from .model import Connectome
from .read_hcp import is_hcp_folder, read_hcp
from .read_matrix import MATRIX_SUFFIXES, read_matrix
from .read_tractography import NIFTI_SUFFIXES, STREAMLINE_SUFFIXES, read_tractography
from .read_tvb import read_tvb_zip

__all__ = ["FORMATS", "infer_format", "load"]

FORMATS = ("hcp", "tvb-zip", "matrix", "tractography")

Source = str | os.PathLike | Mapping[str, str | os.PathLike]


def _has_suffix(path: Path, suffixes: Sequence[str]) -> bool:
    name = path.name.lower()
    return any(name.endswith(suffix) for suffix in suffixes)


def _files_with(folder: Path, suffixes: Sequence[str]) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and _has_suffix(p, suffixes))


def infer_format(source: Source) -> str:
    """The format of ``source``: one of :data:`FORMATS`.

    A mapping with ``streamlines`` is tractography and one with ``weights`` is matrices; a
    ``.zip`` is a TVB connectivity; a folder with ``DTI_CM.mat`` (or ``subjects/``) is HCP; a
    folder with ``weights.*`` is matrices; a folder with one NIfTI and one ``.trk``/``.tck``
    is tractography.
    """
    if isinstance(source, Mapping):
        if "streamlines" in source:
            return "tractography"
        if "weights" in source:
            return "matrix"
        raise InputError("a source mapping needs 'weights' (matrices) or 'streamlines' and "
                         f"'parcellation' (tractography); got {sorted(source)}",
                         field="connectome.source")
    path = Path(source)
    if not path.exists():
        raise InputError("no such file or folder", source=os.fspath(path),
                         field="connectome.source")
    if path.is_dir():
        if is_hcp_folder(path):
            return "hcp"
        if _files_with(path, [f"weights{s}" for s in MATRIX_SUFFIXES]):
            return "matrix"
        if _files_with(path, STREAMLINE_SUFFIXES) and _files_with(path, NIFTI_SUFFIXES):
            return "tractography"
        raise InputError("cannot tell the format of this folder: expected HCP subjects "
                         "(DTI_CM.mat), weights.* matrices, or a NIfTI parcellation with "
                         ".trk/.tck streamlines", source=os.fspath(path),
                         field="connectome.format")
    if _has_suffix(path, (".zip",)):
        return "tvb-zip"
    if _has_suffix(path, STREAMLINE_SUFFIXES):
        return "tractography"
    if _has_suffix(path, MATRIX_SUFFIXES):
        return "matrix"
    raise InputError(f"cannot tell the format from the name; give format as one of {FORMATS}",
                     source=os.fspath(path), field="connectome.format")


def _tractography_inputs(source: Source, parcellation: str | os.PathLike | None
                         ) -> tuple[Path, Path]:
    if isinstance(source, Mapping):
        if "parcellation" not in source:
            raise InputError("tractography needs 'parcellation' beside 'streamlines'",
                             field="connectome.source")
        return Path(source["streamlines"]), Path(source["parcellation"])
    path = Path(source)
    if path.is_dir():
        streamlines = _files_with(path, STREAMLINE_SUFFIXES)
        niftis = _files_with(path, NIFTI_SUFFIXES)
        if len(streamlines) != 1 or (parcellation is None and len(niftis) != 1):
            raise InputError(
                f"expected one .trk/.tck file and one NIfTI parcellation in the folder, found "
                f"{[p.name for p in streamlines + niftis]}", source=os.fspath(path),
                field="connectome.source",
            )
        return streamlines[0], Path(parcellation) if parcellation else niftis[0]
    if parcellation is None:
        raise InputError("streamlines need a parcellation (parcellation=...)",
                         source=os.fspath(path), field="parcellation")
    return path, Path(parcellation)


def load(
    source: Source,
    fmt: str | None = None,
    *,
    subjects: Sequence[str] | None = None,
    labels: str | os.PathLike | None = None,
    lengths: str | os.PathLike | None = None,
    parcellation: str | os.PathLike | None = None,
    missing_subjects: str = "error",
) -> Connectome:
    """Load a structural connectome from any supported source.

    Parameters
    ----------
    source
        A path (TVB ``.zip``; HCP study or subject folder; matrix file or folder; ``.trk`` /
        ``.tck``; folder with a parcellation and streamlines) or a mapping
        ``{"weights": ..., "lengths": ...}`` or ``{"streamlines": ..., "parcellation": ...}``.
    fmt
        ``"hcp"``, ``"tvb-zip"``, ``"matrix"`` or ``"tractography"``; None or ``"auto"``
        infers it (see :func:`infer_format`).
    subjects
        HCP only: subject ids to read (default all).
    missing_subjects
        HCP only: ``"error"`` (a subject folder without its files is an error) or
        ``"skip"`` (left out, listed in the load step).
    labels
        A labels file (one name per line, or ``name x y z``) replacing the source's labels.
    lengths
        Matrix only: the tract-lengths file beside a weights file.
    parcellation
        Tractography only: the NIfTI label volume.

    Returns
    -------
    Connectome
        Its first step records the reader and what it found.

    Examples
    --------
    >>> from brainsweep import connectome
    >>> conn = connectome.load("resources/tvb-connectivity/connectivity_68.zip")  # doctest: +SKIP
    >>> conn.weights.shape  # doctest: +SKIP
    (68, 68)
    """
    if fmt in (None, "auto"):
        fmt = infer_format(source)
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; expected 'auto' or one of {FORMATS}",
                         field="connectome.format")
    if subjects is not None and fmt != "hcp":
        raise InputError(f"a subject list applies to HCP folders, not to {fmt!r}",
                         field="connectome.subjects")
    if isinstance(source, Mapping) and fmt not in ("matrix", "tractography"):
        raise InputError(f"a source mapping applies to matrices or tractography, not {fmt!r}",
                         field="connectome.source")
    if fmt == "tractography":
        streamlines, parc = _tractography_inputs(source, parcellation)
        return read_tractography(streamlines, parcellation=parc, labels=labels)
    if fmt == "matrix":
        if isinstance(source, Mapping):
            lengths = source.get("lengths", lengths)
            labels = source.get("labels", labels)
            source = source["weights"]
        return read_matrix(source, lengths=lengths, labels=labels)
    if not Path(source).exists():
        raise InputError("no such file or folder", source=os.fspath(source),
                         field="connectome.source")
    conn = (read_hcp(source, subjects=subjects, missing_subjects=missing_subjects)
            if fmt == "hcp" else read_tvb_zip(source))
    if labels is not None:
        names, centres = read_labels(labels)
        names = check_labels(names, conn.n_regions, source=labels)
        conn = conn.with_step(
            {"step": "labels", "path": os.fspath(labels), "centres": centres is not None},
            labels=names,
            centres=centres if centres is not None else conn.centres,
            sources=(*conn.sources, os.fspath(labels)),
        )
    return conn
