"""Least-squares ramp (two-knot change-point) fits of one curve, in O(points + knot pairs) (pure numpy).

The ramp, in the oriented coordinates of :mod:`emergence_laws.laws.curve_labels` (``u``: bigger model,
``y``: better)::

    y(u) = B + R * clip((u - E) / (F - E), 0, 1),     R >= 0,  u_min <= E < F <= u_max.

For fixed knots (E, F) the ramp is linear in (B, R), so its least-squares fit needs only the sums
``sum h``, ``sum h^2`` and ``sum h y`` of the basis ``h = clip((u - E) / (F - E), 0, 1)``. Over
points sorted by ``u`` the basis is 0 up to E, 1 from F on and linear in between, so those sums
are differences of prefix sums of ``1, u, u^2, y, u y`` at the two knots' positions
(:class:`RampSums`). Every knot pair costs O(1) after an O(n) set-up: an exhaustive knot grid,
a case bootstrap and a profile likelihood cost O(n + pairs) memory and time instead of O(n x pairs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RampFit:
    """Least-squares ramp ``y = floor + rise * clip((u - onset) / (end - onset), 0, 1)``."""

    onset: float
    end: float
    floor: float
    rise: float
    rss: float
    n: int

    def predict(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        width = max(self.end - self.onset, 1e-12)
        return self.floor + self.rise * np.clip((u - self.onset) / width, 0.0, 1.0)


class RampSums:
    """Prefix sums of one curve (points sorted by ``u``) under one or K case-weight vectors.

    ``u`` is rescaled to [0, 1] internally (the basis is invariant to it), so the differences of
    prefix sums stay well conditioned for log10 FLOPs (~22) as for losses (~3).
    """

    def __init__(self, u: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> None:
        u = np.asarray(u, dtype=float)
        y = np.asarray(y, dtype=float)
        if np.any(np.diff(u) < 0):
            raise ValueError("RampSums needs u sorted ascending")
        self.lo = float(u[0])
        self.span = max(float(u[-1]) - self.lo, 1e-300)
        self.u = (u - self.lo) / self.span
        self.one_weight = w is None or np.ndim(w) == 1
        W = np.ones((1, len(u))) if w is None else np.atleast_2d(np.asarray(w, dtype=float))
        x = self.u[None, :]
        pad = np.zeros((W.shape[0], 1))
        self.c0, self.c1, self.c2, self.cy, self.cuy = (
            np.concatenate([pad, np.cumsum(v, axis=1)], axis=1)
            for v in (W, W * x, W * x * x, W * y, W * (x * y))
        )
        self.syy = (W * (y * y)).sum(axis=1, keepdims=True)

    def stats(self, E: np.ndarray, F: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Least-squares (floor b, rise r >= 0, residual sum of squares) of the ramp with knots ``E < F``
        (in the caller's u units) for every pair: arrays of shape (P,) for one weight vector, (K, P) for K."""
        e = (np.asarray(E, dtype=float) - self.lo) / self.span
        f = (np.asarray(F, dtype=float) - self.lo) / self.span
        i = np.searchsorted(self.u, e, side="right")  # points [0, i): u <= E, basis 0
        j = np.searchsorted(self.u, f, side="left")  # points [j, n): u >= F, basis 1
        width = f - e
        n = self.c0.shape[1] - 1

        def seg(c: np.ndarray) -> np.ndarray:
            return c[:, j] - c[:, i]

        cnt, s1, s2, sy, suy = seg(self.c0), seg(self.c1), seg(self.c2), seg(self.cy), seg(self.cuy)
        top_w = self.c0[:, [n]] - self.c0[:, j]
        top_y = self.cy[:, [n]] - self.cy[:, j]
        sw, sy_all = self.c0[:, [n]], self.cy[:, [n]]
        d1 = s1 - e * cnt  # sum over the rising segment of (u - E)
        d2 = s2 - 2 * e * s1 + e * e * cnt  # ... of (u - E)^2
        sh = d1 / width + top_w
        shh = np.maximum(d2, 0.0) / (width * width) + top_w
        shy = (suy - e * sy) / width + top_y
        mh, my = sh / sw, sy_all / sw
        vhh = shh / sw - mh * mh
        vhy = shy / sw - mh * my
        vyy = self.syy / sw - my * my
        ok = vhh > 1e-14
        r = np.maximum(np.where(ok, vhy / np.where(ok, vhh, 1.0), 0.0), 0.0)
        b = my - r * mh
        rss = np.maximum(sw * (vyy - 2 * r * vhy + r * r * vhh), 0.0)
        if self.one_weight:
            return b[0], r[0], rss[0]
        return b, r, rss


