"""Optimisers for the emergence-law likelihood: parameter bounds, starting points, and two minimisers.

- :func:`batch_fit` fits R problems at once (bootstrap replicates, several starts, one ``D0`` per
  problem) by projected Levenberg-Marquardt on the Fisher information: all replicates of a
  bootstrap cost about as much as a handful of single fits.
- :func:`minimise` polishes one vector with scipy's L-BFGS-B and the analytic gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from emergence_laws.laws.data import LawData
from emergence_laws.laws.elbow import fit_elbow
from emergence_laws.laws.forms import shift_basis
from emergence_laws.laws.law import PARAM_NAMES
from emergence_laws.laws.likelihood import Likelihood


@dataclass(frozen=True)
class Bounds:
    """Box bounds of the six parameters (order :data:`~emergence_laws.laws.law.PARAM_NAMES`); lo == hi fixes one."""

    lo: np.ndarray
    hi: np.ndarray

    def clip(self, P: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(P, dtype=float), self.lo, self.hi)

    @property
    def fixed(self) -> tuple[str, ...]:
        """Names of the parameters held fixed."""
        return tuple(n for n, lo, hi in zip(PARAM_NAMES, self.lo, self.hi) if lo == hi)

    def pairs(self) -> list[tuple[float, float]]:
        """``[(lo, hi), ...]`` as scipy takes them."""
        return [(float(a), float(b)) for a, b in zip(self.lo, self.hi)]


def param_bounds(
    data: LawData,
    form: str,
    *,
    fit_delta: bool = True,
    alpha: float | None = None,
    fixed: dict[str, float] | None = None,
) -> Bounds:
    """Bounds wide enough for any sensible law on ``data``; ``alpha`` (or ``fixed``) pins parameters.

    ``delta`` is fixed at 0 when ``fit_delta`` is false or there are no few-shot rows.
    """
    prop = bool(np.all((data.value >= 0) & (data.value <= 1)))
    ylo, yhi = float(data.value.min()), float(data.value.max())
    yspan = max(yhi - ylo, 1e-3)
    lspan = float(data.loss.max() - data.loss.min())
    a_lo, a_hi = (0.05, 5.0) if form == "logpower" else (1e-3, 2.0)
    b = (0.0, 1.0) if prop else (ylo - yspan, yhi + yspan)
    has_fs = bool(data.is_fewshot.any())
    dl = ((-1.0, 1.0) if prop else (-2 * yspan, 2 * yspan)) if (fit_delta and has_fs) else (0.0, 0.0)
    c_pad = 10.0 * max(lspan, 0.1) + 5.0
    lo = np.array([0.0, a_lo, float(data.loss.min()) - c_pad, 0.0, b[0], dl[0]])
    hi = np.array([50.0, a_hi, float(data.loss.max()) + c_pad, 1e3 * yspan / max(lspan, 1e-3), b[1], dl[1]])
    pins = dict(fixed or {})
    if alpha is not None:
        pins["alpha"] = float(alpha)
    for name, v in pins.items():
        i = PARAM_NAMES.index(name)
        lo[i] = hi[i] = float(v)
    return Bounds(lo, hi)


def starts(data: LawData, form: str, bounds: Bounds, n_starts: int, *, slopes: bool = False) -> np.ndarray:
    """Starting vectors from per-amount elbow fits and a small grid over alpha: ``(n_starts, 6)``.

    The ``n_starts`` alphas whose line ``E(D) = k g^alpha + C`` best fits the per-amount elbows (ties,
    e.g. two emerged amounts that every alpha fits exactly, keep the grid's order). With ``slopes``,
    each alpha is started at the smallest, median and largest per-amount slope ``A`` (up to
    ``3 n_starts`` rows): the likelihood has modes that differ in ``A``, and a single median slope
    can miss the best one.
    """
    ne = data.n_eval
    pts, As, Bs = [], [], []
    for d in data.amounts:
        m = data.n_train == d
        if np.unique(data.loss[m]).size < 2:
            continue
        ef = fit_elbow(data.loss[m], data.value[m], n_eval=None if ne is None else ne[m])
        if ef.emerged:
            pts.append((float(d), ef.E))
            As.append(ef.A)
            Bs.append(ef.B)
    fs = data.is_fewshot
    B_fs = None
    if fs.sum() >= 2 and np.unique(data.loss[fs]).size >= 2:
        B_fs = fit_elbow(data.loss[fs], data.value[fs], n_eval=None if ne is None else ne[fs]).B
    if not As:  # nothing emerged: the caller normally refuses before; fall back to crude values
        ys = data.value
        As, Bs = [max(float(ys.max() - ys.min()), 1e-3)], [float(np.quantile(ys, 0.1))]
        pts = [(float(data.amounts.max()), float(data.loss.min()))]
    A0, B0 = float(np.median(As)), float(np.median(Bs))
    dl_lo, dl_hi = bounds.lo[5], bounds.hi[5]
    dl0 = 0.0 if B_fs is None or dl_lo == dl_hi else float(np.clip(B_fs - B0, dl_lo, dl_hi))
    a_lo, a_hi = bounds.lo[1], bounds.hi[1]
    alphas = [a_lo] if a_lo == a_hi else [a for a in (1.0, 0.5, 2.0, 0.25, 3.0, 1.5) if a_lo <= a <= a_hi]
    dd = np.array([p[0] for p in pts])
    ee = np.array([p[1] for p in pts])
    cands = []
    for a in alphas:
        x = np.power(shift_basis(form, dd), a)
        if dd.size >= 2 and np.ptp(x) > 0:
            k, C = np.polyfit(x, ee, 1)
            if k < 0:
                k, C = 0.0, float(ee.mean())
        else:
            k = 0.05 / max(float(x.mean()), 1e-9) if form == "power" else 0.05
            C = float(ee.mean() - k * x.mean())
        sse = float(np.sum((k * x + C - ee) ** 2))
        cands.append((sse, a, k, C))
    # rank by the line's misfit, rounded so that ties (float noise) keep the grid's order
    scale = max(float(np.sum((ee - ee.mean()) ** 2)), 1e-12)
    order = sorted(range(len(cands)), key=lambda i: (round(cands[i][0] / scale, 6), i))
    A_opts = [A0]
    if slopes:
        A_opts += [a for a in (float(np.min(As)), float(np.max(As))) if not np.isclose(a, A0, rtol=1e-3)]
    out = []
    for i in order[:n_starts]:
        _, a, k, C = cands[i]
        out += [bounds.clip([k, a, C, A, B0, dl0]) for A in A_opts]
    return np.array(out)


#: Problem x point elements evaluated at once: problems go through the likelihood in blocks whose
#: arrays stay in the CPU's cache (a whole bootstrap at once streams every array through memory).
BLOCK_ELEMENTS: int = 1 << 16


def blocks(n: int, n_points: int) -> list[np.ndarray]:
    """Indices ``0..n-1`` in blocks of about :data:`BLOCK_ELEMENTS` / ``n_points`` problems."""
    size = max(1, BLOCK_ELEMENTS // max(int(n_points), 1))
    return [np.arange(s, min(s + size, n)) for s in range(0, n, size)]


def batch_fit(
    lik: Likelihood,
    P0: np.ndarray,
    W,
    bounds: Bounds,
    *,
    d0: np.ndarray | None = None,
    max_iter: int = 60,
    tol: float = 1e-10,
    groups: np.ndarray | None = None,
    prune: float = np.inf,
    prune_after: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit R problems at once by projected Levenberg-Marquardt; returns ``(P (R, 6), nll (R,))``.

    Fisher scoring for binomial rows, Gauss-Newton for Gaussian rows, a damping factor per
    problem, steps projected onto ``bounds``. ``W``: the problems' weights, as
    :class:`~emergence_laws.laws.likelihood.Counts` (R or shared) or row weights (R, rows); None = every
    row once. ``d0`` (R,) optional low-data limits, one per problem. A problem's gradient and
    information are computed only after it moves, in the same pass as its trial step.

    ``groups`` (R,) ints and ``prune`` (nats): where only the best problem of each group matters (the
    starts of one profile point), a problem still running after ``prune_after`` iterations stops once
    its nll is more than ``prune`` above its group's best.
    """
    lb, ub = bounds.lo, bounds.hi
    free = (ub > lb).astype(float)
    P = bounds.clip(np.array(P0, dtype=float))
    R = P.shape[0]
    counts = lik.counts(W)
    d0 = None if d0 is None else np.asarray(d0, dtype=float).reshape(-1)
    npts = lik.n_points
    f, G, H = np.empty(R), np.empty((R, 6)), np.empty((R, 6, 6))
    for b in blocks(R, npts):
        db = None if d0 is None else d0[b]
        m = lik.mean(P[b], db)
        cb = counts.rows(b)
        f[b] = lik.terms(m.mu, cb)
        G[b], H[b] = lik.derivatives(P[b], cb, db, mean=m)
    lam = np.full(R, 1e-3)
    active = np.ones(R, dtype=bool)
    mask = np.outer(free, free)  # free x free block of the information; fixed parameters get a unit diagonal
    unit = np.diag(1.0 - free)
    d = np.arange(6)
    for it in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        g = G[idx] * free
        Hd = H[idx] * mask + unit
        diag = Hd[:, d, d]
        Hd[:, d, d] = diag + lam[idx, None] * np.maximum(diag, 1e-12) + 1e-12
        try:
            step = -np.linalg.solve(Hd, g[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = -g / np.maximum(Hd[:, d, d], 1e-12)
        Pn = bounds.clip(P[idx] + step)
        fn = np.empty(idx.size)
        for j in blocks(idx.size, npts):
            b = idx[j]
            db = None if d0 is None else d0[b]
            m = lik.mean(Pn[j], db)
            fb = lik.terms(m.mu, counts.rows(b))
            fn[j] = fb
            # a problem that moves and goes on needs its derivatives at the new point: take them now
            better = np.isfinite(fb) & (fb <= f[b])
            go_on = better & (f[b] - fb > tol * np.maximum(np.abs(fb), 1.0))
            if go_on.any():
                k = np.flatnonzero(go_on)
                mk = m if k.size == b.size else m.rows(k)
                G[b[k]], H[b[k]] = lik.derivatives(Pn[j[k]], counts.rows(b[k]), None if d0 is None else db[k], mean=mk)
        better = np.isfinite(fn) & (fn <= f[idx])
        gain = np.where(better, f[idx] - fn, 0.0)
        moved = idx[better]
        P[moved] = Pn[better]
        f[moved] = fn[better]
        lam[idx] = np.where(better, np.maximum(lam[idx] / 3.0, 1e-9), lam[idx] * 4.0)
        done = (better & (gain <= tol * np.maximum(np.abs(f[idx]), 1.0))) | (lam[idx] > 1e8)
        active[idx[done]] = False
        if groups is not None and it + 1 >= prune_after:
            low = np.full(int(groups.max()) + 1, np.inf)
            np.minimum.at(low, groups, np.where(np.isfinite(f), f, np.inf))
            active &= ~(f > low[groups] + prune)
    return P, f


def minimise(lik: Likelihood, x0: np.ndarray, bounds: Bounds, w=None, maxiter: int = 500):
    """One L-BFGS-B fit from ``x0`` under row weights (or counts) ``w``; scipy's ``OptimizeResult``."""
    c = lik.counts(w)
    return minimize(lik, x0, args=(c,), jac=True, method="L-BFGS-B", bounds=bounds.pairs(), options={"maxiter": maxiter})


def law_bounds(data: LawData, law) -> Bounds:
    """The bounds ``law`` was fitted under on ``data``: its ``fixed`` parameters pinned at their values."""
    return param_bounds(data, law.form, fit_delta=True, fixed={n: getattr(law, n) for n in law.fixed})
