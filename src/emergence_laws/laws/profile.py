"""The profile likelihood of the prediction ``E_theta(D0)``: which few-shot emergence points fit the data.

The bootstrap refits each replicate from a few starts. Where the data do not pin the law down, the
likelihood has a flat ridge: e.g. when only the largest data amounts have emerged in the fit set,
every elbow of a smaller amount below the strongest finetuned checkpoint fits those rows equally
well, and ``E_theta`` can be extrapolated to ``D0`` along many curves. Each replicate then lands
somewhere on the ridge, where its start leads it, and the replicates' spread says more about the
starts than about the data. The profile likelihood asks directly: for each candidate prediction
``e`` (nats), the best fit of every other parameter with ``E_theta(D0) = e`` and ``D0`` anywhere in
its range.

:func:`profile_prediction` returns the candidates whose profile negative log-likelihood is within
``drop * phi`` nats of the best (``phi``: Pearson overdispersion, at least 1). The default drop,
:data:`RIDGE_DROP`, keeps the predictions that fit *as well as* the best (the ridge; a point when the
law is identified); :data:`HALF_CHI2_90` gives the 90% likelihood-ratio interval.

The law is refitted in the parameters ``(k, alpha, E0, A, B, delta)``, ``C = E0 - k g(D0)^alpha``,
with ``E0`` held at ``e`` (:class:`_Anchored`), by :func:`~emergence_laws.laws.optimise.batch_fit`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emergence_laws.laws.data import LawData
from emergence_laws.laws.forms import shift_basis
from emergence_laws.laws.law import EmergenceLaw
from emergence_laws.laws.likelihood import Likelihood, Mean, pearson_dispersion
from emergence_laws.laws.optimise import Bounds, batch_fit, law_bounds, starts
from emergence_laws.progress import progress

#: Half the 90% quantile of chi^2 with one degree of freedom: the drop (nats) of a 90% interval.
HALF_CHI2_90: float = 2.705543454095404 / 2

#: The drop (nats, times phi) within which a prediction fits as well as the best: a likelihood ratio
#: of 1.05, about the optimiser's noise on these fits. The set it bounds is the likelihood's ridge.
RIDGE_DROP: float = 0.05

#: D0 values (log-spaced over the declared range) the profile minimises over.
D0_POINTS: int = 5

#: Walks at most (each from the best prediction the ones before found).
WALKS: int = 3

#: A constrained fit that is still running after 10 iterations stops once its nll is this far (nats) above
#: the best at its prediction: only the best fit of each prediction enters the profile, and such fits
#: (at a D0 the data rule out: 70-900 nats worse when run to the end) would otherwise crawl to the
#: iteration limit and take most of the profile's time.
PRUNE_NATS: float = 25.0


@dataclass(frozen=True)
class PredictionProfile:
    """The profile likelihood of ``E_theta(D0)`` and the predictions within ``threshold`` of its best.

    Attributes:
        lo, hi: the interval's ends, nats/token.
        open_lo, open_hi: the end is where the search stopped, not where the data rule out more:
            the data do not bound the prediction on that side.
        grid: (G,) the candidate predictions searched, nats/token; nll: (G,) their profile nll.
        best: the lowest nll seen (the fit's or a better one the profile found).
        threshold: the drop in nll (nats) that bounds the interval (``drop * phi``).
        dispersion: ``phi``, the Pearson overdispersion at the fit (1 = binomial noise only).
    """

    lo: float
    hi: float
    open_lo: bool
    open_hi: bool
    grid: np.ndarray
    nll: np.ndarray
    best: float
    threshold: float
    dispersion: float

    @property
    def interval(self) -> tuple[float, float]:
        return (self.lo, self.hi)


class _Anchored:
    """The likelihood in ``Q = (k, alpha, *, A, B, delta)``: one problem per ``(e, D0)`` pair.

    ``batch_fit`` passes its per-problem ``d0`` argument through to the likelihood; here it carries the
    problem's id, which picks the problem's ``E0 = e`` and ``D0``. ``Q[:, 2]`` is unused (held fixed).
    """

    def __init__(self, lik: Likelihood, e0: np.ndarray, d0: np.ndarray) -> None:
        self.lik, self.e0, self.d0 = lik, np.asarray(e0, float), np.asarray(d0, float)
        g0 = shift_basis(lik.form, self.d0)
        self.g0 = np.where(g0 > 0, g0, 1.0)
        self.pos = g0 > 0
        self.n_rows, self.n_points, self.counts = lik.n_rows, lik.n_points, lik.counts

    def _params(self, Q: np.ndarray, ids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        i = np.asarray(ids).astype(int).reshape(-1)
        Q = np.atleast_2d(Q)
        u0 = np.exp(Q[:, 1] * np.log(self.g0[i])) * self.pos[i]  # g(D0)^alpha
        P = Q.copy()
        P[:, 2] = self.e0[i] - Q[:, 0] * u0
        return P, i, u0

    def mean(self, Q: np.ndarray, ids) -> Mean:
        P, i, _ = self._params(Q, ids)
        return self.lik.mean(P, self.d0[i])

    def terms(self, mu: np.ndarray, W) -> np.ndarray:
        return self.lik.terms(mu, W)

    def nll(self, Q: np.ndarray, W, ids) -> np.ndarray:
        return self.terms(self.mean(Q, ids).mu, W)

    def derivatives(self, Q: np.ndarray, W, ids, mean: Mean | None = None):
        P, i, u0 = self._params(Q, ids)
        G, F = self.lik.derivatives(P, W, self.d0[i], mean=mean)
        # dP/dQ: the identity, except C = E0 - k u0 (row 2); E0 itself is held fixed
        J = np.broadcast_to(np.eye(6), (P.shape[0], 6, 6)).copy()
        J[:, 2, 0] = -u0
        J[:, 2, 1] = -Q[:, 0] * u0 * np.log(self.g0[i])
        J[:, 2, 2] = 0.0
        Gq = (G[:, None, :] @ J)[:, 0, :]
        Fq = J.transpose(0, 2, 1) @ F @ J
        return Gq, Fq


def _anchored_starts(data: LawData, law: EmergenceLaw, bounds: Bounds) -> np.ndarray:
    """Starting vectors in Q: the fit's own parameters and the generic starts, ``E0`` slot zeroed."""
    S = np.vstack([law.vector()[None, :], starts(data, law.form, bounds, 2, slopes=True)])
    S[:, 2] = 0.0
    return S


def _anchored_bounds(bounds: Bounds) -> Bounds:
    """``bounds`` in Q: the ``E0`` slot held at 0 (its value comes from the problem)."""
    lo, hi = bounds.lo.copy(), bounds.hi.copy()
    lo[2] = hi[2] = 0.0
    return Bounds(lo, hi)


def _fit_at(lik: Likelihood, S: np.ndarray, warm: list[np.ndarray | None], qbounds: Bounds, es: list[float],
            d0s: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """For each prediction ``es[i]``: the profile nll (best over ``d0s`` and starts) and the best vector per
    D0, ``(len(d0s), 6)``. All of them are one batch.

    Starts per D0: the generic ``S`` and, for a walk, ``warm[i][j]``, the best vector at D0 ``j`` one step
    back (None: the generic starts only). ``qbounds``: :func:`_anchored_bounds`.
    """
    J = d0s.size
    starts_q, e0, d0, sizes, group = [], [], [], [], []
    for i, (e, w) in enumerate(zip(es, warm)):
        K = S.shape[0] + (0 if w is None else 1)
        starts_q.append(np.concatenate([S[None].repeat(J, 0)] + ([] if w is None else [w[:, None, :]]), axis=1)
                        .reshape(J * K, 6))
        e0.append(np.full(J * K, e))
        d0.append(np.repeat(d0s, K))
        group.append(np.full(J * K, i))
        sizes.append(K)
    anchored = _Anchored(lik, np.concatenate(e0), np.concatenate(d0))
    Q0 = np.concatenate(starts_q)
    Q, f = batch_fit(anchored, Q0, None, qbounds,  # type: ignore[arg-type]
                     d0=np.arange(Q0.shape[0], dtype=float), max_iter=100, groups=np.concatenate(group),
                     prune=PRUNE_NATS)
    f = np.where(np.isfinite(f), f, np.inf)
    out, at = [], 0
    for K in sizes:
        fk = f[at : at + J * K].reshape(J, K)
        best = np.argmin(fk, axis=1)
        out.append((float(fk.min()), Q[at : at + J * K].reshape(J, K, 6)[np.arange(J), best]))
        at += J * K
    return out


class _Side:
    """One side of a walk along the ridge: steps out from ``centre`` until the profile leaves the threshold
    (``h`` = profile nll - best - threshold > 0), then bisects between the last prediction inside and the
    first outside ``refine`` times."""

    def __init__(self, centre: float, sign: float, step: float, steps: int, refine: int) -> None:
        self.centre, self.sign, self.step, self.steps, self.refine = centre, sign, step, steps, refine
        self.e_in = centre
        self.e_out: float | None = None
        self.i = 0  # walk steps taken
        self.k = 0  # bisections done
        self.done = False

    def next(self) -> float:
        """The prediction to fit next, nats."""
        if self.e_out is None:
            return self.centre + self.sign * self.step * (self.i + 1)
        return 0.5 * (self.e_in + self.e_out)

    def left(self) -> int:
        """Fits this side may still need."""
        if self.done:
            return 0
        return (self.steps - self.i if self.e_out is None else 0) + self.refine - self.k

    def update(self, e: float, h: float) -> None:
        if self.e_out is None:  # walking
            self.i += 1
            if h > 0:
                self.e_out = e
                self.done = self.refine == 0
            else:
                self.e_in = e
                self.done = self.i >= self.steps
            return
        self.k += 1
        if h <= 0:
            self.e_in = e
        else:
            self.e_out = e
        self.done = self.k >= self.refine


def profile_prediction(
    data: LawData, law: EmergenceLaw, *, drop: float = RIDGE_DROP, width: float | None = None, steps: int = 16,
    refine: int = 10, show: bool | None = None,
) -> PredictionProfile:
    """The few-shot emergence points (nats) whose profile nll is within ``drop * phi`` of the best fit's.

    Walks from the fit's prediction ``e*`` outward on both sides at once in ``steps`` steps up to ``width``
    (default: the larger of 0.5 nats and the span of the data's losses), each step warm-started from
    the one before (the constrained fits follow the ridge), until the profile leaves the threshold;
    then bisects that end ``refine`` times; the two sides' fits run as one batch. An end the walk never
    closes is reported as open. ``D0`` is profiled over ``law.d0_range`` (``D0_POINTS`` values and the
    fit's own ``D0``). The threshold is measured from the lowest profile nll
    found: when a walk finds a fit better than the one it started from (the law is fitted at one D0, the
    profile minimises over D0), the walk is repeated from that better fit's prediction (at most ``WALKS``
    walks in all). ``show``: report progress (None: where the process shows progress,
    :func:`~emergence_laws.progress.show_progress`); the total is the fits a walk may still need.
    """
    lik = Likelihood(data, law.form, law.elbow, law.beta, law.d0)
    bounds = law_bounds(data, law)
    lo_d0, hi_d0 = law.d0_range or (law.d0, law.d0)
    d0s = np.array([lo_d0])
    if hi_d0 > lo_d0:  # the grid and the fit's own D0, so that the profile at e* reproduces the fit
        d0s = np.unique(np.append(np.exp(np.linspace(math.log(lo_d0), math.log(hi_d0), D0_POINTS)), law.d0))
    S = _anchored_starts(data, law, bounds)
    qb = _anchored_bounds(bounds)
    e_star = law.few_shot_emergence_point
    span = float(data.loss.max() - data.loss.min())
    w = float(width) if width is not None else max(0.5, span)
    with progress(1 + steps + refine, "likelihood ridge", "fit", enabled=show) as bar:
        [(f0, Q0)] = _fit_at(lik, S, [None], qb, [e_star], d0s)
        bar.update(1)
        best = float(min(f0, law.nll if math.isfinite(law.nll) else np.inf))
        phi = pearson_dispersion(lik, law.vector())
        thr = phi * float(drop)
        seen: dict[float, tuple[float, np.ndarray]] = {e_star: (f0, Q0)}

        def walk(centre: float) -> tuple[list[float], list[bool]]:
            sides = [_Side(centre, sign, w / steps, steps, refine) for sign in (-1.0, 1.0)]
            while not all(sd.done for sd in sides):
                todo = [sd for sd in sides if not sd.done]
                es = [sd.next() for sd in todo]
                fits = _fit_at(lik, S, [seen[sd.e_in][1] for sd in todo], qb, es, d0s)
                for sd, e, (f, Q) in zip(todo, es, fits):
                    seen[e] = (f, Q)
                    sd.update(e, f - best - thr)
                bar.total = bar.n + 1 + max(sd.left() for sd in sides)
                bar.update(1)
            return [sd.e_in for sd in sides], [sd.e_out is None for sd in sides]

        ends, opened = walk(e_star)
        for _ in range(WALKS - 1):
            e_min = min(seen, key=lambda e: seen[e][0])
            if best - seen[e_min][0] <= 0.1 * thr:
                break
            best = seen[e_min][0]  # a better fit than the walk's start: measure the ridge from it
            ends, opened = walk(e_min)
    nll_at = {e: v[0] for e, v in seen.items()}
    grid = np.array(sorted(nll_at))
    return PredictionProfile(float(ends[0]), float(ends[1]), opened[0], opened[1], grid,
                             np.array([nll_at[e] for e in grid]), float(min(best, min(nll_at.values()))), thr, phi)
