"""The interactive score landscape: one self-contained HTML page per study.

The page holds the whole scores table, every stored simulation's FC (upper triangle) and the
empirical FC, plotly.js itself and a small script (``landscape.js`` beside this module) that
draws, with plotly, the landscape over any two swept parameters chosen from menus, the other
swept parameters either taken at their best or held at a value from a menu, for any metric;
diverged and degenerate cells are marked. Hovering a cell shows its parameters and score;
clicking it shows its parameters, every metric and per-subject score, and its simulated FC
beside the empirical FC. Nothing is fetched from the network: it opens offline, from the
Snakemake report or on its own.

The scores table is read generically: every column that is not the index, a flag, a score
or one of the fit's per-point summaries (:data:`SUMMARIES`: the realisations' counts, the
averaged dynamics columns such as ``mean_fc``, every spread ``std_<name>``) and takes more
than one value is a swept parameter; metric columns are those of
:data:`brainsweep.fit.METRICS` present plus the per-subject ``fc_corr_<id>``; boolean columns
other than ``diverged`` (``degenerate``, say) are flags shown on hover and, for
``degenerate``, marked on the landscape.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainsweep.bold.connectivity import upper_triangle
from brainsweep.errors import InputError
from brainsweep.figures.labels import axis_label, metric_label, unit_of
from brainsweep.fit.metrics import METRICS
from brainsweep.fit.points import AVERAGED
from brainsweep.io import atomic_path
from brainsweep.regions import hemisphere, hemisphere_order

__all__ = ["MAX_STORED_VALUES", "SUMMARIES", "landscape_data", "write_landscape"]

#: Columns of the fit's tables that describe a point's simulations rather than place it on the
#: grid (brainsweep.fit.points): they vary from point to point but are never swept; neither
#: is any ``std_<name>`` spread.
SUMMARIES = frozenset({"point", "realisation", "realisations", "n_diverged", "n_degenerate",
                       *AVERAGED})

# FC values the page stores at most (about 6 bytes each as JSON): beyond, only the best
# simulations by the chosen metric keep their FC, and the page says so when another is clicked
MAX_STORED_VALUES = 4_000_000
_SCRIPT = Path(__file__).with_name("landscape.js")


def _is_flag(column: pd.Series) -> bool:
    values = column.dropna().unique()
    return column.dtype == bool or (len(values) > 0 and set(map(str, values)) <= {
        "True", "False"})


def _columns(table: pd.DataFrame) -> dict[str, list[str]]:
    """The scores table's columns by role: swept, metrics, subjects, flags, other."""
    metrics = [name for name in METRICS if name in table]
    subjects = [name for name in table.columns if str(name).startswith("fc_corr_")]
    flags = [name for name in table.columns if name not in (*metrics, *subjects)
             and name != "sim_index" and _is_flag(table[name])]
    rest = [name for name in table.columns
            if name not in ("sim_index", *metrics, *subjects, *flags)]
    summaries = {name for name in rest
                 if name in SUMMARIES or str(name).startswith("std_")}
    numeric = [name for name in rest if pd.api.types.is_numeric_dtype(table[name])
               and name not in summaries]
    swept = [name for name in numeric if table[name].nunique(dropna=True) > 1]
    other = [name for name in rest if name not in swept]
    return {"swept": swept, "metrics": metrics, "subjects": subjects, "flags": flags,
            "other": other}


def _as_list(values: Sequence[Any]) -> list[Any]:
    """JSON-ready values: NaN as null, numpy scalars as Python ones."""
    out = []
    for value in values:
        if isinstance(value, float | np.floating):
            out.append(None if not np.isfinite(value) else float(value))
        elif isinstance(value, np.integer):
            out.append(int(value))
        elif isinstance(value, np.bool_):
            out.append(bool(value))
        else:
            out.append(value)
    return out