def knot_pairs(lo: float, hi: float, m: int, e_range: tuple[float, float] | None = None,
               f_range: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Knot pairs (E, F), E < F, on an m x m grid over [lo, hi] (or over the given sub-ranges)."""
    if e_range is None:
        es = np.linspace(lo, hi, m)
        fs = es
    else:
        es = np.linspace(max(lo, e_range[0]), min(hi, e_range[1]), m)
        fs = np.linspace(max(lo, f_range[0]), min(hi, f_range[1]), m)
    E, F = np.meshgrid(es, fs, indexing="ij")
    keep = F > E + 1e-9
    return E[keep], F[keep]


def fit_ramp(u: np.ndarray, y: np.ndarray, *, grid: int = 48) -> RampFit:
    """Global least-squares ramp fit by a coarse knot grid, then a local refinement."""
    u = np.asarray(u, dtype=float)
    y = np.asarray(y, dtype=float)
    order = np.argsort(u, kind="stable")
    u, y = u[order], y[order]
    lo, hi = float(u[0]), float(u[-1])
    if hi <= lo:
        return RampFit(lo, hi, float(y.mean()), 0.0, float(((y - y.mean()) ** 2).sum()), len(y))
    sums = RampSums(u, y)
    E, F = knot_pairs(lo, hi, grid)
    b, r, rss = sums.stats(E, F)
    i = int(np.argmin(rss))
    step = (hi - lo) / (grid - 1)
    E2, F2 = knot_pairs(lo, hi, 17, (E[i] - step, E[i] + step), (F[i] - step, F[i] + step))
    if len(E2):
        b2, r2, rss2 = sums.stats(E2, F2)
        j = int(np.argmin(rss2))
        if rss2[j] < rss[i]:
            return RampFit(float(E2[j]), float(F2[j]), float(b2[j]), float(r2[j]), float(rss2[j]), len(y))
    return RampFit(float(E[i]), float(F[i]), float(b[i]), float(r[i]), float(rss[i]), len(y))


def bootstrap_onset(u: np.ndarray, y: np.ndarray, *, n_boot: int = 200, seed: int = 0,
                    grid: int = 48) -> np.ndarray:
    """Onsets of the ramp refitted on ``n_boot`` case-resamples (models drawn with replacement).

    ``u`` must be sorted ascending. Memory O(n_boot x (n + grid^2)).
    """
    u = np.asarray(u, dtype=float)
    y = np.asarray(y, dtype=float)
    rng = np.random.default_rng(seed)
    n = len(u)
    idx = rng.integers(0, n, size=(n_boot, n)) + n * np.arange(n_boot)[:, None]
    W = np.bincount(idx.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)  # times each model is drawn
    E, F = knot_pairs(float(u.min()), float(u.max()), grid)
    _, _, rss = RampSums(u, y, W).stats(E, F)
    return E[np.argmin(rss, axis=1)]


def profile_onset_interval(u: np.ndarray, y: np.ndarray, *, grid: int = 96, chi2: float = 2.706
                           ) -> tuple[float, float]:
    """Profile-likelihood interval of the onset: onsets E whose best ramp (over the end F) has
    ``n * log(RSS(E) / RSS_min) <= chi2`` (2.706 = the 90% point of chi-square with 1 dof).
    ``u`` must be sorted ascending."""
    u = np.asarray(u, dtype=float)
    y = np.asarray(y, dtype=float)
    E, F = knot_pairs(float(u.min()), float(u.max()), grid)
    _, _, rss = RampSums(u, y).stats(E, F)
    es, inv = np.unique(E, return_inverse=True)
    prof = np.full(len(es), np.inf)
    np.minimum.at(prof, inv, rss)
    n = len(u)
    floor = max(float(prof.min()), 1e-300)
    keep = n * np.log(np.maximum(prof, 1e-300) / floor) <= chi2
    step = (float(u.max()) - float(u.min())) / (grid - 1)  # widen by the grid resolution
    return max(float(es[keep].min()) - step, float(u.min())), min(float(es[keep].max()) + step, float(u.max()))
