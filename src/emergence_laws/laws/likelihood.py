"""The negative log-likelihood of the joint emergence law, written once, for R parameter vectors at a time.

Rows are the evaluations of :class:`~emergence_laws.laws.data.LawData`. The mean of a row is
``A * elbow(E_theta(D) - L) + B + delta * [few-shot]`` (:mod:`~emergence_laws.laws.law`), where a
few-shot row's ``D`` is ``D0``. Noise: binomial for rows whose ``value`` is a proportion with known
``n_eval``; Gaussian with a profiled common variance for the others (nats of log-likelihood).

Everything is batched: ``P`` is (R, 6) (order :data:`~emergence_laws.laws.law.PARAM_NAMES`), ``W``
(R, n) row weights (bootstrap counts; 1 for the point fit), and ``d0`` optionally (R,) — one
low-data limit per parameter vector. The point fit is the case R = 1 (:meth:`Likelihood.__call__`,
for scipy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emergence_laws.errors import InputError
from emergence_laws.laws.data import LawData
from emergence_laws.laws.forms import ELBOW_FORMS, SHIFT_FORMS, shift_basis, softplus

#: Proportions are clipped to [EPS, 1 - EPS] inside the binomial log-likelihood.
EPS = 1e-6


@dataclass(frozen=True)
class Mean:
    """The mean of every row for R parameter vectors, and the pieces of its Jacobian.

    Row arrays are (R, n); ``E_theta(D)`` and its derivatives depend on the row only through its data
    amount, so they are kept per level (R, levels): level 0 is the few-shot rows (``D0``).
    """

    mu: np.ndarray  #: predicted metric, (R, n)
    r: np.ndarray  #: elbow(E - L): ReLU or softplus, nats, (R, n)
    dr: np.ndarray  #: its derivative in E, (R, n)
    dE_dk: np.ndarray  #: d E_theta(D) / d k = g^alpha per level, g = log D (logpower) or D (power)
    dE_dalpha: np.ndarray  #: d E_theta(D) / d alpha = k g^alpha log g per level

    def rows(self, i: np.ndarray) -> Mean:
        """The means of parameter vectors ``i`` only."""
        return Mean(self.mu[i], self.r[i], self.dr[i], self.dE_dk[i], self.dE_dalpha[i])


class Likelihood:
    """Negative log-likelihood of the joint law over the rows of ``data`` (see the module docstring).

    ``d0`` is the low-data limit used for the few-shot rows unless a call passes one per vector.
    """

    def __init__(self, data: LawData, form: str, elbow: str, beta: float, d0: float):
        if form not in SHIFT_FORMS:
            raise InputError(f"form {form!r} unknown; use one of {', '.join(SHIFT_FORMS)}")
        if elbow not in ELBOW_FORMS:
            raise InputError(f"elbow {elbow!r} unknown; use one of {', '.join(ELBOW_FORMS)}")
        self.form, self.elbow, self.beta, self.d0 = form, elbow, float(beta), float(d0)
        self.is_fewshot = data.is_fewshot
        self.fs = self.is_fewshot.astype(float)
        # E_theta(D) takes one value per data amount: compute it per level (0 = few-shot, D0), then index
        amounts, inv = np.unique(data.n_train, return_inverse=True)
        if amounts[0] == 0:
            self.level = inv
            self.levels = amounts.astype(float)
        else:
            self.level = inv + 1
            self.levels = np.concatenate([[0.0], amounts.astype(float)])
        self.onehot = (self.level[:, None] == np.arange(self.levels.size)[None, :]).astype(float)  # (n, levels)
        self.L = data.loss
        self.y = data.value
        nb = data.binomial_counts()
        self.binom = np.isfinite(nb)
        self.nb = np.where(self.binom, nb, 0.0)
        self.gauss = ~self.binom
        self.any_binom = bool(self.binom.any())
        self.any_gauss = bool(self.gauss.any())
        self.noise = "binomial" if not self.any_gauss else ("gaussian" if not self.any_binom else "mixed")

    @property
    def n_rows(self) -> int:
        return int(self.L.shape[0])

    # -- the mean ---------------------------------------------------------------------------
    def basis(self, d0: np.ndarray | None = None) -> np.ndarray:
        """``g`` per data-amount level (level 0 = few-shot at ``D0``): (1, levels) or (R, levels)."""
        d0 = np.array([self.d0]) if d0 is None else np.asarray(d0, dtype=float).reshape(-1)
        g = np.broadcast_to(shift_basis(self.form, self.levels), (d0.size, self.levels.size)).copy()
        g[:, 0] = shift_basis(self.form, d0)
        return g

    def mean(self, P: np.ndarray, d0: np.ndarray | None = None) -> Mean:
        """Row means and Jacobian pieces for parameter vectors ``P`` (R, 6)."""
        P = np.atleast_2d(P)
        k, a, C, A, B, dl = (P[:, i : i + 1] for i in range(6))
        g = self.basis(d0)
        logg = np.log(np.where(g > 0, g, 1.0))
        u = np.exp(a * logg) * (g > 0)  # g^alpha per level (g = 0 only at D = 1 of the log form)
        E = (k * u + C)[:, self.level]
        z = E - self.L[None, :]
        if self.elbow == "relu":
            r = np.maximum(z, 0.0)
            dr = (z > 0).astype(float)
        else:
            r = softplus(z, self.beta)
            dr = 0.5 * (1.0 + np.tanh(0.5 * self.beta * z))
        mu = A * r + B + dl * self.fs[None, :]
        return Mean(mu, r, dr, u, k * u * logg)

    def jacobian(self, P: np.ndarray, m: Mean) -> np.ndarray:
        """``d mu / d p`` written out, (R, n, 6): the definition :meth:`derivatives` sums by level."""
        Adr = np.atleast_2d(P)[:, 3:4] * m.dr
        return np.stack(
            [
                Adr * m.dE_dk[:, self.level],
                Adr * m.dE_dalpha[:, self.level],
                Adr,
                m.r,
                np.ones_like(m.r),
                np.broadcast_to(self.fs, m.r.shape),
            ],
            axis=2,
        )

    # -- the likelihood ---------------------------------------------------------------------
    def terms(self, mu: np.ndarray, W: np.ndarray) -> np.ndarray:
        """``nll`` (R,) of row means ``mu`` (R, n) under row weights ``W`` (R, n).

        Binomial rows: above 1 the metric saturates (flat); below 0 the log-likelihood is extended
        linearly from ``p = EPS``, so optimisers are pushed back inside. Gaussian rows: the variance
        is profiled out (``m/2 log(SS/m)`` for total weight ``m`` and weighted sum of squares ``SS``).
        """
        W = np.atleast_2d(W)
        y = self.y[None, :]
        nll = np.zeros(mu.shape[0])
        if self.any_binom:
            pc = np.clip(mu, EPS, 1 - EPS)
            wb = W * self.nb[None, :]
            nll -= np.sum(wb * (y * np.log(pc) + (1 - y) * np.log1p(-pc)), axis=1)
            below = mu < EPS
            if np.any(below):
                nll += np.sum(np.where(below, -wb * (y - pc) / (pc * (1 - pc)) * (mu - pc), 0.0), axis=1)
        if self.any_gauss:
            m, ss = self._gauss_sums(mu, W)
            with np.errstate(divide="ignore", invalid="ignore"):
                nll += np.where(m > 0, 0.5 * m * np.log(ss / np.where(m > 0, m, 1.0)), 0.0)
        return nll

    def score(self, mu: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The derivatives of :meth:`terms` in ``mu``: ``(d nll / d mu, Fisher information per row)``, (R, n) each."""
        W = np.atleast_2d(W)
        y = self.y[None, :]
        dmu = np.zeros_like(mu)
        info = np.zeros_like(mu)
        if self.any_binom:
            pc = np.clip(mu, EPS, 1 - EPS)
            wb = W * self.nb[None, :]
            inside = mu < 1 - EPS
            dmu += np.where(inside, -wb * (y - pc) / (pc * (1 - pc)), 0.0)
            pi = np.clip(mu, 1e-3, 1 - 1e-3)
            info += np.where(inside, wb / (pi * (1 - pi)), 0.0)
        if self.any_gauss:
            m, ss = self._gauss_sums(mu, W)
            s2 = np.where(m > 0, ss / np.where(m > 0, m, 1.0), 1.0)[:, None]
            wg = W * self.gauss[None, :]
            dmu -= wg * (y - mu) / s2
            info += wg / s2
        return dmu, info

    def _gauss_sums(self, mu: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Total weight ``m`` and weighted sum of squared residuals ``SS`` of the Gaussian rows, (R,) each."""
        wg = W * self.gauss[None, :]
        m = wg.sum(axis=1)
        res = self.y[None, :] - mu
        return m, np.sum(wg * res * res, axis=1) + 1e-12 * m

    def nll(self, P: np.ndarray, W: np.ndarray, d0: np.ndarray | None = None) -> np.ndarray:
        """Negative log-likelihood (R,) of parameter vectors ``P`` (R, 6) under row weights ``W`` (R, n)."""
        return self.terms(self.mean(P, d0).mu, W)

    def derivatives(self, P: np.ndarray, W: np.ndarray, d0: np.ndarray | None = None, mean: Mean | None = None):
        """``(gradient (R, 6), Fisher information (R, 6, 6))`` of :meth:`nll` at ``P`` (``mean``: its :meth:`mean`, if known)."""
        m = self.mean(P, d0) if mean is None else mean
        dmu, info = self.score(m.mu, W)
        # J = [Adr u, Adr v, Adr, r, 1, fs] with u, v per level: sum over the rows of each level first
        Adr = np.atleast_2d(P)[:, 3:4] * m.dr
        u, v, H = m.dE_dk, m.dE_dalpha, self.onehot
        iA = info * Adr
        X, Y, Z = (iA * Adr) @ H, (iA * m.r) @ H, iA @ H  # (R, levels)
        ir = info * m.r
        F = np.empty((P.shape[0], 6, 6))
        F[:, 0, 0], F[:, 0, 1], F[:, 1, 1] = (X * u * u).sum(1), (X * u * v).sum(1), (X * v * v).sum(1)
        F[:, 0, 2], F[:, 1, 2], F[:, 2, 2] = (X * u).sum(1), (X * v).sum(1), X.sum(1)
        F[:, 0, 3], F[:, 1, 3], F[:, 2, 3] = (Y * u).sum(1), (Y * v).sum(1), Y.sum(1)
        F[:, 0, 4], F[:, 1, 4], F[:, 2, 4] = (Z * u).sum(1), (Z * v).sum(1), Z.sum(1)
        F[:, 0, 5], F[:, 1, 5], F[:, 2, 5] = Z[:, 0] * u[:, 0], Z[:, 0] * v[:, 0], Z[:, 0]
        F[:, 3, 3], F[:, 3, 4], F[:, 3, 5] = (ir * m.r).sum(1), ir.sum(1), ir @ self.fs
        F[:, 4, 4], F[:, 4, 5], F[:, 5, 5] = info.sum(1), info @ self.fs, info @ self.fs
        iu = np.triu_indices(6, 1)
        F[:, iu[1], iu[0]] = F[:, iu[0], iu[1]]
        Bl = (dmu * Adr) @ H
        grad = np.stack(
            [(Bl * u).sum(1), (Bl * v).sum(1), Bl.sum(1), (dmu * m.r).sum(1), dmu.sum(1), dmu @ self.fs], axis=1
        )
        return grad, F

    def __call__(self, p: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
        """One vector: ``(nll, gradient)``, the form scipy's minimisers take (``jac=True``)."""
        m = self.mean(p[None, :])
        grad, _ = self.derivatives(p[None, :], w[None, :], mean=m)
        return float(self.terms(m.mu, w[None, :])[0]), grad[0]


def pearson_dispersion(lik: Likelihood, p: np.ndarray, d0: float | None = None) -> float:
    """Pearson chi^2 / (rows - 6) of the binomial rows at ``p`` (1 = binomial noise only; > 1 = overdispersed).

    ``d0`` overrides the likelihood's D0. Returns 1.0 when there are no binomial rows or too few to tell,
    and never less than 1.
    """
    if not lik.any_binom:
        return 1.0
    mu = np.clip(lik.mean(p[None, :], None if d0 is None else np.array([d0])).mu[0], 1e-3, 1 - 1e-3)
    b = lik.binom
    dof = int(b.sum()) - 6
    if dof < 5:
        return 1.0
    x2 = float(np.sum(lik.nb[b] * (lik.y[b] - mu[b]) ** 2 / (mu[b] * (1 - mu[b]))))
    return max(x2 / dof, 1.0) if math.isfinite(x2) else 1.0
