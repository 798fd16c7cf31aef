"""Emergence point -> pretraining compute, carried jointly with the law's bootstrap.

A run's few-shot emergence point ``E(D0)`` (nats) becomes compute through the run's own loss curve
``L(C) = E + A / C^alpha`` (:mod:`~emergence_laws.laws.scaling`; ``C`` in FLOPs, tokens or params),
inverted at ``E(D0)``. Both come from the same checkpoints, so their uncertainties are not
independent: replicate ``b`` of the law's bootstrap resampled the checkpoints with counts ``c_b``
(:attr:`~emergence_laws.laws.bootstrap.BootstrapResult.checkpoint_counts`), and the loss curve of
replicate ``b`` is refitted to the same checkpoints with the same counts (:func:`crossing_scales`).

Comparing runs: replicates of different runs are independent draws (the runs share no data), so
``P(run A gets there on less compute than run B)`` is the share of all (a, b) replicate pairs with
``C_a < C_b`` (:func:`prob_less`), ties (both unreachable) counted half.
"""

from __future__ import annotations

import numpy as np

from emergence_laws.laws.scaling import ScalingLaw, refit_scaling_law


def crossing_scales(
    curve: ScalingLaw, scale: np.ndarray, loss: np.ndarray, counts: np.ndarray, emergence: np.ndarray
) -> np.ndarray:
    """The compute at which each replicate's loss curve reaches its own emergence point.

    Args:
        curve: the loss curve fitted to all checkpoints (warm start of every refit).
        scale, loss: per checkpoint on the curve, compute (FLOPs, tokens or params) and pretraining loss (nats).
        counts: (R, checkpoints) how often replicate ``r`` drew each checkpoint.
        emergence: (R,) each replicate's few-shot emergence point ``E(D0)``, nats.

    Returns:
        (R,) compute; ``inf`` where the replicate's emergence point is at or below its curve's
        irreducible loss (never reached).
    """
    ids = np.arange(scale.size)
    out = np.empty(emergence.size)
    for r, e in enumerate(emergence):
        law = refit_scaling_law(curve, scale, loss, np.repeat(ids, counts[r].astype(int)))
        at = law.scale_at(float(e))
        out[r] = np.inf if at is None else at
    return out


def quantiles(x: np.ndarray, q) -> np.ndarray:
    """Quantiles that are sample values (no interpolation), so ``inf`` (unreachable) draws stay ``inf``."""
    return np.quantile(np.asarray(x, dtype=float), q, method="inverted_cdf")


def prob_less(a: np.ndarray, b: np.ndarray) -> float:
    """``P(A < B)`` for independent draws ``a`` of A and ``b`` of B (every pair counted; a tie counts half)."""
    bs = np.sort(np.asarray(b, dtype=float))
    a = np.asarray(a, dtype=float)
    right = np.searchsorted(bs, a, side="right")
    left = np.searchsorted(bs, a, side="left")
    return float(np.mean((bs.size - right + 0.5 * (right - left)) / bs.size))


def ratio_draws(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``second / first`` over every pair of independent draws (the pair's compute ratio), as a flat array;
    pairs where both are unreachable are left out (their ratio is undefined)."""
    lf, ls = np.log(np.asarray(first, dtype=float)), np.log(np.asarray(second, dtype=float))
    with np.errstate(invalid="ignore"):
        d = ls[None, :] - lf[:, None]
    return np.exp(d[~np.isnan(d)])
