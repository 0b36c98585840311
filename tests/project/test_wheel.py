"""The wheel carries what the package reads at run time: the model files, the templates and
the study schema (links into the checkout's kernels/ and config/ must become files)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_holds_the_schema_models_and_templates(tmp_path: Path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, cwd=tmp_path,
                   capture_output=True)
    (wheel,) = tmp_path.glob("brainsweep-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        schema = archive.read("brainsweep/study/schema.yaml")
    assert schema == (ROOT / "config" / "schema.yaml").read_bytes()
    for model in (ROOT / "kernels" / "models").glob("*.yaml"):
        assert f"brainsweep/kernels/models/{model.name}" in names
    templates = {p.relative_to(ROOT).as_posix() for p in (ROOT / "kernels" / "templates")
                 .rglob("*") if p.is_file()}
    assert {f"brainsweep/{t}" for t in templates} <= names
