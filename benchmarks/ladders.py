"""Synthetic results tables of any size for the speed benchmarks (``bench_fit.py``, ``bench_scaling.py``).

A table is a ladder of ``n_ckpt`` checkpoints drawn like the calibration benchmark's tables
(:func:`emergence_laws.laws.synthetic.draw_law` and :func:`~emergence_laws.laws.synthetic.draw_rows`:
a random true law, its 4 data amounts, one few-shot row per checkpoint), with ``subsets`` random
subsets per amount, so ``n_ckpt * (4 * subsets + 1)`` rows. Its losses span the same range as the
calibration tables (from 0.1-0.3 nats before the largest amount's elbow to about the true few-shot
emergence point), so a larger ladder is the same study measured on a denser set of checkpoints.
Losses in nats/token; FLOPs a decreasing map of the loss.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from emergence_laws.laws.synthetic import Misspecification, SyntheticTable, draw_law, draw_rows

#: Default departures from the model: some run-to-run variance, as real finetuning has.
SPEC = Misspecification(run_sd=0.02)


def ladder_table(n_ckpt: int, seed: int = 0, *, subsets: int = 2, spec: Misspecification = SPEC,
                 past: float = 0.0) -> SyntheticTable:
    """A table of ``n_ckpt`` checkpoints x 4 data amounts x ``subsets`` random subsets + few-shot rows.

    ``past`` (nats) extends the ladder that far beyond its usual strongest checkpoint, so that the
    few-shot curve has emerged in the table (what a backtest needs to score against).
    """
    rng = np.random.default_rng(seed)
    true = replace(draw_law(spec, rng), n_seeds=int(subsets))
    l_min = true.truth + rng.uniform(-0.08, min(0.12, true.span - 0.12)) - float(past)
    l_max = true.truth + true.span + rng.uniform(0.1, 0.3)
    losses = np.linspace(l_max, l_min, int(n_ckpt))
    rows = draw_rows(true.law, losses, true.amounts, seeds=true.n_seeds, spec=spec, rng=rng)
    rows["flops"] = 1e18 * np.exp(-(losses - l_min) / 0.15)[rows["model_index"]]
    return SyntheticTable(rows, true.law, true.truth, spec)


def rows_per_checkpoint(subsets: int = 2) -> int:
    """Rows a checkpoint adds: 4 amounts x ``subsets`` + 1 few-shot row."""
    return 4 * int(subsets) + 1
