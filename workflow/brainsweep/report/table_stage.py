"""The scores-table stage: ``scores.csv`` as an HTML table for the report."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from brainsweep.errors import InputError
from brainsweep.figures.stage import validate_settings
from brainsweep.io import provenance, write_sidecar
from brainsweep.report.tables import scores_table_html
from brainsweep.study.checked import CheckedSettings


class Settings(CheckedSettings):
    """The ``figures:`` section: its metric picks the highlighted row, its units head the
    parameter columns."""

    @staticmethod
    def check(section):
        return validate_settings(section)


def run(settings: Settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Path:
    scores = inputs["scores"]
    if not Path(scores).is_file():
        raise InputError("file not found", source=os.fspath(scores))
    study = Path(scores).parent.name
    path = scores_table_html(scores, outputs["out"], title=f"Scores of study {study}",
                             metric=settings["metric"], units=settings["units"])
    write_sidecar(path, provenance(inputs={"scores": scores}, config=settings.as_dict(),
                                   stage="table"))
    return path
