"""The bold stage: simulated BOLD shard → post-processed FC (and FCD) per simulation."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from brainsweep.bold.connectivity import fc, fcd, fcd_values, fcd_windows
from brainsweep.bold.dynamics import SEGMENT_S, bold_spread, global_step
from brainsweep.bold.filters import postprocess, transient_samples
from brainsweep.bold.settings import validate_postprocess
from brainsweep.bold.shards import read_sim_shard
from brainsweep.errors import InputError
from brainsweep.io import provenance, save_npz
from brainsweep.study.checked import CheckedSettings

__all__ = ["run_stage"]


def run_stage(
    shard: str | os.PathLike, settings: Mapping[str, Any] | None, out: str | os.PathLike
) -> Path:
    """Post-process one simulation shard and write its FC (and FCD values).

    Parameters
    ----------
    shard
        A simulation shard ``results/sims/{study}/shard-{i}.npz`` (see
        :func:`brainsweep.bold.shards.read_sim_shard`).
    settings
        The ``bold:`` config mapping (see :func:`brainsweep.bold.settings.validate_postprocess`).
    out
        The output ``.npz`` path, written atomically with a JSON provenance sidecar.

    Returns
    -------
    pathlib.Path
        ``out``. It holds ``param_names``, ``param_values``, ``sim_index``, ``diverged``,
        ``fc`` (S, N, N) float32, ``tr``, ``n_samples`` (samples after the transient),
        ``postprocess_json`` (the validated settings), ``bold_std`` and ``global_step`` (S,)
        float64 (:mod:`brainsweep.bold.dynamics`: the median regional standard deviation and
        the largest move of the global signal between 60 s segments, both of the kept BOLD
        before filtering; NaN for a diverged simulation), the shard's ``region_labels`` and
        noise ``seed`` when it has them and, when ``settings["fcd"]`` is
        set, ``fcd_values`` (S, M) float32, the strict upper triangle of each FCD matrix.

    Notes
    -----
    A simulation flagged diverged, or whose BOLD holds a non-finite value, gets NaN FC/FCD
    and ``diverged = True`` (the sidecar counts the latter as ``n_nonfinite_bold``). A node
    whose BOLD is flat gives NaN in that node's FC row, so the simulation cannot be scored.
    """
    started = time.perf_counter()
    options = validate_postprocess(settings, prefix="bold")
    data = read_sim_shard(shard)
    tr = data["bold_period_s"]
    bold = data["bold"]
    n_sims, n_time, n_nodes = bold.shape
    diverged = data["diverged"].copy()
    fcd_options = options["fcd"]
    filter_options = {
        key: options[key] for key in ("transient_s", "detrend", "bandpass", "zscore", "gsr")
    }

    matrices = np.full((n_sims, n_nodes, n_nodes), np.nan, dtype=np.float32)
    spread = np.full(n_sims, np.nan)
    step = np.full(n_sims, np.nan)
    fcd_rows: np.ndarray | None = None
    n_nonfinite = 0
    n_samples = None
    try:
        for i in range(n_sims):
            if diverged[i]:
                continue
            series = bold[i]
            if not np.isfinite(series).all():
                diverged[i] = True
                n_nonfinite += 1
                continue
            clean = postprocess(series, tr=tr, **filter_options)
            spread[i] = bold_spread(series, tr=tr, transient_s=options["transient_s"])
            step[i] = global_step(series, tr=tr, transient_s=options["transient_s"],
                                  segment_s=SEGMENT_S)
            n_samples = clean.shape[0]
            matrices[i] = fc(clean)
            if fcd_options is not None:
                values = fcd_values(fcd(clean, tr=tr, **fcd_options))
                if fcd_rows is None:
                    fcd_rows = np.full((n_sims, values.size), np.nan, dtype=np.float32)
                fcd_rows[i] = values
    except InputError as error:
        # post-processing errors concern the shard's length or TR against the settings:
        # name the shard and the config key instead of the function argument
        message = str(error)
        if error.field and error.source is None:
            message = message.removeprefix(f"[{error.field}]: ")
        raise InputError(
            message, source=os.fspath(shard), field=f"bold.{error.field}" if error.field else None
        ) from error

    if fcd_options is not None and fcd_rows is None:
        # every simulation diverged: the FCD size follows from the lengths alone
        kept = n_time - transient_samples(options["transient_s"], tr)
        n_windows = fcd_windows(kept, tr=tr, **fcd_options).size
        n_values = n_windows * (n_windows - 1) // 2
        fcd_rows = np.full((n_sims, n_values), np.nan, dtype=np.float32)

    arrays: dict[str, Any] = {
        "param_names": data["param_names"],
        "param_values": data["param_values"],
        "sim_index": data["sim_index"],
        "diverged": diverged,
        "fc": matrices,
        "tr": np.float64(tr),
        "n_samples": np.int64(-1 if n_samples is None else n_samples),
        "postprocess_json": np.array(json.dumps(options, sort_keys=True)),
        "bold_std": spread,
        "global_step": step,
    }
    if "region_labels" in data:  # FC rows and columns are these regions
        arrays["region_labels"] = data["region_labels"]
    if "seed" in data:  # the noise seed, for the fit's tables (shards since it was recorded)
        arrays["seed"] = data["seed"]
    if fcd_rows is not None:
        arrays["fcd_values"] = fcd_rows
    record = provenance(
        inputs={"shard": shard},
        config=dict(options),
        stage="bold",
        n_simulations=int(n_sims),
        n_diverged=int(diverged.sum()),
        n_nonfinite_bold=n_nonfinite,
        n_nan_fc=int((~diverged & np.isnan(matrices).any(axis=(1, 2))).sum()),
        seconds=round(time.perf_counter() - started, 3),
    )
    return save_npz(out, arrays, record)


class Settings(CheckedSettings):
    """The bold stage's settings: the ``bold:`` section, checked with the schema's defaults."""

    @staticmethod
    def check(section):
        return validate_postprocess(section)


def run(settings: Settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Path:
    """The stage contract: ``inputs["shard"]`` -> ``outputs["out"]``."""
    return run_stage(inputs["shard"], settings.as_dict(), outputs["out"])
