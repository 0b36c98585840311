"""A scores table as an HTML table: a unit under every column, diverged and best rows marked.

The columns are read generically: ``sim_index``, then whatever the fit stage writes
(parameters, flags such as ``diverged``, the metrics of :data:`brainsweep.fit.METRICS`,
per-subject ``fc_corr_<id>``, and columns added later such as a seed), so a new column shows
up without a change here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from brainsweep.fit.metrics import METRICS
from brainsweep.fit.units import METRIC_UNITS, column_unit
from brainsweep.report.html import escape, write_page

__all__ = ["METRIC_UNITS", "column_unit", "scores_table_html"]

# at most this many rows are written: beyond, a page is too long to read and too heavy to open
_MAX_ROWS = 5000


def _cell(value: object) -> tuple[str, str]:
    """(text, css class) of one cell: floats to 4 significant digits, NaN as a dash."""
    if isinstance(value, bool):
        return ("yes" if value else "no"), "text"
    if isinstance(value, float):
        if math.isnan(value):
            return "–", ""
        return f"{value:.4g}", ""
    if isinstance(value, int):
        return str(value), ""
    return escape(value), "text"


def scores_table_html(scores: str | os.PathLike, path: str | os.PathLike, *, title: str,
                      metric: str = "fc_corr", units: Mapping[str, str] | None = None) -> Path:
    """Write ``scores.csv`` as one HTML page; the best row by ``metric`` highlighted."""
    table = pd.read_csv(scores)
    diverged = (table["diverged"].astype(bool) if "diverged" in table
                else pd.Series(False, index=table.index))
    best = None
    if metric in table:
        values = pd.to_numeric(table[metric], errors="coerce").where(~diverged)
        if values.notna().any():
            best = values.idxmax() if METRICS.get(metric, True) else values.idxmin()
    header = "".join(
        f"<th>{escape(name)}<span class=\"unit\">{escape(column_unit(name, units)) or '&nbsp;'}"
        "</span></th>" for name in table.columns)
    rows = []
    for index, record in zip(table.index[:_MAX_ROWS], table.head(_MAX_ROWS).itertuples(
            index=False), strict=True):
        cells = []
        for value in record:
            text, css = _cell(value.item() if hasattr(value, "item") else value)
            cells.append(f"<td class=\"{css}\">{text}</td>" if css else f"<td>{text}</td>")
        css = "best" if index == best else "diverged" if diverged[index] else ""
        rows.append(f"<tr class=\"{css}\">{''.join(cells)}</tr>" if css
                    else f"<tr>{''.join(cells)}</tr>")
    shown = min(len(table), _MAX_ROWS)
    note = (f"<p class=\"note\">{len(table)} simulations, one a row"
            f"{f' (the first {shown} shown; all are in scores.csv)' if shown < len(table) else ''}"
            f". Highlighted: the best by {escape(metric)}; grey: diverged (their scores are "
            "NaN and never win).</p>")
    body = f"{note}\n<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n" + "\n".join(rows) \
        + "\n</tbody>\n</table>"
    return write_page(path, title, body)
