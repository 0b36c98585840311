"""The selection bias best.csv reports for a validated choice, against the expected maximum
of independent normals (analytic where it is known)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from brainsweep.optimise.summary import selection_bias

DRAWS = 40_000


def test_a_tie_of_two_overstates_by_sigma_over_root_pi():
    # the larger of two independent N(m, s^2) draws has mean m + s / sqrt(pi)
    s = 0.006
    bias = selection_bias([0.27, 0.27], [s, s], draws=DRAWS)
    # Monte Carlo error: the maximum's s.d. is below s, so s / sqrt(DRAWS) bounds it
    assert bias == pytest.approx(s / math.sqrt(math.pi), abs=4 * s / math.sqrt(DRAWS))


def test_a_tie_of_five_overstates_by_the_expected_maximum_of_five():
    # E[max of 5 standard normals] = 1.16296 (order statistics of the normal)
    s = 0.01
    bias = selection_bias([0.3] * 5, [s] * 5, draws=DRAWS)
    assert bias == pytest.approx(1.16296 * s, abs=4 * s / math.sqrt(DRAWS))


@pytest.mark.parametrize("means, errors", [([0.30, 0.29], [0.01, 0.01]),
                                           ([0.30, 0.295], [0.004, 0.012])])
def test_two_candidates_match_the_analytic_bias(means, errors):
    # X_i ~ N(m_i, s_i^2): E[X_chosen - m_chosen] = theta * phi(delta / theta), with
    # delta = m_1 - m_2 and theta = sqrt(s_1^2 + s_2^2); a formula that subtracted the
    # highest mean instead of the chosen point's would miss by delta * Phi(-delta / theta)
    delta = means[0] - means[1]
    theta = math.hypot(*errors)
    expected = theta * math.exp(-0.5 * (delta / theta) ** 2) / math.sqrt(2 * math.pi)
    bias = selection_bias(means, errors, draws=DRAWS)
    assert bias == pytest.approx(expected, abs=4 * max(errors) / math.sqrt(DRAWS))


def test_a_clear_winner_is_not_overstated():
    # the top score is chosen in every draw: its draws average to its own mean
    bias = selection_bias([0.30, 0.20, 0.10], [0.005, 0.005, 0.005], draws=DRAWS)
    assert abs(bias) < 4 * 0.005 / math.sqrt(DRAWS)


def test_a_missing_error_gives_nan_and_the_same_seed_the_same_value():
    assert math.isnan(selection_bias([0.3, 0.2], [0.01, float("nan")]))
    assert math.isnan(selection_bias([], []))
    assert selection_bias([0.3, 0.29], [0.01, 0.01]) == selection_bias([0.3, 0.29],
                                                                       [0.01, 0.01])
    assert np.isfinite(selection_bias([0.3], [0.01]))
