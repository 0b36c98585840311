"""Canonical checksums of a study's deterministic CPU outputs, and tests of them.

`.npz` files are zip archives that carry their write time, so two identical results never have
the same file hash. These checksums hash the arrays instead (dtype, shape and bytes), and the
per-simulation arrays one simulation at a time, keyed by the global simulation index: a study
split into any number of shards has the same checksums. `tests/checksums.sha256` holds them
for the tiny study; `test_reproducibility.py` and `test_faults.py` compare fresh runs to it.

Regenerate the file from a finished tiny run (for example after a deliberate change of the
numerics) with::

    python tests/workflow/test_reproducibility_checksums.py WORKDIR > tests/checksums.sha256
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping
from pathlib import Path

import numba
import numpy as np

__all__ = ["array_digest", "compare_checksums", "read_checksums", "study_checksums"]

CHECKSUMS = Path(__file__).resolve().parents[1] / "checksums.sha256"
STUDY = "tiny"
CONNECTOME = "hcp-aal2-cortical"
EMPIRICAL = "hcp-aal2-rest1"
# arrays with one row per simulation, by stage; the rest of a shard is shard-wide
PER_SIMULATION = {"sims": ("param_values", "bold", "diverged"),
                  "bold": ("param_values", "fc", "fcd_values", "diverged", "bold_std",
                           "global_step")}


def array_digest(array: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and C-order bytes (independent of how it was stored)."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def _shard_checksums(folder: Path, stage: str) -> dict[str, str]:
    sums: dict[str, str] = {}
    shards = sorted(folder.glob("shard-*.npz"))
    if not shards:
        raise FileNotFoundError(f"no shards in {folder}")
    for path in shards:
        with np.load(path, allow_pickle=False) as shard:
            for row, sim in enumerate(shard["sim_index"]):
                for name in PER_SIMULATION[stage]:
                    sums[f"{stage}/sim-{int(sim)}:{name}"] = array_digest(shard[name][row])
    return sums


def study_checksums(work: Path, study: str = STUDY) -> dict[str, str]:
    """Checksums of the tiny study's deterministic outputs under ``work/results``."""
    results = Path(work) / "results"
    sums: dict[str, str] = {}
    for stage, name in (("connectome", CONNECTOME), ("empirical", EMPIRICAL)):
        # each study's own connectome and empirical FC (results/<stage>/<study>/<name>.npz)
        with np.load(results / stage / study / f"{name}.npz", allow_pickle=False) as data:
            for key in data.files:
                sums[f"{stage}/{name}:{key}"] = array_digest(data[key])
    for stage in PER_SIMULATION:
        sums.update(_shard_checksums(results / stage / study, stage))
    fit = results / "fit" / study
    # the fit outputs are file hashes: the fit stage sorts the simulations by global index
    # and reduces each one alone, so not even the last bit of best.json's full-precision
    # floats depends on how the grid was split into shards
    for name in ("scores.csv", "realisations.csv", "best.json"):
        sums[f"fit/{name}"] = hashlib.sha256((fit / name).read_bytes()).hexdigest()
    return dict(sorted(sums.items()))


def read_checksums(path: Path = CHECKSUMS) -> dict[str, str]:
    """`<sha256>  <key>` lines; `#` starts a comment."""
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, key = line.split(maxsplit=1)
            sums[key] = digest
    return sums


def compare_checksums(found: Mapping[str, str], expected: Mapping[str, str]) -> list[str]:
    """What differs, one line per key; empty when the two agree."""
    return ([f"missing: {key}" for key in sorted(set(expected) - set(found))]
            + [f"unexpected: {key}" for key in sorted(set(found) - set(expected))]
            + [f"differs: {key}" for key in sorted(set(found) & set(expected))
               if found[key] != expected[key]])


def mismatch_message(problems: list[str]) -> str:
    return ("outputs differ from tests/checksums.sha256 (recorded with numba "
            f"{recorded_versions().get('numba')}, running numba {numba.__version__}; after a "
            "deliberate change of the numerics regenerate the file, see "
            "tests/workflow/test_reproducibility_checksums.py):\n" + "\n".join(problems[:40]))


