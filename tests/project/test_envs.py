"""envs/{cpu,cuda,opencl}.yaml (for `snakemake --sdm conda`) agree with pyproject.toml.

Each env pins every package exactly; each pin must satisfy pyproject's range for that
package, the three envs must pin shared packages alike, and each env holds exactly the
optional dependencies of its target, so that `pip install -e ../` inside the env finds every
requirement already met and fetches nothing unpinned.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
ENVS = {name: ROOT / "envs" / f"{name}.yaml" for name in ("cpu", "cuda", "opencl")}
# conda-forge names of PyPI packages where the two differ
CONDA_NAME = {"matplotlib": "matplotlib-base", "snakemake": "snakemake-minimal"}
# not Python packages, so not in pyproject; pinned by their own scheme
NON_PYTHON = {"python", "pip", "cuda-nvcc", "pocl"}
TARGET_EXTRAS = {"cpu": (), "cuda": ("cuda",), "opencl": ("opencl",)}
EXACT_PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)=(?P<version>\d[\w.]*)$")


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def conda_pins(env: str) -> dict[str, str]:
    """name -> pinned version of an env's conda packages (pip, unpinned, maps to '')."""
    pins = {}
    for item in yaml.safe_load(ENVS[env].read_text())["dependencies"]:
        if isinstance(item, dict):  # the pip: section
            continue
        match = EXACT_PIN.match(item.split("#")[0].strip())
        pins[match["name"] if match else item] = match["version"] if match else ""
    return pins


def required(env: str) -> list[Requirement]:
    """pyproject's requirements that apply to an env: the base ones and its target's extra."""
    project = pyproject()
    texts = list(project["dependencies"])
    for extra in TARGET_EXTRAS[env]:
        texts += project["optional-dependencies"][extra]
    return [Requirement(text) for text in texts]


@pytest.mark.parametrize("env", sorted(ENVS))
def test_every_conda_package_is_pinned_exactly(env):
    for name, version in conda_pins(env).items():
        if name not in ("pip", "python", "cuda-nvcc"):
            assert version and Version(version), f"{env}.yaml: {name} is not pinned (name=X.Y)"


@pytest.mark.parametrize("env", sorted(ENVS))
def test_pins_satisfy_pyproject(env):
    pins = conda_pins(env)
    python = Version(pins["python"] + ".0")
    assert python in SpecifierSet(pyproject()["requires-python"]), f"{env}.yaml: python"
    for requirement in required(env):
        name = CONDA_NAME.get(canonicalize_name(requirement.name), requirement.name)
        assert name in pins, f"{env}.yaml lacks {name} ({requirement})"
        assert Version(pins[name]) in requirement.specifier, (
            f"{env}.yaml pins {name}={pins[name]}, pyproject.toml asks {requirement}")
    assert "pygments" in pins, f"{env}.yaml: snakemake[reports] needs pygments"


@pytest.mark.parametrize("env", sorted(ENVS))
def test_env_holds_nothing_pyproject_does_not_ask_for(env):
    asked = {CONDA_NAME.get(canonicalize_name(r.name), canonicalize_name(r.name))
             for r in required(env)}
    extra = set(conda_pins(env)) - asked - NON_PYTHON - {"pygments"}
    assert not extra, f"{env}.yaml has {sorted(extra)}, which pyproject.toml does not name"


def test_envs_pin_shared_packages_alike_and_each_has_its_target():
    pins = {env: conda_pins(env) for env in ENVS}
    for name in set(pins["cpu"]) & set(pins["cuda"]) & set(pins["opencl"]):
        assert pins["cpu"][name] == pins["cuda"][name] == pins["opencl"][name], name
    assert "pycuda" in pins["cuda"] and "cuda-nvcc" in pins["cuda"]
    assert "pyopencl" in pins["opencl"] and "pocl" in pins["opencl"]
    assert not {"pycuda", "pyopencl"} & set(pins["cpu"])


@pytest.mark.parametrize("env", sorted(ENVS))
def test_env_installs_brainsweep_from_the_checkout(env):
    spec = yaml.safe_load(ENVS[env].read_text())
    (pip,) = [item["pip"] for item in spec["dependencies"] if isinstance(item, dict)]
    assert pip == ["-e ../"]
    # relative to the env file, as conda reads it
    assert (ENVS[env].parent / "../pyproject.toml").resolve() == ROOT / "pyproject.toml"
