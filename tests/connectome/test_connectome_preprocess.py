"""Every cleaning step against a hand computation (explicit loops or numbers written out)."""

from __future__ import annotations

import numpy as np
import pytest

from brainsweep import connectome
from brainsweep.connectome import Connectome
from brainsweep.errors import InputError

# float64 arithmetic on a handful of operations: k = 8 eps
RTOL = 8 * np.finfo(np.float64).eps


def make(weights, lengths=None, **kwargs) -> Connectome:
    weights = np.asarray(weights, dtype=float)
    n = weights.shape[-1]
    if lengths is None:
        lengths = np.where(weights > 0, 10.0, 0.0)
    return Connectome(weights, lengths, tuple(f"r{i}" for i in range(n)), **kwargs)


def raw(conn, **kwargs):
    """preprocess with every optional step off unless asked for."""
    options = {"symmetrise": "none", "normalise": "none", "threshold": None, **kwargs}
    return connectome.preprocess(conn, **options)


def random_conn(seed=3, n=6, stack=None):
    rng = np.random.default_rng(seed)
    shape = (n, n) if stack is None else (stack, n, n)
    weights = rng.random(shape) * (rng.random(shape) > 0.3)
    lengths = np.where(weights > 0, 5 + 150 * rng.random(shape), 0.0)
    ids = None if stack is None else tuple(f"s{i}" for i in range(stack))
    extra = {}
    if stack is not None:
        extra["region_data"] = {"waytotal": 1e3 + rng.random((stack, n)) * 1e4,
                                "nvoxel": 100 + rng.integers(0, 900, (stack, n)).astype(float)}
    return Connectome(weights, lengths, tuple(f"r{i}" for i in range(n)),
                      subject_ids=ids, **extra)


def test_symmetrise_mean_and_max_by_hand():
    w = [[0, 2, 0], [4, 0, 1], [0, 0, 0]]
    lengths = [[0, 10, 7], [30, 0, 50], [9, 0, 0]]
    conn = make(w, lengths)
    mean = raw(conn, symmetrise="mean")
    np.testing.assert_array_equal(mean.weights, [[0, 3, 0], [3, 0, 0.5], [0, 0.5, 0]])
    # (0,1): both directions exist -> (10+30)/2; (1,2): only 1<-2 exists -> 50;
    # (0,2): neither exists -> mean of the stored lengths (7+9)/2
    np.testing.assert_array_equal(mean.lengths, [[0, 20, 8], [20, 0, 50], [8, 50, 0]])
    biggest = raw(conn, symmetrise="max")
    np.testing.assert_array_equal(biggest.weights, [[0, 4, 0], [4, 0, 1], [0, 1, 0]])
    assert raw(conn, symmetrise="none").weights[1, 0] == 4


def test_zero_diagonal_always_applied_and_recorded():
    conn = make([[5, 1], [2, 7]], [[3, 10], [10, 4]])
    out = raw(conn)
    np.testing.assert_array_equal(out.weights, [[0, 1], [2, 0]])
    np.testing.assert_array_equal(out.lengths, [[0, 10], [10, 0]])
    step = next(s for s in out.steps if s["step"] == "zero_diagonal")
    assert step["removed_weight"] == 12


def test_normalise_max_row_sum_log1p_by_hand():
    conn = random_conn()
    w = conn.weights * (1 - np.eye(6))
    np.testing.assert_allclose(raw(conn, normalise="max").weights, w / w.max(), rtol=RTOL)
    np.testing.assert_allclose(raw(conn, normalise="log1p").weights, np.log1p(w), rtol=RTOL)
    rows = raw(conn, normalise="row-sum").weights
    for i in range(6):
        total = sum(w[i, j] for j in range(6))
        for j in range(6):
            expected = w[i, j] / total if total > 0 else 0.0
            assert rows[i, j] == pytest.approx(expected, rel=RTOL, abs=0)


def test_row_sum_leaves_a_region_without_input_at_zero():
    out = raw(make([[0, 0, 0], [1, 0, 3], [2, 2, 0]]), normalise="row-sum")
    np.testing.assert_array_equal(out.weights, [[0, 0, 0], [0.25, 0, 0.75], [0.5, 0.5, 0]])
    assert out.steps[-1]["empty_rows"] == 1