def recorded_versions(path: Path = CHECKSUMS) -> dict[str, str]:
    """The `# versions: name=version ...` line of the checksum file."""
    for line in path.read_text().splitlines():
        if line.startswith("# versions:"):
            return dict(item.split("=", 1) for item in line.split(":", 1)[1].split())
    return {}


def _write(work: Path) -> None:
    print("# Canonical checksums of the tiny study's deterministic CPU outputs")
    print("# (config/studies/tiny.yaml, target numba). Not file hashes: see")
    print("# tests/workflow/test_reproducibility_checksums.py for what each line hashes and how")
    print("# to regenerate them.")
    print(f"# versions: numpy={np.__version__} numba={numba.__version__}")
    for key, digest in study_checksums(work).items():
        print(f"{digest}  {key}")


# ---- tests of the checksums themselves (fast: no workflow run) ----------------------------

def _write_shards(folder: Path, bold: np.ndarray, shard_sizes: list[int], writer) -> None:
    folder.mkdir(parents=True)
    start = 0
    for index, size in enumerate(shard_sizes):
        rows = np.arange(start, start + size)
        writer(folder / f"shard-{index}.npz", sim_index=rows, bold=bold[rows],
               param_values=np.stack([rows * 0.5, rows + 1.0], axis=1),
               diverged=np.isnan(bold[rows]).any(axis=(1, 2)))
        start += size


def test_array_digest_sees_the_last_bit_and_ignores_the_container(tmp_path):
    values = np.random.default_rng(7).standard_normal((5, 3)).astype(np.float32)
    np.savez(tmp_path / "plain.npz", x=values)
    np.savez_compressed(tmp_path / "packed.npz", x=values)
    assert (tmp_path / "plain.npz").read_bytes() != (tmp_path / "packed.npz").read_bytes()
    with np.load(tmp_path / "plain.npz") as plain, np.load(tmp_path / "packed.npz") as packed:
        assert array_digest(plain["x"]) == array_digest(packed["x"])
    nudged = values.copy()
    nudged[2, 1] = np.nextafter(nudged[2, 1], np.float32(np.inf))
    assert array_digest(nudged) != array_digest(values)
    # same bytes, other meaning: dtype and shape are part of the hash
    assert array_digest(values.view(np.int32)) != array_digest(values)
    assert array_digest(values.reshape(3, 5)) != array_digest(values)


def test_per_simulation_checksums_do_not_depend_on_the_shard_split(tmp_path):
    bold = np.random.default_rng(11).standard_normal((5, 4, 3)).astype(np.float32)
    _write_shards(tmp_path / "two", bold, [3, 2], np.savez)
    _write_shards(tmp_path / "one", bold, [5], np.savez_compressed)
    two = _shard_checksums(tmp_path / "two", "sims")
    assert two == _shard_checksums(tmp_path / "one", "sims")
    assert len(two) == 5 * len(PER_SIMULATION["sims"])
    # a simulation's result moved to another simulation's index is caught
    swapped = bold[[1, 0, 2, 3, 4]]
    _write_shards(tmp_path / "swapped", swapped, [5], np.savez)
    assert compare_checksums(_shard_checksums(tmp_path / "swapped", "sims"), two) == [
        "differs: sims/sim-0:bold", "differs: sims/sim-1:bold"]


def test_checksum_file_covers_every_simulation_and_stage():
    recorded = read_checksums()
    for sim in range(4):  # the tiny study's 2 x 2 grid
        for stage, names in PER_SIMULATION.items():
            for name in names:
                assert f"{stage}/sim-{sim}:{name}" in recorded
    assert {"fit/scores.csv", "fit/realisations.csv", "fit/best.json",
            f"connectome/{CONNECTOME}:weights",
            f"empirical/{EMPIRICAL}:fc_group"} <= set(recorded)
    assert all(len(digest) == 64 for digest in recorded.values())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: python {sys.argv[0]} WORKDIR  (a finished run of the tiny study)")
    _write(Path(sys.argv[1]))