def landscape_data(table: pd.DataFrame, fcs: Mapping[int, np.ndarray], emp_fc: np.ndarray,
                   *, labels: Sequence[str] | None, metric: str, study: str,
                   units: Mapping[str, str] | None = None,
                   axes: Sequence[str] | None = None) -> dict[str, Any]:
    """Everything the page draws, as JSON-ready data (see the module description).

    ``fcs`` maps a simulation's ``sim_index`` to its FC; ``metric`` is the one the page opens
    on and the one that picks which simulations keep their FC when not all can; ``axes``
    the ``[x, y]`` it opens on (default: the first two swept parameters).
    """
    if "sim_index" not in table:
        raise InputError("expected a sim_index column", field="sim_index")
    roles = _columns(table)
    if metric not in roles["metrics"]:
        raise InputError(f"no metric column {metric!r}; found {roles['metrics']}",
                         field="figures.metric")
    emp = np.asarray(emp_fc, dtype=float)
    n = emp.shape[0]
    names = [str(label) for label in labels] if labels is not None else [
        f"region-{i:03d}" for i in range(n)]
    if len(names) != n:
        raise InputError(f"{len(names)} region labels for {n} regions", field="labels")
    order = hemisphere_order(names)
    diverged = (table["diverged"].astype(bool) if "diverged" in table
                else pd.Series(False, index=table.index))
    # which simulations keep their FC: all if they fit, else the best by the metric
    pairs = n * (n - 1) // 2
    keep = max(1, MAX_STORED_VALUES // max(pairs, 1))
    scores = pd.to_numeric(table[metric], errors="coerce").where(~diverged)
    ranked = scores.sort_values(ascending=not METRICS[metric], na_position="last")
    stored = set(table.loc[ranked.index[:keep], "sim_index"].astype(int))
    fc = {}
    for index, matrix in fcs.items():
        if int(index) in stored:
            upper = upper_triangle(np.asarray(matrix, dtype=float)[np.ix_(order, order)])
            # three decimals: finer than any FC difference the eye can see on the page
            fc[str(int(index))] = [None if not np.isfinite(v) else round(float(v), 3)
                                   for v in upper]
    columns = {str(name): _as_list(table[name].tolist()) for name in table.columns}
    opening = [name for name in (axes or []) if name in roles["swept"]][:2]
    opening += [name for name in roles["swept"] if name not in opening][:2 - len(opening)]
    return {
        "study": study,
        "metric": metric,
        "roles": roles,
        "axes": opening,
        "columns": columns,
        "higher_is_better": {name: bool(METRICS[name]) for name in roles["metrics"]}
        | {name: True for name in roles["subjects"]},
        "metric_labels": {name: metric_label(name)
                          for name in (*roles["metrics"], *roles["subjects"])},
        "axis_labels": {name: axis_label(name, units) for name in roles["swept"]},
        "units": {name: unit_of(name, units) for name in roles["swept"]},
        "regions": [names[i] for i in order],
        # where the right hemisphere starts in that order (None: no hemispheres known)
        "hemisphere_break": _hemisphere_break([names[i] for i in order]),
        "empirical_fc": [round(float(v), 3) for v in upper_triangle(emp[np.ix_(order, order)])],
        "fc": fc,
        "fc_stored": len(fc),
        "n_simulations": int(len(table)),
    }


def _hemisphere_break(ordered: Sequence[str]) -> int | None:
    sides = [hemisphere(name) for name in ordered]
    if "left" in sides and "right" in sides:
        return sides.index("right")
    return None


def write_landscape(data: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write the page: plotly.js, the data and the landscape script, inline, atomically."""
    from plotly.offline import get_plotlyjs

    title = f"Score landscape of study {data['study']}"
    # the data goes into a JSON script element, never into code: "</" is escaped so that no
    # value can close the element
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0.8em; color: #222; }}
h1 {{ font-size: 1.2em; margin: 0 0 0.4em 0; }}
#controls {{ display: flex; flex-wrap: wrap; gap: 0.4em 1.2em; margin-bottom: 0.4em; }}
#controls label {{ font-size: 0.9em; }}
#main {{ display: flex; flex-wrap: wrap; gap: 0.5em; align-items: flex-start; }}
#landscape {{ width: 560px; height: 480px; }}
#fc {{ width: 860px; height: 440px; }}
#details {{ font-size: 0.85em; max-width: 1420px; }}
#details table {{ border-collapse: collapse; margin-top: 0.3em; }}
#details td, #details th {{ border: 1px solid #ccc; padding: 0.1em 0.4em; text-align: right; }}
p.note {{ color: #555; font-size: 0.85em; max-width: 80em; }}
</style>
<script>{get_plotlyjs()}</script>
</head>
<body>
<h1>{title}</h1>
<p class="note">Choose the axes, the metric and what to do with the other swept parameters;
hover a cell for its parameters and score, click it to see that simulation's FC beside the
empirical FC and all its scores. &times; marks a cell where every simulation diverged,
&#9675; one whose simulation is flagged degenerate. FC matrices are drawn left hemisphere first,
then right.</p>
<div id="controls"></div>
<div id="main"><div id="landscape"></div><div id="fc"></div></div>
<div id="details"></div>
<script type="application/json" id="landscape-data">{payload}</script>
<script>{_SCRIPT.read_text()}</script>
</body>
</html>
"""
    target = Path(path)
    with atomic_path(target) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return target
