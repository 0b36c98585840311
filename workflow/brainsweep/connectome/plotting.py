"""A one-page figure of a connectome: weights, tract lengths, node strengths."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from brainsweep import io
from brainsweep.regions import hemisphere, hemisphere_order

from .model import Connectome

__all__ = ["plot", "skipped_note"]


def skipped_note(conn: Connectome) -> str | None:
    """The figure's note of subjects left out (``connectome.missing_subjects: skip``), so the
    study's report shows them beside the connectome; None when none was."""
    skipped = {}
    for step in conn.steps:
        skipped.update(step.get("skipped_subjects") or {})
    if not skipped:
        return None
    return (f"{len(skipped)} subject(s) skipped for missing files "
            f"(connectome.missing_subjects: skip): {', '.join(sorted(skipped))}")


def plot(conn: Connectome, path: str | os.PathLike) -> Path:
    """Write a figure of ``conn`` to ``path`` (format from the suffix), atomically.

    Panels: the weight matrix on a log colour scale (rows are targets, columns sources;
    regions ordered left hemisphere, then right, when their names say which, with a line
    between), the histogram of tract lengths of existing connections, and the distribution
    of node strengths (weighted in- and out-degree; the binary density and mean binary degree
    in its title). A stack is shown as its subject mean. Subjects skipped for missing files are
    named above the panels (:func:`skipped_note`).

    Parameters
    ----------
    conn
        The connectome to draw.
    path
        Output image, e.g. ``results/connectome/hcp.png``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")  # no display on cluster nodes; must precede pyplot
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    weights = np.asarray(conn.weights)
    lengths = np.asarray(conn.lengths)
    if conn.is_stack:
        weights, lengths = weights.mean(axis=0), lengths.mean(axis=0)
    exists = weights > 0
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), constrained_layout=True)
    try:
        ax = axes[0]
        if exists.any():
            # zeros have no logarithm: leave them blank instead of clipping to the minimum
            order = hemisphere_order(conn.labels)
            shown = np.ma.masked_where(~exists, weights)[np.ix_(order, order)]
            image = ax.imshow(shown, cmap="viridis", interpolation="nearest",
                              norm=LogNorm(vmin=weights[exists].min(), vmax=weights.max()))
            fig.colorbar(image, ax=ax, label="weight (log scale)")
            sides = [hemisphere(conn.labels[i]) for i in order]
            for k in range(1, len(sides)):
                if sides[k] != sides[k - 1]:
                    ax.axhline(k - 0.5, color="white", linewidth=0.8)
                    ax.axvline(k - 0.5, color="white", linewidth=0.8)
            if any(side is not None for side in sides):
                ax.set_xlabel("source region (left hemisphere, then right)")
                ax.set_ylabel("target region (left, then right)")
            else:
                ax.set_xlabel("source region (index)")
                ax.set_ylabel("target region (index)")
        ax.set_title(f"weights ({conn.n_regions} regions)")

        ax = axes[1]
        ax.hist(lengths[exists], bins=40, color="tab:blue")
        ax.set_title("tract lengths of existing connections")
        ax.set_xlabel("length (mm)")
        ax.set_ylabel("connections")

        ax = axes[2]
        # weighted degree (strength): binary degree says nothing for dense probabilistic
        # tractography (every region reaches every other), so it goes in the title only
        in_strength = weights.sum(axis=1)
        out_strength = weights.sum(axis=0)
        ax.hist([in_strength, out_strength], bins=20, label=["in (row sum)", "out (column sum)"])
        density = exists[~np.eye(conn.n_regions, dtype=bool)].mean()
        ax.set_title(f"node strength distribution\n(binary density {density:.0%}, "
                     f"mean binary degree {exists.sum(axis=1).mean():.1f})")
        ax.set_xlabel("node strength (sum of weights)")
        ax.set_ylabel("regions")
        ax.legend()
        note = skipped_note(conn)
        if note:
            fig.suptitle(note, color="tab:red")
        with io.atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, format=Path(path).suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return Path(path)
