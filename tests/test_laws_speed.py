"""The fast science core (issue 29): the likelihood works on sufficient statistics (one point per
checkpoint x data amount, however many rows share it), the optimiser's blocks and the bootstrap's
groups change the work's order but not its result, and `fit` / `backtest` report progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files

import numpy as np
import pytest

import emergence_laws.laws.bootstrap as bootstrap_mod
import emergence_laws.laws.optimise as optimise_mod
from emergence_laws.laws.bootstrap import bootstrap_law
from emergence_laws.laws.data import LawData
from emergence_laws.laws.elbow import fit_elbow
from emergence_laws.laws.law_fit import fit_law
from emergence_laws.laws.law import EmergenceLaw
from emergence_laws.laws.likelihood import EPS, Likelihood
from emergence_laws.laws.optimise import batch_fit, param_bounds
from emergence_laws.laws.profile import profile_prediction
from emergence_laws.laws.synthetic import Misspecification, draw_rows, law_data
from tests.conftest import HANG_GUARD_S

TRUE = EmergenceLaw(k=0.12, alpha=1.2, C=2.6, A=0.8, B=0.25, delta=0.02, d0=5.0, shots=5)
LOSSES = np.linspace(2.4, 4.2, 10)
EXAMPLE = str(files("emergence_laws") / "data" / "example_results.csv")


def _rowwise_nll(data: LawData, mu_rows: np.ndarray, w: np.ndarray) -> float:
    """The negative log-likelihood written row by row (the definition the points must reproduce)."""
    nb = data.binomial_counts()
    b = np.isfinite(nb)
    p = np.clip(mu_rows, EPS, 1 - EPS)
    nll = -float(np.sum((w * nb)[b] * (data.value[b] * np.log(p[b]) + (1 - data.value[b]) * np.log1p(-p[b]))))
    g = ~b
    if g.any():
        m = w[g].sum()
        ss = float(np.sum(w[g] * (data.value[g] - mu_rows[g]) ** 2)) + 1e-12 * m
        nll += 0.5 * m * np.log(ss / m)
    return nll


@pytest.mark.parametrize("noise", ["binomial", "gaussian", "mixed"])
def test_the_likelihood_of_the_points_is_the_likelihood_of_the_rows(noise):
    """3 random subsets x 4 amounts x 10 checkpoints + few-shot rows = 130 rows on 50 points; bootstrap
    weights included. The points reproduce the row-by-row nll to rounding."""
    d = law_data(draw_rows(TRUE, LOSSES, [16, 64, 256, 1024], seeds=3, rng=1, spec=Misspecification(n_eval=400)))
    n_eval = None if noise == "gaussian" else d.n_eval.copy()
    if noise == "mixed":
        n_eval[::4] = np.nan
    d = LawData.from_arrays(d.loss, d.n_train, d.value, n_eval=n_eval, seed=d.seed, shots=5)
    lik = Likelihood(d, "logpower", "relu", 30.0, 5.0)
    # one point per (checkpoint, amount) and noise model: the subsets collapse
    nb = d.binomial_counts()
    keys = {(float(a), float(l), bool(np.isfinite(b))) for a, l, b in zip(d.n_train, d.loss, nb)}
    assert lik.n_points == len(keys) < d.n_rows
    if noise != "mixed":
        assert lik.n_points == LOSSES.size * 5
    W = np.random.default_rng(0).integers(0, 3, (4, d.n_rows)).astype(float)
    P = np.tile([0.11, 1.1, 2.63, 0.5, 0.24, 0.01], (4, 1)) + np.random.default_rng(1).normal(0, 0.01, (4, 6))
    got = lik.nll(P, W)
    mu_rows = lik.mean(P).mu[:, lik.point]
    want = [_rowwise_nll(d, mu_rows[i], W[i]) for i in range(4)]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_repeated_rows_are_one_binomial_count():
    """A table whose every row appears twice fits exactly as the table with twice the evaluation examples."""
    d = law_data(draw_rows(TRUE, LOSSES, [16, 64, 256, 1024], seeds=2, rng=2, spec=Misspecification(n_eval=300)))
    twice = LawData.from_arrays(np.tile(d.loss, 2), np.tile(d.n_train, 2), np.tile(d.value, 2),
                                n_eval=np.tile(d.n_eval, 2), seed=np.tile(d.seed, 2), shots=5)
    doubled = LawData.from_arrays(d.loss, d.n_train, d.value, n_eval=2 * d.n_eval, seed=d.seed, shots=5)
    a, b = Likelihood(twice, "logpower", "relu", 30.0, 5.0), Likelihood(doubled, "logpower", "relu", 30.0, 5.0)
    assert a.n_points == b.n_points == LOSSES.size * 5  # cost grows with points, not rows
    p = TRUE.vector()[None, :]
    assert a.nll(p)[0] == pytest.approx(b.nll(p)[0], rel=1e-12)
    la, lb = fit_law(twice, d0=5.0), fit_law(doubled, d0=5.0)
    assert la.few_shot_emergence_point == pytest.approx(lb.few_shot_emergence_point, abs=1e-6)
    assert la.nll == pytest.approx(lb.nll, rel=1e-9)


def test_the_optimisers_blocks_do_not_change_its_result(monkeypatch):
    d = law_data(draw_rows(TRUE, LOSSES, [16, 64, 256, 1024], seeds=2, rng=3))
    lik = Likelihood(d, "logpower", "relu", 30.0, 5.0)
    bounds = param_bounds(d, "logpower")
    W = np.random.default_rng(0).multinomial(d.n_rows, np.full(d.n_rows, 1 / d.n_rows), size=9).astype(float)
    P0 = np.tile(TRUE.vector(), (9, 1)) * np.random.default_rng(4).uniform(0.9, 1.1, (9, 6))
    P1, f1 = batch_fit(lik, P0, W, bounds)
    monkeypatch.setattr(optimise_mod, "BLOCK_ELEMENTS", lik.n_points * 2)  # 2 problems per block
    P2, f2 = batch_fit(lik, P0, W, bounds)
    np.testing.assert_allclose(f2, f1, rtol=1e-13)
    np.testing.assert_allclose(P2, P1, rtol=1e-12, atol=1e-14)


def test_the_bootstraps_groups_do_not_change_the_interval(monkeypatch):
    d = law_data(draw_rows(TRUE, LOSSES, [16, 64, 256, 1024], seeds=2, rng=5))
    law = fit_law(d)
    one, r1 = bootstrap_law(d, law, n=40, seed=3, profile_likelihood=False)
    monkeypatch.setattr(bootstrap_mod, "GROUP_ELEMENTS", 1)  # one replicate per group
    many, r2 = bootstrap_law(d, law, n=40, seed=3, profile_likelihood=False)
    np.testing.assert_allclose(r2.samples, r1.samples, rtol=1e-12)
    assert many.interval == pytest.approx(one.interval, rel=1e-12)


def test_pruning_hopeless_profile_fits_leaves_the_ridge_as_it_was(monkeypatch):
    """Constrained fits 25 nats worse than their point's best stop early: the ridge is the one that runs
    every fit to its end (on a table whose D0 range holds values the data rule out)."""
    d = law_data(draw_rows(TRUE, np.linspace(2.3, 4.2, 12), [16, 64, 256, 1024], seeds=2, rng=1, spec=Misspecification(n_eval=1000)))
    law = fit_law(d)
    pruned = profile_prediction(d, law)
    monkeypatch.setattr("emergence_laws.laws.profile.PRUNE_NATS", np.inf)
    full = profile_prediction(d, law)
    assert (pruned.lo, pruned.hi, pruned.open_lo, pruned.open_hi) == (full.lo, full.hi, full.open_lo, full.open_hi)


def test_the_elbow_fit_on_rows_is_the_fit_on_their_means():
    """fit_elbow groups rows by loss: the same curve given as its per-loss weighted means (weights = the
    rows' total) has the same elbow, slope and floor."""
    rng = np.random.default_rng(0)
    loss = np.repeat(np.linspace(2.0, 3.0, 15), 4)
    w = rng.integers(100, 400, loss.size).astype(float)
    value = np.clip(0.25 + 0.9 * np.maximum(2.55 - loss, 0) + rng.normal(0, 0.02, loss.size), 0, 1)
    rows = fit_elbow(loss, value, n_eval=w)
    u, inv = np.unique(loss, return_inverse=True)
    wm = np.bincount(inv, weights=w)
    means = fit_elbow(u, np.bincount(inv, weights=w * value) / wm, n_eval=wm)
    assert rows.emerged and means.emerged
    assert rows.E == pytest.approx(means.E, abs=1e-9) and rows.A == pytest.approx(means.A, rel=1e-9)
    assert rows.B == pytest.approx(means.B, rel=1e-9)


# -- progress ------------------------------------------------------------------------------------


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("EMERGENCE_PROGRESS")}
    return subprocess.run([sys.executable, "-m", "emergence_laws", *args], capture_output=True, text=True,
                          timeout=HANG_GUARD_S, check=False, env={**full, **env})


