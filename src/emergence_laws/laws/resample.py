"""Bootstrap resampling schemes for a results table: each replicate is a vector of row weights (counts).

- ``"checkpoints"`` (the default): checkpoints and random finetuning subsets are resampled
  independently and a row's weight is the product of its checkpoint's and its subset's counts
  (the "pigeonhole" bootstrap of a crossed design, Owen 2007). All rows of a checkpoint move
  together, so a checkpoint that is better or worse than its loss says (a shared offset) and a
  subset that helps every checkpoint (run-to-run finetuning variance) both show in the spread.
- ``"rows"`` (the scheme before issue 12): within each data amount, random subsets with replacement,
  then the rows of each drawn subset with replacement; few-shot rows as points. It treats the
  rows of one checkpoint as independent.
"""

from __future__ import annotations

import numpy as np

from emergence_laws.errors import InputError
from emergence_laws.laws.data import LawData

#: Names of the resampling schemes :func:`resample_weights` accepts.
SCHEMES: tuple[str, ...] = ("checkpoints", "rows")


def resample_weights(data: LawData, n: int, rng: np.random.Generator, scheme: str = "checkpoints") -> np.ndarray:
    """(n, rows) bootstrap counts of ``data``'s rows under ``scheme`` (see the module docstring)."""
    if scheme == "checkpoints":
        return checkpoint_weights(data, n, rng)
    if scheme == "rows":
        return row_weights(data, n, rng)
    raise InputError(f"resampling scheme {scheme!r} unknown; use one of {', '.join(SCHEMES)}")


def _counts(k: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, k) multinomial counts: k draws with replacement from k items, n times."""
    if k == 1:
        return np.ones((n, 1))
    return rng.multinomial(k, np.full(k, 1.0 / k), size=n).astype(float)


def checkpoint_weights(data: LawData, n: int, rng: np.random.Generator) -> np.ndarray:
    """Crossed resampling: (checkpoint count) x (random-subset count within its data amount)."""
    models, m_idx = np.unique(data.model, return_inverse=True)
    W = _counts(models.size, n, rng)[:, m_idx]
    for d in np.unique(data.n_train):  # few-shot rows (d = 0) are one "amount" with their own seeds
        rows = np.flatnonzero(data.n_train == d)
        seeds, s_idx = np.unique(data.seed[rows], return_inverse=True)
        if seeds.size > 1:
            W[:, rows] *= _counts(seeds.size, n, rng)[:, s_idx]
    return W


def row_weights(data: LawData, n: int, rng: np.random.Generator) -> np.ndarray:
    """Subsets within each data amount, then rows within each drawn subset; few-shot rows as points."""
    W = np.zeros((n, data.n_rows))
    groups: list[list[np.ndarray]] = []
    for d in data.amounts:
        m = data.n_train == d
        seeds = np.unique(data.seed[m])
        groups.append([np.flatnonzero(m & (data.seed == s)) for s in seeds])
    fs = np.flatnonzero(data.is_fewshot)
    if fs.size:
        groups.append([fs])
    for subsets in groups:
        ns = len(subsets)
        draws = rng.integers(0, ns, size=(n, ns)) if ns > 1 else np.zeros((n, 1), dtype=int)
        for j, rows in enumerate(subsets):
            times = (draws == j).sum(axis=1)  # how often subset j was drawn, per replicate
            for t in np.unique(times[times > 0]):
                reps = np.flatnonzero(times == t)
                W[np.ix_(reps, rows)] += rng.multinomial(
                    rows.size * t, np.full(rows.size, 1.0 / rows.size), size=reps.size
                )
    return W
