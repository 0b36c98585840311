"""Style and workflow lint, so that the README's one test command checks what CI checks.

ruff (the rules in pyproject.toml), snakefmt on the Snakefile and rules, and `snakemake
--lint` of the default study: each exits non-zero when anything is flagged, and the test
shows what was.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

CHECKS = {
    "ruff": ["ruff", "check", "."],
    "snakefmt": ["snakefmt", "--check", "."],
    "snakemake-lint": ["snakemake", "--lint"],
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_style_check_passes(name, repo_root):
    command = CHECKS[name]
    if shutil.which(command[0]) is None:
        pytest.fail(f"{command[0]} is not installed: pip install -e '.[test]' brings it")
    out = subprocess.run(command, cwd=repo_root, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"{' '.join(command)} flagged:\n{out.stdout}\n{out.stderr}"