def test_fit_reports_progress_lines_without_a_terminal():
    """Forced to print a line at every update (interval 0): the bootstrap says how many replicates run and
    what --bootstrap trades, then counts them with an ETA; the ridge counts its fits. stdout stays JSON."""
    r = _cli("fit", EXAMPLE, "--json", "--bootstrap", "60", EMERGENCE_PROGRESS="lines",
             EMERGENCE_PROGRESS_INTERVAL="0")
    assert r.returncode == 0, r.stderr
    json.loads(r.stdout)
    err = r.stderr.splitlines()
    assert any(line.startswith("emergence: bootstrap: 60 replicates") and "--bootstrap N trades" in line
               for line in err), r.stderr
    assert any(line.startswith("emergence: bootstrap 60/60 replicates (100%)") for line in err), r.stderr
    ridge = [line for line in err if line.startswith("emergence: likelihood ridge")]
    assert ridge and all(("eta" in line) or ("done in" in line) for line in ridge), r.stderr
    quiet = _cli("fit", EXAMPLE, "--json", "--bootstrap", "60", "--no-progress", EMERGENCE_PROGRESS="lines",
                 EMERGENCE_PROGRESS_INTERVAL="0")
    assert quiet.returncode == 0 and "emergence: bootstrap" not in quiet.stderr
    assert json.loads(quiet.stdout)["interval"] == json.loads(r.stdout)["interval"]  # progress changes nothing


def test_backtest_reports_progress_of_its_bootstrap():
    r = _cli("backtest", EXAMPLE, "--task", "mc4_reasoning", "--cutoff-loss", "2.9", "--bootstrap", "40",
             EMERGENCE_PROGRESS="lines", EMERGENCE_PROGRESS_INTERVAL="0")
    assert r.returncode == 0, r.stderr
    assert "emergence: bootstrap 40/40 replicates (100%)" in r.stderr
    assert "predicted" in r.stdout
