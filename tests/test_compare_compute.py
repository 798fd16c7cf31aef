"""laws/compute.py and the bootstrap's checkpoint counts: pairing the loss curve's replicates with the law's,
inverting, and the pairwise statistics."""

from __future__ import annotations

import numpy as np
import pytest

from emergence_laws.laws.bootstrap import fit_and_bootstrap
from emergence_laws.laws.compute import crossing_scales, prob_less, quantiles, ratio_draws
from emergence_laws.laws.likelihood import Likelihood
from emergence_laws.laws.resample import checkpoint_weights
from emergence_laws.laws.scaling import fit_scaling_law
from emergence_laws.laws.synthetic import Misspecification, draw_table


def test_prob_less_counts_every_pair_and_ties_half():
    # pairs (a, b): (1,2) (1,4) (2,4) (3,4) less; (2,2) tie; (3,2) greater -> (4 + 0.5) / 6
    assert prob_less(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0])) == pytest.approx(0.75)
    a, b = np.random.default_rng(0).normal(size=50), np.random.default_rng(1).normal(size=70)
    assert prob_less(a, b) + prob_less(b, a) == pytest.approx(1.0)
    assert prob_less(np.array([np.inf]), np.array([np.inf])) == 0.5  # both never reached: a tie
    assert prob_less(np.array([1.0]), np.array([np.inf])) == 1.0


def test_ratio_draws_and_quantiles_keep_unreachable_draws():
    r = ratio_draws(np.array([1.0, 2.0, np.inf]), np.array([4.0, np.inf]))
    # second / first over every pair; inf / inf is undefined and left out
    assert sorted(r.tolist()) == [0.0, 2.0, 4.0, np.inf, np.inf]
    q = quantiles(np.array([1.0, 2.0, np.inf, np.inf]), [0.25, 0.95])
    assert q[0] == 1.0 and np.isinf(q[1])


def test_crossing_scales_inverts_each_replicates_curve():
    N = np.geomspace(1e17, 1e19, 8)
    L = 1.9 + 3.0 * (N / 1e18) ** -0.15
    curve = fit_scaling_law(N, L, "flops")
    counts = np.ones((3, N.size))
    E = np.array([2.5, 2.2, 1.5])  # the last is below the irreducible loss 1.9: never reached
    C = crossing_scales(curve, N, L, counts, E)
    for c, e in zip(C[:2], E[:2]):
        assert c == pytest.approx(1e18 * (3.0 / (e - 1.9)) ** (1 / 0.15), rel=1e-3)
    assert np.isinf(C[2])


@pytest.fixture(scope="module")
def boot_case():
    table = draw_table(Misspecification(checkpoint_sd=0.02, run_sd=0.02), 3)
    data = table.law_data()
    law, boot = fit_and_bootstrap(data, 24, seed=11)
    return data, law, boot


def test_the_bootstraps_checkpoint_counts_are_its_replicates_own_draws(boot_case):
    """The counts a bootstrap reports are the ones its replicates were fitted with: replaying its random
    stream (here, in the test) gives row weights whose checkpoint part is those counts, and under which each
    replicate's parameters are the best of all replicates'; under another stream's weights they are not."""
    data, law, boot = boot_case
    counts = boot.checkpoint_counts
    n_models = np.unique(data.model).size
    assert counts.shape == (boot.samples.size, n_models)
    assert np.all(counts.sum(axis=1) == n_models)  # a draw of n checkpoints out of n with replacement

    def own_best(W):
        lik = Likelihood(data, law.form, law.elbow, law.beta, law.d0)
        R = boot.params.shape[0]
        wins = 0
        for b in range(R):
            f = lik.nll(boot.params, np.repeat(W[b:b + 1], R, axis=0), np.full(R, boot.d0[b]))
            wins += f[b] <= f.min() + 1e-9 * abs(f.min())
        return wins / R

    rng = np.random.default_rng(11)
    boot.profile.draw(boot.samples.size + boot.n_failed, rng)
    W, replayed = checkpoint_weights(data, boot.samples.size + boot.n_failed, rng)
    assert boot.n_failed == 0 and np.array_equal(replayed, counts)
    models, m_idx = np.unique(data.model, return_inverse=True)
    assert np.all(W[counts[:, m_idx] == 0] == 0)  # no row of an undrawn checkpoint is used
    fs = data.n_train == 0  # the few-shot rows: one subset, so their weight is their checkpoint's count
    assert np.array_equal(W[:, fs], counts[:, m_idx[fs]])
    assert own_best(W) >= 0.9
    other, _ = checkpoint_weights(data, W.shape[0], np.random.default_rng(12))
    assert own_best(other) <= 0.5
