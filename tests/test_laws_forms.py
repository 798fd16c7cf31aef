"""Functional forms, the likelihood's analytic gradient, and the batched optimiser."""

from __future__ import annotations

import numpy as np
import pytest

from emergence_laws.laws.data import LawData
from emergence_laws.laws.forms import (
    clamp_data_amount,
    log_power_shift,
    power_shift,
    relu_elbow,
    softplus_elbow,
)
from emergence_laws.laws.law import EmergenceLaw
from emergence_laws.laws.likelihood import Likelihood
from emergence_laws.laws.optimise import batch_fit, minimise, param_bounds
from emergence_laws.laws.synthetic import Misspecification, draw_rows, law_data

TRUE = EmergenceLaw(k=0.12, alpha=1.2, C=2.6, A=0.45, B=0.25, delta=0.02, d0=5.0, shots=5)
LOSSES = np.linspace(2.3, 4.2, 10)


def test_relu_elbow_is_flat_above_E_and_linear_below():
    L = np.array([3.5, 3.0, 2.5, 2.0])
    y = relu_elbow(L, A=0.5, E=3.0, B=0.25)
    np.testing.assert_allclose(y, [0.25, 0.25, 0.5, 0.75])


def test_softplus_elbow_tends_to_relu_and_stays_above_it():
    L = np.linspace(2, 4, 41)
    relu = relu_elbow(L, 0.5, 3.0, 0.25)
    assert np.all(softplus_elbow(L, 0.5, 3.0, 0.25, beta=30) >= relu - 1e-12)
    np.testing.assert_allclose(softplus_elbow(L, 0.5, 3.0, 0.25, beta=1e4), relu, atol=1e-4)


def test_shift_forms_increase_with_data_and_clamp_below_one():
    D = np.array([2, 10, 100, 1000])
    for f in (log_power_shift, power_shift):
        assert np.all(np.diff(f(D, 0.1, 0.8, 2.5)) > 0)
    assert log_power_shift(1, 0.3, 1.5, 2.7) == pytest.approx(2.7)  # (log 1)^alpha = 0: E(1) = C
    assert log_power_shift(0, 0.3, 1.5, 2.7) == pytest.approx(2.7)  # D0 = 0 clamped to 1
    np.testing.assert_array_equal(clamp_data_amount([0, 0.5, 3]), [1, 1, 3])


@pytest.mark.parametrize("elbow", ["relu", "softplus"])
@pytest.mark.parametrize("noise", ["binomial", "gaussian", "mixed"])
def test_likelihood_gradient_matches_finite_differences(elbow, noise):
    d = law_data(draw_rows(TRUE, LOSSES, [16, 64, 256], seeds=2, rng=1, spec=Misspecification(n_eval=400)))
    n_eval = d.n_eval.copy()
    if noise == "gaussian":
        n_eval = None
    elif noise == "mixed":
        n_eval[::3] = np.nan
    d = LawData.from_arrays(d.loss, d.n_train, d.value, n_eval=n_eval, seed=d.seed, shots=5)
    lik = Likelihood(d, "logpower", elbow, 30.0, 5.0)
    assert lik.noise == noise
    w = np.random.default_rng(0).integers(0, 3, d.n_rows).astype(float)
    p = np.array([0.11, 1.1, 2.63, 0.5, 0.24, 0.01])
    f, g = lik(p, w)
    num = np.array([(lik(p + h, w)[0] - lik(p - h, w)[0]) / 2e-6 for h in np.eye(6) * 1e-6])
    np.testing.assert_allclose(g, num, rtol=2e-3, atol=1e-6 * max(1.0, abs(f)))
    assert lik.nll(p[None, :], w[None, :])[0] == pytest.approx(f, rel=1e-10)
    # the batched gradient is the same gradient; one D0 per vector moves only the few-shot rows
    gb, H = lik.derivatives(p[None, :], w[None, :])
    np.testing.assert_allclose(gb[0], g, rtol=1e-9, atol=1e-12)
    # the Fisher information summed by data-amount level is J^T diag(info) J with J written out
    m = lik.mean(p[None, :])
    J = lik.jacobian(p[None, :], m)[0]
    info = lik.score(m.mu, w[None, :])[1][0]
    np.testing.assert_allclose(H[0], J.T @ (info[:, None] * J), rtol=1e-9, atol=1e-9 * np.abs(H[0]).max())
    np.testing.assert_allclose(gb[0], J.T @ lik.score(m.mu, w[None, :])[0][0], rtol=1e-9, atol=1e-12)
    assert lik.nll(p[None, :], w[None, :], d0=np.array([5.0]))[0] == pytest.approx(f, rel=1e-12)
    far = lik.nll(np.tile(p, (2, 1)), np.tile(w, (2, 1)), d0=np.array([5.0, 500.0]))
    assert far[0] == pytest.approx(f, rel=1e-12) and far[1] != pytest.approx(f, rel=1e-6)


def test_batched_fit_reaches_the_lbfgs_optimum_on_bootstrap_weights():
    d = law_data(draw_rows(TRUE, LOSSES, [16, 64, 256, 1024], seeds=2, rng=3))
    lik = Likelihood(d, "logpower", "relu", 30.0, 5.0)
    bounds = param_bounds(d, "logpower")
    W = np.random.default_rng(0).multinomial(d.n_rows, np.full(d.n_rows, 1 / d.n_rows), size=5).astype(float)
    _, f = batch_fit(lik, np.tile(TRUE.vector(), (5, 1)), W, bounds)
    for i in range(5):
        ref = minimise(lik, TRUE.vector(), bounds, W[i])
        assert f[i] <= ref.fun + 1e-6 * abs(ref.fun)  # as good as L-BFGS-B, to 1 ppm
