"""The negative log-likelihood of the joint emergence law, on sufficient statistics, for R parameter vectors at a time.

The mean of a row (:class:`~emergence_laws.laws.data.LawData`) is
``A * elbow(E_theta(D) - L) + B + delta * [few-shot]`` (:mod:`~emergence_laws.laws.law`), where a
few-shot row's ``D`` is ``D0``. It depends on the row only through its checkpoint's loss ``L`` and its
data amount, so rows that share both — the random subsets of one checkpoint and amount, repeated
evaluations — are one *point*. Noise: binomial for rows whose ``value`` is a proportion with known
``n_eval`` (a point keeps ``successes = sum w n_eval value`` and ``trials = sum w n_eval``); Gaussian
with a profiled common variance for the others (a point keeps its total weight and weighted mean;
the spread within points is a constant per weight vector). The log-likelihood of the rows is the
log-likelihood of the points plus that constant, so every pass over the data costs one operation
per point, not per row (nats of log-likelihood).

Everything is batched: ``P`` is (R, 6) (order :data:`~emergence_laws.laws.law.PARAM_NAMES`); the row
weights (bootstrap counts; 1 for the point fit) enter as :class:`Counts` (R, points), built once by
:meth:`Likelihood.counts` (methods also take row weights ``W`` (R, rows) and convert them); ``d0``
optionally (R,): one low-data limit per parameter vector. The point fit is the case R = 1
(:meth:`Likelihood.__call__`, for scipy).
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
    """The mean of every point for R parameter vectors, and the pieces of its Jacobian.

    Point arrays are (R, points); ``E_theta(D)`` and its derivatives depend on the point only through
    its data amount, so they are kept per level (R, levels): level 0 is the few-shot points (``D0``).
    """

    mu: np.ndarray  #: predicted metric, (R, points)
    r: np.ndarray  #: elbow(E - L): ReLU or softplus, nats, (R, points)
    dr: np.ndarray  #: its derivative in E, (R, points)
    dE_dk: np.ndarray  #: d E_theta(D) / d k = g^alpha per level, g = log D (logpower) or D (power)
    dE_dalpha: np.ndarray  #: d E_theta(D) / d alpha = k g^alpha log g per level

    def rows(self, i: np.ndarray) -> Mean:
        """The means of parameter vectors ``i`` only."""
        return Mean(self.mu[i], self.r[i], self.dr[i], self.dE_dk[i], self.dE_dalpha[i])


@dataclass(frozen=True)
class Counts:
    """Sufficient statistics of the rows of each point under R weight vectors.

    Arrays are (B, points) (``gss``: (B,)); ``take`` maps the R problems of a batch onto their rows
    (None: one row per problem, or one row shared by all when B = 1), so the starts of a bootstrap
    replicate share its counts without copies.

    Attributes:
        succ: binomial successes ``sum w n_eval value`` (0 on Gaussian points).
        fails: binomial failures ``sum w n_eval (1 - value)`` (0 on Gaussian points).
        trials: their sum, ``sum w n_eval``.
        gw: total weight of the Gaussian rows (None without Gaussian rows).
        gy: their weighted mean value (0 where ``gw`` is 0).
        gss: their weighted sum of squares about the points' means, summed over points, (B,).
    """

    succ: np.ndarray
    fails: np.ndarray
    trials: np.ndarray
    gw: np.ndarray | None = None
    gy: np.ndarray | None = None
    gss: np.ndarray | None = None
    take: np.ndarray | None = None

    @property
    def shared(self) -> bool:
        """One weight vector for every problem (the point fit, profiles)."""
        return self.take is None and self.succ.shape[0] == 1

    def rows(self, i) -> Counts:
        """The counts of problems ``i`` (lazy: an index, no copy)."""
        if self.shared:
            return self
        i = np.asarray(i)
        return Counts(self.succ, self.fails, self.trials, self.gw, self.gy, self.gss,
                      i if self.take is None else self.take[i])

    def repeat(self, k: int) -> Counts:
        """The counts of ``k`` problems per weight vector, laid out as ``np.tile(W, (k, 1))``."""
        if self.shared:
            return self
        base = np.arange(self.succ.shape[0]) if self.take is None else self.take
        return Counts(self.succ, self.fails, self.trials, self.gw, self.gy, self.gss, np.tile(base, k))

    def get(self, name: str) -> np.ndarray:
        """Array ``name`` with one row per problem (a broadcastable single row when shared)."""
        a = getattr(self, name)
        return a if self.take is None else a[self.take]


class Likelihood:
    """Negative log-likelihood of the joint law over the points of ``data`` (see the module docstring).

    ``d0`` is the low-data limit used for the few-shot points unless a call passes one per vector.
    """

    def __init__(self, data: LawData, form: str, elbow: str, beta: float, d0: float):
        if form not in SHIFT_FORMS:
            raise InputError(f"form {form!r} unknown; use one of {', '.join(SHIFT_FORMS)}")
        if elbow not in ELBOW_FORMS:
            raise InputError(f"elbow {elbow!r} unknown; use one of {', '.join(ELBOW_FORMS)}")
        self.form, self.elbow, self.beta, self.d0 = form, elbow, float(beta), float(d0)
        self.n_rows = int(data.n_rows)
        # E_theta(D) takes one value per data amount: compute it per level (0 = few-shot, D0), then index
        amounts, inv = np.unique(data.n_train, return_inverse=True)
        if amounts[0] == 0:
            level = inv
            self.levels = amounts.astype(float)
        else:
            level = inv + 1
            self.levels = np.concatenate([[0.0], amounts.astype(float)])
        nb = data.binomial_counts()
        binom = np.isfinite(nb)
        # points: rows sharing (level, noise, loss); sorted by level, so each level is one block
        keys = np.stack([level.astype(float), (~binom).astype(float), data.loss], axis=1)
        uniq, point = np.unique(keys, axis=0, return_inverse=True)
        point = point.reshape(-1)
        self.point = point  #: the point of each row, (rows,)
        self.level = uniq[:, 0].astype(np.int64)  #: data-amount level of each point
        self.binom = uniq[:, 1] == 0  #: binomial points (the others are Gaussian)
        self.L = uniq[:, 2]  #: loss of each point, nats
        self.fs = (self.level == 0).astype(float)  #: few-shot points
        self.is_fewshot = self.fs > 0
        self.n_points = int(uniq.shape[0])
        present = np.unique(self.level)
        self._level_ids = present
        self._level_starts = np.searchsorted(self.level, present)
        ends = np.append(self._level_starts[1:], self.n_points)
        self._level_blocks = [(int(lv), int(a), int(b)) for lv, a, b in zip(present, self._level_starts, ends)]
        self._n_fewshot = int(np.sum(self.level == 0))  # the few-shot points come first
        order = np.argsort(point, kind="stable")
        self._order = order
        self._starts = np.flatnonzero(np.r_[True, np.diff(point[order]) != 0])
        self.y = data.value
        self.row_binom = binom
        self.nb = np.where(binom, nb, 0.0)  #: n_eval of binomial rows (0 on Gaussian rows)
        self.any_binom = bool(binom.any())
        self.any_gauss = bool((~binom).any())
        self.noise = "binomial" if not self.any_gauss else ("gaussian" if not self.any_binom else "mixed")
        self.unit = self.counts(np.ones((1, self.n_rows)))  #: the counts of the point fit (every row once)

    # -- sufficient statistics ------------------------------------------------------------
    def _by_point(self, X: np.ndarray) -> np.ndarray:
        """Sums of the columns (rows of the data) of ``X`` (B, rows) within each point: (B, points)."""
        return np.add.reduceat(X[:, self._order], self._starts, axis=1)

    def counts(self, W=None) -> Counts:
        """:class:`Counts` of row weights ``W`` (B, rows) or (rows,); None: every row once (shared)."""
        if W is None:
            return self.unit
        if isinstance(W, Counts):
            return W
        W = np.atleast_2d(np.asarray(W, dtype=float))
        if W.shape[1] != self.n_rows:
            raise InputError(f"row weights: {W.shape[1]} columns for {self.n_rows} rows; pass one weight per row")
        succ = self._by_point(W * (self.nb * self.y)[None, :])
        fails = self._by_point(W * (self.nb * (1.0 - self.y))[None, :])
        trials = succ + fails
        gw = gy = gss = None
        if self.any_gauss:
            wg = W * (~self.row_binom)[None, :]
            gw = self._by_point(wg)
            gy = np.divide(self._by_point(wg * self.y[None, :]), gw, out=np.zeros_like(gw), where=gw > 0)
            res = self.y[None, :] - gy[:, self.point]
            gss = np.sum(wg * res * res, axis=1)
        return Counts(succ, fails, trials, gw, gy, gss)

    def level_sums(self, X: np.ndarray) -> np.ndarray:
        """Sums of ``X`` (..., points) over the points of each level: (..., levels)."""
        out = np.zeros((*X.shape[:-1], self.levels.size))
        out[..., self._level_ids] = np.add.reduceat(X, self._level_starts, axis=-1)
        return out

    # -- the mean ---------------------------------------------------------------------------
    def basis(self, d0: np.ndarray | None = None) -> np.ndarray:
        """``g`` per data-amount level (level 0 = few-shot at ``D0``): (1, levels) or (R, levels)."""
        d0 = np.array([self.d0]) if d0 is None else np.asarray(d0, dtype=float).reshape(-1)
        g = np.broadcast_to(shift_basis(self.form, self.levels), (d0.size, self.levels.size)).copy()
        g[:, 0] = shift_basis(self.form, d0)
        return g

    def mean(self, P: np.ndarray, d0: np.ndarray | None = None) -> Mean:
        """Point means and Jacobian pieces for parameter vectors ``P`` (R, 6)."""
        P = np.atleast_2d(P)
        k, a, C, A, B, dl = (P[:, i : i + 1] for i in range(6))
        g = self.basis(d0)
        logg = np.log(np.where(g > 0, g, 1.0))
        u = np.exp(a * logg) * (g > 0)  # g^alpha per level (g = 0 only at D = 1 of the log form)
        E = k * u + C  # E_theta per level, (R, levels)
        z = np.empty((P.shape[0], self.n_points))
        for lv, lo, hi in self._level_blocks:  # the points of one level are one block
            np.subtract(E[:, lv : lv + 1], self.L[None, lo:hi], out=z[:, lo:hi])
        if self.elbow == "relu":
            dr = (z > 0).astype(float)
            r = np.maximum(z, 0.0, out=z)
        else:
            r = softplus(z, self.beta)
            dr = 0.5 * (1.0 + np.tanh(0.5 * self.beta * z))
        mu = r * A
        mu += B
        if self._n_fewshot and dl.any():
            mu[:, : self._n_fewshot] += dl
        return Mean(mu, r, dr, u, k * u * logg)

    def jacobian(self, P: np.ndarray, m: Mean) -> np.ndarray:
        """``d mu / d p`` written out, (R, points, 6): the definition :meth:`derivatives` sums by level."""
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
    def terms(self, mu: np.ndarray, W) -> np.ndarray:
        """``nll`` (R,) of point means ``mu`` (R, points) under counts (or row weights) ``W``.

        Binomial points: above 1 the metric saturates (flat); below 0 the log-likelihood is extended
        linearly from ``p = EPS``, so optimisers are pushed back inside. Gaussian points: the variance
        is profiled out (``m/2 log(SS/m)`` for total weight ``m`` and weighted sum of squares ``SS``).
        """
        c = self.counts(W)
        nll = np.zeros(mu.shape[0])
        if self.any_binom:
            s = c.get("succ")
            pc = np.clip(mu, EPS, 1 - EPS)
            ll = np.log(pc)
            ll *= s
            lf = np.log1p(-pc)
            lf *= c.get("fails")
            ll += lf
            nll -= ll.sum(axis=1)
            below = mu < EPS
            if below.any():
                t = c.get("trials")
                nll += np.sum(np.where(below, -(s - t * pc) / (pc * (1 - pc)) * (mu - pc), 0.0), axis=1)
        if self.any_gauss:
            m, ss = self._gauss_sums(mu, c)
            with np.errstate(divide="ignore", invalid="ignore"):
                nll += np.where(m > 0, 0.5 * m * np.log(ss / np.where(m > 0, m, 1.0)), 0.0)
        return nll

    def score(self, mu: np.ndarray, W) -> tuple[np.ndarray, np.ndarray]:
        """The derivatives of :meth:`terms` in ``mu``: ``(d nll / d mu, Fisher information per point)``, (R, points) each."""
        c = self.counts(W)
        if self.any_gauss:
            dmu, info = np.zeros_like(mu), np.zeros_like(mu)
        if self.any_binom:
            s, t = c.get("succ"), c.get("trials")
            pc = np.clip(mu, EPS, 1 - EPS)
            d = t * pc
            d -= s
            d /= pc * (1 - pc)
            pi = np.clip(mu, 1e-3, 1 - 1e-3)
            i = pi * (1 - pi)
            np.divide(t, i, out=i)
            outside = mu >= 1 - EPS  # saturated: the log-likelihood is flat there
            if outside.any():
                d[outside] = 0.0
                i[outside] = 0.0
            if not self.any_gauss:
                return d, i
            dmu += d
            info += i
        if self.any_gauss:
            m, ss = self._gauss_sums(mu, c)
            s2 = np.where(m > 0, ss / np.where(m > 0, m, 1.0), 1.0)[:, None]
            gw = c.get("gw")
            dmu -= gw * (c.get("gy") - mu) / s2
            info += gw / s2
        return dmu, info

    def _gauss_sums(self, mu: np.ndarray, c: Counts) -> tuple[np.ndarray, np.ndarray]:
        """Total weight ``m`` and weighted sum of squared residuals ``SS`` of the Gaussian rows, (R,) each."""
        gw = c.get("gw")
        m = np.broadcast_to(gw.sum(axis=1), mu.shape[:1])
        res = c.get("gy") - mu
        return m, np.sum(gw * res * res, axis=1) + c.get("gss") + 1e-12 * m

    def nll(self, P: np.ndarray, W=None, d0: np.ndarray | None = None) -> np.ndarray:
        """Negative log-likelihood (R,) of parameter vectors ``P`` (R, 6) under counts or row weights ``W``."""
        return self.terms(self.mean(P, d0).mu, W)

    def derivatives(self, P: np.ndarray, W=None, d0: np.ndarray | None = None, mean: Mean | None = None):
        """``(gradient (R, 6), Fisher information (R, 6, 6))`` of :meth:`nll` at ``P`` (``mean``: its :meth:`mean`, if known)."""
        P = np.atleast_2d(P)
        m = self.mean(P, d0) if mean is None else mean
        dmu, info = self.score(m.mu, W)
        # J = [A dr u, A dr v, A dr, r, 1, fs] with u, v per level: sum over the points of each level first
        A = P[:, 3:4]
        relu = self.elbow == "relu"  # dr is 0 or 1, so dr^2 = dr and dr r = r
        T = np.empty((7 if relu else 9, *dmu.shape))
        np.multiply(info, m.dr, out=T[0])
        np.multiply(info, m.r, out=T[1])
        np.multiply(T[1], m.r, out=T[2])
        T[3] = info
        np.multiply(dmu, m.dr, out=T[4])
        np.multiply(dmu, m.r, out=T[5])
        T[6] = dmu
        if not relu:
            np.multiply(T[0], m.dr, out=T[7])
            np.multiply(T[0], m.r, out=T[8])
        sums = self.level_sums(T)  # (7 or 9, R, levels)
        Idr, Ir, Irr, I1, Ddr, Dr, D1 = sums[:7]
        Idrdr, Idrr = (Idr, Ir) if relu else (sums[7], sums[8])
        X = Idrdr * (A * A)  # (R, levels)
        Y = Idrr * A
        Z = Idr * A
        Bl = Ddr * A
        # E_theta's derivatives per level: dE/dk = u, dE/dalpha = v, dE/dC = 1
        U = np.stack([m.dE_dk, m.dE_dalpha, np.ones_like(m.dE_dk)], axis=1)  # (R, 3, levels)
        F = np.empty((P.shape[0], 6, 6))
        F[:, :3, :3] = (U * X[:, None, :]) @ U.transpose(0, 2, 1)
        F[:, :3, 3] = (U @ Y[:, :, None])[:, :, 0]
        F[:, :3, 4] = (U @ Z[:, :, None])[:, :, 0]
        F[:, :3, 5] = U[:, :, 0] * Z[:, :1]
        F[:, 3, 3], F[:, 3, 4], F[:, 3, 5] = Irr.sum(1), Ir.sum(1), Ir[:, 0]
        F[:, 4, 4], F[:, 4, 5], F[:, 5, 5] = I1.sum(1), I1[:, 0], I1[:, 0]
        F[:, _LOWER[0], _LOWER[1]] = F[:, _LOWER[1], _LOWER[0]]
        grad = np.empty((P.shape[0], 6))
        grad[:, :3] = (U @ Bl[:, :, None])[:, :, 0]
        grad[:, 3], grad[:, 4], grad[:, 5] = Dr.sum(1), D1.sum(1), D1[:, 0]
        return grad, F

    def __call__(self, p: np.ndarray, w=None) -> tuple[float, np.ndarray]:
        """One vector: ``(nll, gradient)``, the form scipy's minimisers take (``jac=True``).

        ``w``: row weights (rows,) or :class:`Counts` (convert once with :meth:`counts` when calling often)."""
        c = self.counts(w)
        m = self.mean(p[None, :])
        grad, _ = self.derivatives(p[None, :], c, mean=m)
        return float(self.terms(m.mu, c)[0]), grad[0]


#: Index pairs (i > j) of the lower triangle of a 6 x 6 matrix, filled from the upper one.
_LOWER = np.tril_indices(6, -1)


def pearson_dispersion(lik: Likelihood, p: np.ndarray, d0: float | None = None) -> float:
    """Pearson chi^2 / (rows - 6) of the binomial rows at ``p`` (1 = binomial noise only; > 1 = overdispersed).

    ``d0`` overrides the likelihood's D0. Returns 1.0 when there are no binomial rows or too few to tell,
    and never less than 1.
    """
    if not lik.any_binom:
        return 1.0
    mu = np.clip(lik.mean(p[None, :], None if d0 is None else np.array([d0])).mu[0], 1e-3, 1 - 1e-3)[lik.point]
    b = lik.row_binom
    dof = int(b.sum()) - 6
    if dof < 5:
        return 1.0
    x2 = float(np.sum(lik.nb[b] * (lik.y[b] - mu[b]) ** 2 / (mu[b] * (1 - mu[b]))))
    return max(x2 / dof, 1.0) if math.isfinite(x2) else 1.0
