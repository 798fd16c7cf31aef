"""The fit is a function of the table, not of its row order; the profile likelihood of the prediction
finds the likelihood's ridge, and the interval spans it."""

from __future__ import annotations

import numpy as np
import pytest

from emergence_laws.analysis.table_fit import fit_table
from emergence_laws.laws.bootstrap import bootstrap_law
from emergence_laws.laws.elbow import fit_elbow
from emergence_laws.laws.law_fit import fit_law
from emergence_laws.laws.law import EmergenceLaw
from emergence_laws.laws.likelihood import Likelihood
from emergence_laws.laws.profile import HALF_CHI2_90, _Anchored, profile_prediction
from emergence_laws.laws.synthetic import Misspecification, draw_rows, draw_table, law_data

TRUE = EmergenceLaw(k=0.12, alpha=1.2, C=2.6, A=0.8, B=0.25, delta=0.0, d0=5.0, shots=5)
TRUE_E0 = TRUE.few_shot_emergence_point  # about 2.81 nats


@pytest.mark.parametrize("seed", [3, 12])
def test_the_fit_does_not_depend_on_the_tables_row_order(seed):
    t = draw_table(Misspecification(checkpoint_sd=0.02, run_sd=0.02), seed)
    df = t.frame()
    ref = fit_table(df, bootstrap=0)
    for s in range(3):
        res = fit_table(df.sample(frac=1.0, random_state=s).reset_index(drop=True), bootstrap=0)
        assert res["emergence_point"] == pytest.approx(ref["emergence_point"], rel=1e-9, abs=1e-9)
        assert res["law"]["nll"] == pytest.approx(ref["law"]["nll"], rel=1e-9)


def test_the_elbow_fit_does_not_depend_on_the_row_order():
    rng = np.random.default_rng(0)
    loss = np.repeat(np.linspace(2.0, 3.0, 12), 3)
    value = np.clip(0.25 + 0.9 * np.maximum(2.55 - loss, 0) + rng.normal(0, 0.03, loss.size), 0, 1)
    ref = fit_elbow(loss, value, n_eval=200)
    for s in range(3):
        p = np.random.default_rng(s).permutation(loss.size)
        e = fit_elbow(loss[p], value[p], n_eval=200)
        assert e.emerged == ref.emerged
        assert e.E == pytest.approx(ref.E, abs=1e-12) and e.A == pytest.approx(ref.A, rel=1e-12)


def test_the_anchored_likelihood_has_the_gradient_of_its_nll():
    data = law_data(draw_rows(TRUE, np.linspace(2.4, 4.2, 10), [16, 64, 256, 1024], seeds=2, rng=0))
    lik = Likelihood(data, "logpower", "relu", 5.0, 5.0)
    anchored = _Anchored(lik, np.array([2.9]), np.array([7.0]))
    q = np.array([[0.15, 1.1, 0.0, 0.7, 0.26, 0.01]])
    W = np.ones((1, data.n_rows))
    G, F = anchored.derivatives(q, W, np.zeros(1))
    for j in (0, 1, 3, 4, 5):
        h = 1e-6 * max(1.0, abs(q[0, j]))
        up, dn = q.copy(), q.copy()
        up[0, j] += h
        dn[0, j] -= h
        fd = (anchored.nll(up, W, np.zeros(1)) - anchored.nll(dn, W, np.zeros(1)))[0] / (2 * h)
        assert G[0, j] == pytest.approx(fd, rel=1e-4, abs=1e-3)
    # the anchored law predicts e at its D0 whatever k and alpha are
    P, _, _ = anchored._params(q, np.zeros(1))
    law = EmergenceLaw(*P[0], d0=7.0)
    assert law.few_shot_emergence_point == pytest.approx(2.9, abs=1e-12)
    assert np.allclose(F[0], F[0].T) and F[0, 2, 2] == 0.0


def test_the_ridge_is_a_point_when_the_data_identify_the_law():
    data = law_data(draw_rows(TRUE, np.linspace(2.4, 4.2, 10), [16, 64, 256, 1024], seeds=2, rng=0))
    law = fit_law(data)
    ridge = profile_prediction(data, law)
    assert not (ridge.open_lo or ridge.open_hi)
    e_best = ridge.grid[np.argmin(ridge.nll)]
    assert ridge.best == ridge.nll.min() and ridge.lo <= e_best <= ridge.hi
    # measured from the best fit over D0, not from the fit at one D0 (0.5 nats worse here): the ends
    # the walk from the best closed are within the threshold of it
    assert law.nll - ridge.best > 5 * ridge.threshold
    ends = np.isin(ridge.grid, [ridge.lo, ridge.hi])
    assert ends.sum() == 2 and np.all(ridge.nll[ends] - ridge.best <= ridge.threshold)
    assert abs(law.few_shot_emergence_point - e_best) < 0.02  # nats: the two fits nearly agree
    assert ridge.hi - ridge.lo < 0.05  # nats
    lr90 = profile_prediction(data, law, drop=HALF_CHI2_90)  # the 90% likelihood-ratio interval is wider
    assert lr90.lo < ridge.lo and lr90.hi > ridge.hi and lr90.threshold > ridge.threshold


def test_the_interval_spans_the_ridge_when_only_the_largest_amounts_have_emerged():
    """Checkpoints no stronger than 3.45 nats: only n = 256 and 1024 rise (their elbows are 3.54 and 3.83),
    n = 16 and 64 sit at the floor. Every E(16), E(64) below the data fits those rows equally well, so the
    extrapolation to D0 is not identified below: the ridge is wide and open on that side, it holds the
    truth, and the interval spans it."""
    data = law_data(draw_rows(TRUE, np.linspace(3.45, 4.2, 10), [16, 64, 256, 1024], seeds=2, rng=0))
    law = fit_law(data)
    ridge = profile_prediction(data, law)
    assert ridge.open_lo and not ridge.open_hi
    assert ridge.hi - ridge.lo > 0.5
    assert ridge.lo <= TRUE_E0 <= ridge.hi
    assert np.all(ridge.nll[(ridge.grid >= ridge.lo) & (ridge.grid <= ridge.hi)] - ridge.best <= ridge.threshold + 1e-9)
    wide, _ = bootstrap_law(data, law, n=40, seed=0)
    assert wide.interval[0] <= ridge.lo and wide.interval[1] >= ridge.hi
    assert wide.interval[0] <= TRUE_E0 <= wide.interval[1]
    assert any("do not bound the prediction below" in w for w in wide.interval_includes)
    boot_only, _ = bootstrap_law(data, law, n=40, seed=0, profile_likelihood=False)
    assert boot_only.ridge_interval is None and boot_only.interval == boot_only.bootstrap_interval


def test_the_interval_stops_at_zero_nats_when_the_ridge_is_open_below():
    """As above, a law whose few-shot point is 0.21 nats: the ridge runs on below 0 nats, where no loss can be;
    the interval and the ridge it reports stop at 0."""
    low = EmergenceLaw(k=0.12, alpha=1.2, C=0.0, A=0.8, B=0.25, delta=0.0, d0=5.0, shots=5)
    data = law_data(draw_rows(low, np.linspace(0.85, 1.6, 10), [16, 64, 256, 1024], seeds=2, rng=0))
    law = fit_law(data)
    ridge = profile_prediction(data, law)
    assert ridge.open_lo and ridge.lo < 0.0
    wide, _ = bootstrap_law(data, law, n=40, seed=0)
    assert wide.interval[0] == 0.0 and wide.ridge_interval[0] == 0.0
    assert wide.interval[0] <= low.few_shot_emergence_point <= wide.interval[1]
