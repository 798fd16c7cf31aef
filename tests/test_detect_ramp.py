"""The prefix-sum ramp fit (laws.ramp) against a direct least-squares fit of the same basis."""

from __future__ import annotations

import numpy as np
import pytest

from emergence_laws.laws.ramp import RampSums, bootstrap_onset, fit_ramp, knot_pairs, profile_onset_interval


def direct(u: np.ndarray, y: np.ndarray, e: float, f: float, w: np.ndarray) -> tuple[float, float, float]:
    """Weighted least squares of y = b + r h, r >= 0, by numpy's lstsq on the explicit basis."""
    h = np.clip((u - e) / (f - e), 0, 1)
    sw = np.sqrt(w)
    if np.ptp(h[w > 0]) > 0:
        (b, r), *_ = np.linalg.lstsq(np.c_[sw, sw * h], sw * y, rcond=None)
    else:
        b, r = np.average(y, weights=w), 0.0
    if r < 0:
        b, r = np.average(y, weights=w), 0.0
    return b, r, float((w * (y - b - r * h) ** 2).sum())


@pytest.mark.parametrize("seed,offset", [(0, 0.0), (1, 22.0), (2, -3.0)])
def test_prefix_sums_match_direct_least_squares(seed, offset):
    rng = np.random.default_rng(seed)
    u = np.sort(np.round(rng.uniform(0, 6, 60), 1)) + offset  # ties included
    y = 0.25 + 0.1 * np.maximum(u - offset - 3, 0) + rng.normal(0, 0.02, u.size)
    E, F = knot_pairs(float(u[0]), float(u[-1]), 12)
    W = rng.poisson(1.0, (3, u.size)).astype(float)
    b, r, rss = RampSums(u, y, W).stats(E, F)
    for k in range(3):
        for p in range(0, len(E), 7):
            want = direct(u, y, E[p], F[p], W[k])
            assert b[k, p] == pytest.approx(want[0], abs=1e-8)
            assert r[k, p] == pytest.approx(want[1], abs=1e-8)
            assert rss[k, p] == pytest.approx(want[2], abs=1e-8)


def test_fit_ramp_is_the_grid_optimum_and_unsorted_input_is_fine():
    rng = np.random.default_rng(3)
    u = np.linspace(0, 10, 200)
    y = 0.1 + 0.6 * np.clip((u - 3.0) / 4.0, 0, 1) + rng.normal(0, 0.01, u.size)
    perm = rng.permutation(u.size)
    fit = fit_ramp(u[perm], y[perm])
    assert fit.onset == pytest.approx(3.0, abs=0.1) and fit.end == pytest.approx(7.0, abs=0.1)
    lo, hi = profile_onset_interval(u, y)
    assert lo <= 3.0 <= hi and hi - lo < 1.0
    onsets = bootstrap_onset(u, y, n_boot=50, grid=40)
    assert np.quantile(onsets, 0.05) <= 3.2 and np.quantile(onsets, 0.95) >= 2.8
