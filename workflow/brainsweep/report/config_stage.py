"""The study-config stage: the resolved configuration as YAML and as a report page."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from brainsweep.io import provenance, write_sidecar
from brainsweep.report.config_page import write_config
from brainsweep.study.checked import CheckedSettings
from brainsweep.study.schema import fill_defaults, schema_path, validate_config


class Settings(CheckedSettings):
    """A whole study config, checked against config/schema.yaml, defaults filled in."""

    @staticmethod
    def check(section):
        validate_config(section)
        return fill_defaults(section)


def run(settings: Settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]
        ) -> list[Path]:
    """``outputs["out"]`` (YAML) and, if given, ``outputs["page"]`` (HTML)."""
    config = {key: settings[key] for key in settings.values}  # defaults filled in
    written = write_config(config, outputs["out"], outputs.get("page"))
    for path in written:
        # the defaults filled in come from the schema: the one file the output derives from
        write_sidecar(path, provenance(inputs={"schema": schema_path()}, config=config,
                                       stage="study-config"))
    return written
