"""``average: none`` keeps the per-subject stack (the optimise stage's per-subject fits): each
subject cleaned exactly as when it is read and cleaned alone."""

from __future__ import annotations

import numpy as np

from brainsweep import connectome


def test_average_none_keeps_each_subject_as_read_alone(repo_root):
    source = repo_root / "resources" / "hcp-aal2"
    options = {"regions": {"preset": "aal2-cortical"}, "normalise": "max"}
    stack = connectome.preprocess(connectome.load(source), average="none", **options)
    assert stack.is_stack and stack.weights.shape == (7, 80, 80)
    for k, subject in enumerate(stack.subject_ids):
        alone = connectome.preprocess(connectome.load(source, subjects=[subject]), **options)
        np.testing.assert_array_equal(stack.weights[k], alone.weights)
        np.testing.assert_array_equal(stack.lengths[k], alone.lengths)
    # and not the group average, which the default gives
    group = connectome.preprocess(connectome.load(source), **options)
    assert not np.allclose(stack.weights[0], group.weights)