def test_normalise_waytotal_and_nvoxel_per_column_per_subject():
    conn = random_conn(stack=3)
    way = conn.region_data["waytotal"]
    vox = conn.region_data["nvoxel"]
    w = conn.weights * (1 - np.eye(6))
    out_way = raw(conn, normalise="waytotal", average="mean")
    out_vox = raw(conn, normalise="nvoxel", average="mean")
    expected_way = np.zeros((6, 6))
    expected_vox = np.zeros((6, 6))
    for s in range(3):
        for i in range(6):
            for j in range(6):  # column j = source region j
                expected_way[i, j] += w[s, i, j] / way[s, j] / 3
                expected_vox[i, j] += w[s, i, j] / (vox[s, j] * 5000) / 3
    np.testing.assert_allclose(out_way.weights, expected_way, rtol=RTOL)
    np.testing.assert_allclose(out_vox.weights, expected_vox, rtol=RTOL)


def test_waytotal_without_counts_is_an_input_error():
    with pytest.raises(InputError, match="waytotal") as info:
        raw(random_conn(), normalise="waytotal")
    assert info.value.field == "connectome.normalise"


def test_threshold_absolute():
    out = raw(make([[0, 0.2, 0.05], [0.01, 0, 0.5], [0.3, 0.1, 0]]),
              threshold={"absolute": 0.1})
    np.testing.assert_array_equal(out.weights, [[0, 0.2, 0], [0, 0, 0.5], [0.3, 0.1, 0]])


def test_threshold_density_symmetric_keeps_strongest_pairs():
    # 4 regions -> 6 pairs; density 0.5 keeps the 3 strongest pairs: 9, 8, 7
    upper = {(0, 1): 9, (0, 2): 1, (0, 3): 8, (1, 2): 2, (1, 3): 3, (2, 3): 7}
    w = np.zeros((4, 4))
    for (i, j), v in upper.items():
        w[i, j] = w[j, i] = v
    out = raw(make(w), threshold={"density": 0.5})
    expected = np.zeros((4, 4))
    for i, j in [(0, 1), (0, 3), (2, 3)]:
        expected[i, j] = expected[j, i] = w[i, j]
    np.testing.assert_array_equal(out.weights, expected)
    assert out.steps[-1]["density_reached"] == [0.5]


def test_threshold_density_directed_counts_entries():
    # 3 regions -> 6 directed entries; density 1/3 keeps the 2 strongest
    w = np.array([[0, 6, 1], [2, 0, 5], [3, 4, 0]], dtype=float)
    out = raw(make(w), threshold={"density": 1 / 3})
    np.testing.assert_array_equal(out.weights, [[0, 6, 0], [0, 0, 5], [0, 0, 0]])


def test_average_mean_median_and_lengths_over_existing():
    w = np.array([
        [[0, 1], [2, 0]],
        [[0, 3], [0, 0]],
        [[0, 8], [4, 0]],
    ], dtype=float)
    lengths = np.array([
        [[0, 10], [20, 0]],
        [[0, 40], [99, 0]],  # 99 belongs to an absent connection: must not count
        [[0, 70], [50, 0]],
    ])
    conn = Connectome(w, lengths, ("a", "b"), subject_ids=("x", "y", "z"))
    mean = raw(conn, average="mean")
    np.testing.assert_allclose(mean.weights, [[0, 4], [2, 0]], rtol=RTOL)
    np.testing.assert_allclose(mean.lengths, [[0, 40], [35, 0]], rtol=RTOL)
    assert mean.subject_ids is None and mean.weights.shape == (2, 2)
    median = raw(conn, average="median")
    np.testing.assert_array_equal(median.weights, [[0, 3], [2, 0]])


