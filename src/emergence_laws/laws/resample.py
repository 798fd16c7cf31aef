"""Bootstrap resampling of a results table: each replicate is a vector of row weights (counts).

Checkpoints and random finetuning subsets are resampled independently and a row's weight is the
product of its checkpoint's and its subset's counts (the "pigeonhole" bootstrap of a crossed
design, Owen 2007). All rows of a checkpoint move together, so a checkpoint that is better or worse
than its loss says (a shared offset) and a subset that helps every checkpoint (run-to-run
finetuning variance) both show in the spread. (Rows resampled within random subsets, the scheme
before issue 12, treated the rows of one checkpoint as independent: docs/results/calibration.md.)
"""

from __future__ import annotations

import numpy as np

from emergence_laws.laws.data import LawData


def _counts(k: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, k) multinomial counts: k draws with replacement from k items, n times."""
    if k == 1:
        return np.ones((n, 1))
    return rng.multinomial(k, np.full(k, 1.0 / k), size=n).astype(float)


def checkpoint_weights(data: LawData, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` replicates of crossed resampling: (checkpoint count) x (random-subset count within its data amount).

    Returns:
        ``(W, counts)``: ``W`` (n, rows) the row weights; ``counts`` (n, checkpoints) how often each
        replicate drew each checkpoint, checkpoints in the order of ``np.unique(data.model)`` (a loss
        curve fitted to the same checkpoints resamples them with these counts, jointly with the law).
    """
    models, m_idx = np.unique(data.model, return_inverse=True)
    counts = _counts(models.size, n, rng)
    W = counts[:, m_idx]
    for d in np.unique(data.n_train):  # few-shot rows (d = 0) are one "amount" with their own seeds
        rows = np.flatnonzero(data.n_train == d)
        seeds, s_idx = np.unique(data.seed[rows], return_inverse=True)
        if seeds.size > 1:
            W[:, rows] *= _counts(seeds.size, n, rng)[:, s_idx]
    return W, counts
