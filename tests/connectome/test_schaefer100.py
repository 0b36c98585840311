"""The shipped HCP-YA Schaefer-100 data (resources/hcp-schaefer100) read as connectomes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainsweep import connectome
from brainsweep.errors import InputError

DATA = Path(__file__).resolve().parents[2] / "resources" / "hcp-schaefer100"
NETWORKS = ("Vis", "SomMot", "DorsAttn", "SalVentAttn", "Limbic", "Cont", "Default")


def group(name: str) -> dict[str, str]:
    folder = DATA / "hcp" / "sc" / name
    return {"weights": str(folder / "ctx_parc-schaefer-100_desc-strength.npz"),
            "lengths": str(folder / "ctx_parc-schaefer-100_desc-length.npz"),
            "labels": str(DATA / "labels.txt")}


def test_labels_name_the_yeo7_networks_of_the_map():
    """labels.txt was written from the atlas's lookup table; the data's own Yeo-7 file is an
    independent record of the same order."""
    labels = [line for line in (DATA / "labels.txt").read_text().splitlines()
              if line and not line.startswith("#")]
    yeo7 = np.loadtxt(DATA / "maps" / "ctx_parc-schaefer-100_desc-yeo7.txt").astype(int)
    assert len(labels) == len(set(labels)) == 100
    assert [NETWORKS.index(name.split("_")[2]) for name in labels] == yeo7.tolist()
    assert all(name.split("_")[1] == ("LH" if i < 50 else "RH") for i, name in
               enumerate(labels))


@pytest.mark.parametrize("name", ["group-train706", "group-test303", "100206", "100307"])
def test_every_connectome_loads_with_its_labels(name):
    conn = connectome.preprocess(connectome.load(group(name), "matrix"), normalise="max")
    assert conn.weights.shape == conn.lengths.shape == (100, 100)
    assert conn.labels[0] == "7Networks_LH_Vis_1" and conn.labels[-1].startswith("7Networks_RH")
    assert conn.weights.max() == 1.0 and np.all(np.diag(conn.weights) == 0)
    # tract lengths in mm: a whole brain spans ~10-250 mm
    connected = conn.weights > 0
    assert 1.0 < np.median(conn.lengths[connected]) < 250.0


def test_train_and_test_groups_are_alike_but_not_equal():
    train = connectome.load(group("group-train706"), "matrix").weights
    test = connectome.load(group("group-test303"), "matrix").weights
    upper = np.triu_indices(100, 1)
    r = np.corrcoef(train[upper], test[upper])[0, 1]
    assert 0.9 < r < 1.0


def test_a_labels_file_of_another_size_is_refused(tmp_path):
    short = tmp_path / "labels.txt"
    short.write_text("\n".join(f"r{i}" for i in range(99)))
    with pytest.raises(InputError) as error:
        connectome.load({**group("100206"), "labels": str(short)}, "matrix")
    assert error.value.field == "labels" and "99 labels" in str(error.value)
