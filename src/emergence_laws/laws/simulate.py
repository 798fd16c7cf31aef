"""Synthetic results drawn from a known emergence law (binomial noise), for tests, benchmarks and examples.

The ground truth is the law itself, so the true few-shot emergence point is ``E_theta(D0)``.
"""

from __future__ import annotations

import numpy as np

from emergence_laws.laws.data import LawData
from emergence_laws.laws.law import EmergenceLaw


def simulate_rows(
    law: EmergenceLaw,
    losses,
    amounts,
    *,
    seeds: int = 2,
    n_eval: int = 500,
    fewshot: bool = True,
    subset_sd: float = 0.0,
    rng: np.random.Generator | int | None = 0,
) -> dict[str, np.ndarray]:
    """Rows (dict of arrays) for every checkpoint loss x amount x seed, plus few-shot rows.

    ``value`` is a binomial proportion out of ``n_eval`` around ``law.predict``; ``subset_sd`` (nats)
    jitters each random subset's elbow, as real random subsets do. Few-shot rows use ``law.shots``.
    """
    rng = np.random.default_rng(rng)
    losses = np.asarray(losses, dtype=float)
    L, D, S, M = [], [], [], []
    for d in amounts:
        for s in range(seeds):
            L.append(losses)
            D.append(np.full(losses.size, float(d)))
            S.append(np.full(losses.size, s))
            M.append(np.arange(losses.size))
    if fewshot:
        L.append(losses)
        D.append(np.zeros(losses.size))
        S.append(np.zeros(losses.size, dtype=int))
        M.append(np.arange(losses.size))
    L, D, S, M = map(np.concatenate, (L, D, S, M))
    shift = np.zeros(L.size)
    if subset_sd > 0:
        keys = D * 1000 + S
        for kk in np.unique(keys[D > 0]):
            shift[keys == kk] = rng.normal(0.0, subset_sd)
    E = np.asarray(law.emergence_point(D)) + shift
    floor = law.B + law.delta * (D == 0)
    mu = np.clip(law.A * np.maximum(E - L, 0.0) + floor, 0.0, 1.0)
    value = rng.binomial(n_eval, mu) / n_eval
    return {
        "pretrain_loss": L,
        "n_train": D,
        "seed": S,
        "model_index": M,
        "value": value,
        "n_eval": np.full(L.size, float(n_eval)),
        "shots": np.full(L.size, law.shots),
    }


def simulate_law_data(law: EmergenceLaw, losses, amounts, **kw) -> LawData:
    """:func:`simulate_rows` as a :class:`LawData` (chance = the law's few-shot floor)."""
    r = simulate_rows(law, losses, amounts, **kw)
    return LawData.from_arrays(
        r["pretrain_loss"],
        r["n_train"],
        r["value"],
        n_eval=r["n_eval"],
        seed=r["seed"],
        model=r["model_index"],
        shots=law.shots,
        chance=law.B + law.delta,
    )
