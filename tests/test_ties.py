"""The multiple-choice tie rule: near-equal scores are tied and the first tied choice wins."""

from __future__ import annotations

import pytest

from emergence_laws.evaluation.ties import (
    TIE_ATOL,
    TIE_RTOL,
    tie_argmax,
    tied_with_best,
)


def test_exact_tie_resolves_to_the_first_choice():
    assert tie_argmax([-18.8402099609375, -18.8402099609375, -21.9578]) == 0
    assert tie_argmax([-30.0, -2.5, -2.5]) == 1


def test_near_tie_inside_the_tolerance_counts_as_a_tie():
    # the pair from the CI failure: they differ in the 7th digit, one machine's kernels vs another's
    scores = [-18.840209484, -18.840208530, -21.9578]
    assert tied_with_best(scores).tolist() == [True, True, False]
    assert tie_argmax(scores) == 0
    best = -3.0
    inside = best - 0.9 * (TIE_ATOL + TIE_RTOL * abs(best))
    assert tie_argmax([inside, best]) == 0


def test_clear_win_just_outside_the_tolerance_is_not_a_tie():
    best = -3.0
    outside = best - 1.1 * (TIE_ATOL + TIE_RTOL * abs(best))
    assert tied_with_best([outside, best]).tolist() == [False, True]
    assert tie_argmax([outside, best]) == 1


def test_tolerance_scales_with_the_size_of_the_score():
    # a long continuation: float32 noise grows with |score|, and so does the tolerance
    best = -2000.0
    assert tie_argmax([best - 1e-3, best]) == 0
    assert tie_argmax([best - 1e-2, best]) == 1


def test_empty_scores_are_refused():
    with pytest.raises(ValueError):
        tie_argmax([])
