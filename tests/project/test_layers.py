"""The package's layers hold: `lint-imports` checks the contract in pyproject.toml
([tool.importlinter]) against every import in workflow/brainsweep, lazy ones inside functions
included (only imports under `if TYPE_CHECKING:` are left out)."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def test_no_layer_imports_one_above_it(repo_root):
    tool = shutil.which("lint-imports")
    if tool is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[test]' brings it")
    out = subprocess.run([tool, "--no-cache"], cwd=repo_root, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "1 kept, 0 broken" in out.stdout


def test_every_package_has_a_layer(repo_root):
    """A new package or module must be placed in the contract, or it would escape it."""
    import tomllib

    contract = tomllib.loads((repo_root / "pyproject.toml").read_text())["tool"]["importlinter"]
    listed = {name.strip().removeprefix("brainsweep.")
              for layer in contract["contracts"][0]["layers"] for name in layer.split("|")}
    package = repo_root / "workflow" / "brainsweep"
    present = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    present |= {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    assert present - listed == set(), f"not in any layer: {sorted(present - listed)}"
