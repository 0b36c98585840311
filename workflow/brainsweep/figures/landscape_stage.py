"""The landscape stage: a study's interactive score landscape (brainsweep.figures.interactive)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from brainsweep.bold.shards import read_bold_shard
from brainsweep.figures.interactive import landscape_data, write_landscape
from brainsweep.figures.plots import read_scores
from brainsweep.figures.stage import _shard_paths, validate_settings
from brainsweep.fit.stage import read_empirical
from brainsweep.io import provenance, write_sidecar
from brainsweep.study.checked import CheckedSettings


class Settings(CheckedSettings):
    """The ``figures:`` section: the metric the page opens on, the parameters' units."""

    @staticmethod
    def check(section):
        return validate_settings(section)


def run_stage(scores: str | os.PathLike, shards, empirical: str | os.PathLike,
              settings: Mapping[str, Any] | None, out: str | os.PathLike) -> Path:
    """Write the page ``out`` (and its provenance sidecar) from a study's fit and bold
    shards; every input is read and checked before anything is written."""
    options = validate_settings(settings)
    table = read_scores(scores)
    paths = _shard_paths(shards)
    fcs = {}
    for path in paths:
        data = read_bold_shard(path)
        for index, matrix in zip(data["sim_index"], data["fc"], strict=True):
            fcs[int(index)] = matrix
    emp = read_empirical(empirical)
    labels = [str(label) for label in emp["labels"]] if "labels" in emp else None
    data = landscape_data(table, fcs, emp["fc_group"], labels=labels, metric=options["metric"],
                          study=Path(scores).parent.name, units=options["units"],
                          axes=options["pairs"][0] if options["pairs"] else None)
    path = write_landscape(data, out)
    write_sidecar(path, provenance(
        inputs={"scores": scores, "empirical": empirical,
                **{f"bold_{k}": p for k, p in enumerate(paths)}},
        config=options, stage="landscape", fc_stored=data["fc_stored"]))
    return path


def run(settings: Settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Path:
    """The stage contract: scores, empirical, shards -> ``outputs["out"]``."""
    return run_stage(inputs["scores"], inputs["shards"], inputs["empirical"],
                     settings.as_dict(), outputs["out"])
