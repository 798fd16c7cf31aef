"""The low-data limit ``D0``: a declared range, and what the few-shot rows say about it.

The few-shot emergence point is ``E_theta(D0)``, but ``D0`` is not known: Snell et al. (2024) show
only that the answer moves little for ``D0 < 10 N`` on their tasks (``N`` = in-context examples).
So ``D0`` is treated as unknown in a declared range, by default ``[N, 10 N]``, with a uniform prior
on ``log D0``. The few-shot rows inform it where they carry signal (a few-shot curve that has begun
to rise pins its elbow): :func:`profile_d0` fits the law at a grid of ``D0`` values and weighs each
by its likelihood, tempered by the table's overdispersion (Pearson chi^2 / dof) so that noise the
binomial model does not explain does not make the weights overconfident.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emergence_laws.errors import InputError
from emergence_laws.laws.data import LawData
from emergence_laws.laws.likelihood import Likelihood, pearson_dispersion
from emergence_laws.laws.optimise import Bounds, batch_fit

#: Default upper end of the D0 range, as a multiple of N (the lower end is N).
D0_RANGE_FACTOR: float = 10.0
#: D0 values in the grid of :func:`profile_d0`.
GRID_POINTS: int = 9


def resolve_d0(
    data: LawData, d0: float | None = None, d0_range: tuple[float, float] | None = None
) -> tuple[tuple[float, float], list[str]]:
    """The D0 range ``(lo, hi)`` in examples and warnings; ``lo == hi`` means D0 is fixed.

    ``d0`` fixes it; else ``d0_range``; else ``[N, 10 N]`` with ``N`` the few-shot rows' ``shots``.
    Values below 1 are raised to 1 (the log power law needs ``D >= 1``; ``E_theta(1) = C``), with a warning.
    """
    notes: list[str] = []
    if d0 is not None and d0_range is not None:
        raise InputError("`d0` and `d0_range` both given; pass one: `d0=N` (a known D0) or `d0_range=(LO, HI)`")
    if d0 is not None:
        d0 = float(d0)
        if not math.isfinite(d0) or d0 < 0:
            raise InputError(f"`d0={d0:g}`: not a non-negative number of examples; pass e.g. `d0=5`")
        lo = hi = d0
        src = f"`d0={d0:g}`"
    elif d0_range is not None:
        try:
            lo, hi = (float(x) for x in d0_range)
        except (TypeError, ValueError):
            raise InputError("`d0_range`: expected two numbers of examples; pass e.g. `d0_range=(5, 50)`") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or hi < lo:
            raise InputError(f"`d0_range=({lo:g}, {hi:g})`: not a range of examples (0 <= LO <= HI); pass e.g. "
                             "`d0_range=(5, 50)`")
        src = f"`d0_range=({lo:g}, {hi:g})`"
    else:
        n = float(data.shots)
        if n < 1:
            if not data.is_fewshot.any():
                notes.append(
                    f"no few-shot rows (n_train = 0), so D0 is taken in [1, {D0_RANGE_FACTOR:g}]; pass `d0=N` or "
                    "`d0_range=(LO, HI)` with N the number of in-context examples you will use"
                )
            else:
                notes.append(
                    f"the few-shot rows are zero-shot, so D0 is taken in [1, {D0_RANGE_FACTOR:g}] (E_theta(1) = C); "
                    "pass `d0` or `d0_range` to choose it"
                )
            n = 1.0
        return (n, n * D0_RANGE_FACTOR), notes
    if lo < 1:
        notes.append(
            f"D0 from {src} is below 1; the log power law needs D >= 1, so D0 = 1 is used there (E_theta(1) = C); "
            "pass `d0=N` (e.g. the number of in-context examples) to choose it"
        )
        lo, hi = max(lo, 1.0), max(hi, 1.0)
    return (lo, hi), notes


@dataclass(frozen=True)
class D0Profile:
    """The law fitted at a grid of D0 values and the weight of each (uniform prior on log D0).

    Attributes:
        grid: D0 values, examples: the centres of equal cells in log D0 that tile the range (one value
            when D0 is fixed). A draw picks a cell by weight, then a D0 uniformly in log within it.
        params: (J, 6) the best fit at each D0.
        nll: (J,) its negative log-likelihood.
        weights: (J,) posterior weights, summing to 1.
        dispersion: the Pearson overdispersion that tempered the likelihood (1 = none).
        range: the declared range ``(lo, hi)``, examples: the outer edges of the cells.
    """

    grid: np.ndarray
    params: np.ndarray
    nll: np.ndarray
    weights: np.ndarray
    dispersion: float
    range: tuple[float, float]

    @property
    def _step(self) -> float:
        """The width of a cell in log D0."""
        return float(np.log(self.grid[1] / self.grid[0]))

    def median(self) -> float:
        """The weighted median of D0 (examples), interpolated in log D0 within its cell."""
        if self.grid.size == 1:
            return float(self.grid[0])
        c = np.cumsum(self.weights)
        j = min(int(np.searchsorted(c, 0.5)), self.grid.size - 1)
        before = c[j - 1] if j > 0 else 0.0
        frac = (0.5 - before) / max(self.weights[j], 1e-300)  # within cell j, in [0, 1]
        return float(self.grid[j] * np.exp((np.clip(frac, 0.0, 1.0) - 0.5) * self._step))

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` draws ``(cell index, D0)``: a cell by weight, then uniformly in log D0 within it."""
        if self.grid.size == 1:
            return np.zeros(n, dtype=int), np.full(n, float(self.grid[0]))
        j = rng.choice(self.grid.size, size=n, p=self.weights)
        lo, hi = self.range
        d0 = np.clip(self.grid[j] * np.exp(rng.uniform(-0.5, 0.5, n) * self._step), lo, hi)
        return j, d0


def profile_d0(
    lik: Likelihood, p0: np.ndarray, bounds: Bounds, d0_range: tuple[float, float], points: int = GRID_POINTS
) -> D0Profile:
    """Fit the law at ``points`` D0 values log-spaced over ``d0_range``, warm-started from ``p0``; weigh them."""
    lo, hi = d0_range
    if hi <= lo:
        p = bounds.clip(p0)[None, :]
        nll = lik.nll(p, None, np.array([lo]))
        return D0Profile(np.array([float(lo)]), p, nll, np.ones(1), 1.0, (float(lo), float(lo)))
    # the centres of `points` equal cells in log D0 that tile [lo, hi]: equal weights = a uniform prior
    edges = np.linspace(np.log(lo), np.log(hi), points + 1)
    grid = np.exp(0.5 * (edges[:-1] + edges[1:]))
    P, f = batch_fit(lik, np.tile(bounds.clip(p0), (points, 1)), None, bounds, d0=grid, max_iter=100)
    ok = np.isfinite(f)
    best = int(np.argmin(np.where(ok, f, np.inf)))
    phi = pearson_dispersion(lik, P[best], d0=float(grid[best]))
    logw = np.where(ok, -(f - f[best]) / phi, -np.inf)
    w = np.exp(logw - logw.max())
    return D0Profile(grid, P, f, w / w.sum(), phi, (float(lo), float(hi)))