def test_average_consistency_drops_rare_connections():
    w = np.zeros((4, 3, 3))
    w[:, 0, 1] = [1, 1, 1, 0]  # in 3 of 4 subjects
    w[:, 1, 0] = [2, 0, 0, 0]  # in 1 of 4
    w[:, 2, 0] = [1, 1, 0, 0]  # in 2 of 4: exactly the fraction, kept
    conn = Connectome(w, np.where(w > 0, 10.0, 0), ("a", "b", "c"),
                      subject_ids=tuple("pqrs"))
    out = raw(conn, average={"consistency": 0.5})
    np.testing.assert_allclose(out.weights, [[0, 0.75, 0], [0, 0, 0], [0.5, 0, 0]],
                               rtol=RTOL)
    assert out.steps[-1]["dropped_connections"] == 1


def test_region_selection_by_index_and_label_subsets_everything():
    conn = random_conn()
    conn = conn.evolve(centres=np.arange(18.0).reshape(6, 3))
    out = raw(conn, regions={"preset": None, "drop": [1, "r4"]})
    keep = [0, 2, 3, 5]
    zeroed = conn.weights * (1 - np.eye(6))
    np.testing.assert_array_equal(out.weights, zeroed[np.ix_(keep, keep)])
    assert out.labels == ("r0", "r2", "r3", "r5")
    np.testing.assert_array_equal(out.centres, conn.centres[keep])
    assert out.steps[0]["dropped"] == ["r1", "r4"]


def test_region_selection_subsets_per_subject_counts():
    conn = random_conn(stack=2)
    out = connectome.preprocess(conn, regions={"drop": [0]}, normalise="none",
                                average="mean")
    np.testing.assert_allclose(out.region_data["waytotal"],
                               conn.region_data["waytotal"][:, 1:].mean(axis=0), rtol=RTOL)


def test_preset_on_the_wrong_size_is_refused():
    with pytest.raises(InputError, match="94 regions") as info:
        connectome.preprocess(random_conn(), regions={"preset": "aal2-cortical"})
    assert info.value.field == "connectome.regions.preset"


def test_unknown_label_to_drop():
    with pytest.raises(InputError, match="no region labelled") as info:
        raw(random_conn(), regions={"drop": ["nowhere"]})
    assert info.value.field == "connectome.regions.drop"


def test_steps_in_order_and_original_untouched():
    conn = random_conn(stack=2)
    before = conn.weights.copy()
    out = connectome.preprocess(conn, regions={"drop": [5]}, symmetrise="max",
                                normalise="max", threshold={"absolute": 0.1},
                                average="median")
    assert [s["step"] for s in out.steps] == [
        "select_regions", "symmetrise", "zero_diagonal", "normalise", "threshold", "average",
    ]
    assert out.steps[1]["method"] == "max" and out.steps[-1]["method"] == "median"
    np.testing.assert_array_equal(conn.weights, before)
    assert out is not conn
    with pytest.raises(ValueError):
        out.weights[0, 0] = 1.0  # frozen: arrays are read-only


def test_full_pipeline_against_a_hand_loop():
    conn = random_conn(seed=8, stack=3)
    out = connectome.preprocess(conn, regions={"drop": [2]}, symmetrise="mean",
                                normalise="max", threshold={"absolute": 0.2},
                                average="mean")
    keep = [0, 1, 3, 4, 5]
    per_subject = []
    for s in range(3):
        w = conn.weights[s][np.ix_(keep, keep)]
        w = (w + w.T) / 2
        np.fill_diagonal(w, 0)
        w = w / w.max()
        w[w < 0.2] = 0
        per_subject.append(w)
    np.testing.assert_allclose(out.weights, np.mean(per_subject, axis=0), rtol=RTOL)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"symmetrise": "upper"}, "connectome.symmetrise"),
        ({"normalise": "zscore"}, "connectome.normalise"),
        ({"threshold": {"density": 1.5}}, "connectome.threshold.density"),
        ({"threshold": {"absolute": -1}}, "connectome.threshold.absolute"),
        ({"threshold": {"percentile": 5}}, "connectome.threshold"),
        ({"average": "mode"}, "connectome.average"),
        ({"average": {"consistency": 0}}, "connectome.average.consistency"),
        ({"regions": {"keep": [1]}}, "connectome.regions.keep"),
    ],
)
def test_bad_settings_name_their_field(kwargs, field):
    with pytest.raises(InputError) as info:
        connectome.preprocess(random_conn(), **kwargs)
    assert info.value.field == field
