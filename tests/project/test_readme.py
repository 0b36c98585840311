"""The README's Python code blocks run as printed, from the checkout's root."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_the_readme_has_python_blocks():
    assert BLOCKS, "README.md lost its Python API example"


@pytest.mark.slow
@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_readme_python_block_runs(number, monkeypatch):
    monkeypatch.chdir(ROOT)  # the blocks name resources/ relative to the checkout
    namespace: dict = {"__name__": f"readme_block_{number}"}
    exec(compile(BLOCKS[number], f"README.md python block {number + 1}", "exec"), namespace)
