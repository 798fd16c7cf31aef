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
    """The mean of every row for R parameter vectors, and the pieces of its Jacobian; all (R, n)."""

    mu: np.ndarray  #: predicted metric
    u: np.ndarray  #: g^alpha, with g = log D (logpower) or D (power)
    logg: np.ndarray  #: log g (0 where g <= 0)
    r: np.ndarray  #: elbow(E - L): ReLU or softplus, nats
    dr: np.ndarray  #: its derivative in E


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
        self.g = shift_basis(form, np.where(self.is_fewshot, d0, data.n_train))
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
        """``g`` per row, (1, n) with the default ``D0``, or (R, n) with one ``D0`` per vector."""
        if d0 is None:
            return self.g[None, :]
        g0 = shift_basis(self.form, np.asarray(d0, dtype=float).reshape(-1))
        return np.where(self.is_fewshot[None, :], g0[:, None], self.g[None, :])

    def mean(self, P: np.ndarray, d0: np.ndarray | None = None) -> Mean:
        """Row means and Jacobian pieces for parameter vectors ``P`` (R, 6)."""
        P = np.atleast_2d(P)
        k, a, C, A, B, dl = (P[:, i : i + 1] for i in range(6))
        g = self.basis(d0)
        logg = np.log(np.where(g > 0, g, 1.0))
        u = np.power(g, a)
        z = k * u + C - self.L[None, :]
        if self.elbow == "relu":
            r = np.maximum(z, 0.0)
            dr = (z > 0).astype(float)
        else:
            r = softplus(z, self.beta)
            dr = 0.5 * (1.0 + np.tanh(0.5 * self.beta * z))
        mu = A * r + B + dl * self.fs[None, :]
        return Mean(mu, u, np.broadcast_to(logg, u.shape), r, dr)

    def jacobian(self, P: np.ndarray, m: Mean) -> np.ndarray:
        """``d mu / d p``: (R, n, 6)."""
        P = np.atleast_2d(P)
        k, A = P[:, 0:1], P[:, 3:4]
        Adr = A * m.dr
        return np.stack(
            [Adr * m.u, Adr * k * m.u * m.logg, Adr, m.r, np.ones_like(m.r), np.broadcast_to(self.fs, m.r.shape)],
            axis=2,
        )

    # -- the likelihood ---------------------------------------------------------------------
    def terms(self, mu: np.ndarray, W: np.ndarray, derivatives: bool = False):
        """``nll`` (R,) of row means ``mu`` (R, n) under row weights ``W`` (R, n).

        With ``derivatives``: also ``dmu`` = d nll / d mu and ``info``, the expected curvature
        (Fisher information) per row, both (R, n). Binomial rows: above 1 the metric saturates (flat);
        below 0 the log-likelihood is extended linearly from ``p = EPS``, so optimisers are pushed
        back inside. Gaussian rows: the variance is profiled out (``m/2 log(SS/m)``).
        """
        W = np.atleast_2d(W)
        y = self.y[None, :]
        nll = np.zeros(mu.shape[0])
        dmu = np.zeros_like(mu) if derivatives else None
        info = np.zeros_like(mu) if derivatives else None
        if self.any_binom:
            pc = np.clip(mu, EPS, 1 - EPS)
            wb = W * self.nb[None, :]
            nll -= np.sum(wb * (y * np.log(pc) + (1 - y) * np.log1p(-pc)), axis=1)
            slope = -wb * (y - pc) / (pc * (1 - pc))
            below = mu < EPS
            if np.any(below):
                nll += np.sum(np.where(below, slope * (mu - pc), 0.0), axis=1)
            if derivatives:
                inside = mu < 1 - EPS
                dmu += np.where(inside, slope, 0.0)
                pi = np.clip(mu, 1e-3, 1 - 1e-3)
                info += np.where(inside, wb / (pi * (1 - pi)), 0.0)
        if self.any_gauss:
            wg = W * self.gauss[None, :]
            m = wg.sum(axis=1, keepdims=True)
            res = y - mu
            ss = np.sum(wg * res * res, axis=1, keepdims=True) + 1e-12 * m
            safe_m = np.where(m > 0, m, 1.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                nll += np.where(m[:, 0] > 0, 0.5 * m[:, 0] * np.log(ss[:, 0] / safe_m[:, 0]), 0.0)
            if derivatives:
                s2 = np.where(m > 0, ss / safe_m, 1.0)
                dmu -= wg * res / s2
                info += wg / s2
        return (nll, dmu, info) if derivatives else nll

    def nll(self, P: np.ndarray, W: np.ndarray, d0: np.ndarray | None = None) -> np.ndarray:
        """Negative log-likelihood (R,) of parameter vectors ``P`` (R, 6) under row weights ``W`` (R, n)."""
        return self.terms(self.mean(P, d0).mu, W)

    def derivatives(self, P: np.ndarray, W: np.ndarray, d0: np.ndarray | None = None):
        """``(nll (R,), gradient (R, 6), Fisher information (R, 6, 6))`` at ``P``."""
        m = self.mean(P, d0)
        nll, dmu, info = self.terms(m.mu, W, derivatives=True)
        J = self.jacobian(P, m)
        grad = np.einsum("rn,rnp->rp", dmu, J)
        fisher = np.einsum("rnp,rn,rnq->rpq", J, info, J)
        return nll, grad, fisher

    def __call__(self, p: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
        """One vector: ``(nll, gradient)``, the form scipy's minimisers take (``jac=True``)."""
        m = self.mean(p[None, :])
        nll, dmu, _ = self.terms(m.mu, w[None, :], derivatives=True)
        grad = np.einsum("rn,rnp->rp", dmu, self.jacobian(p[None, :], m))
        return float(nll[0]), grad[0]


def pearson_dispersion(lik: Likelihood, p: np.ndarray) -> float:
    """Pearson chi^2 / (rows - 6) of the binomial rows at ``p`` (1 = binomial noise only; > 1 = overdispersed).

    Returns 1.0 when there are no binomial rows or too few to tell.
    """
    if not lik.any_binom:
        return 1.0
    mu = np.clip(lik.mean(p[None, :]).mu[0], 1e-3, 1 - 1e-3)
    b = lik.binom
    dof = int(b.sum()) - 6
    if dof < 5:
        return 1.0
    x2 = float(np.sum(lik.nb[b] * (lik.y[b] - mu[b]) ** 2 / (mu[b] * (1 - mu[b]))))
    return max(x2 / dof, 1.0) if math.isfinite(x2) else 1.0
