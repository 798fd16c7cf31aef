"""Synthetic pretraining runs with a known compute of few-shot emergence, for `emergence compare`.

Each run has its own true emergence law and finetuning design (:func:`~emergence_laws.laws.synthetic.draw_law`;
its rows from :func:`~emergence_laws.laws.synthetic.draw_rows`, with the departures of a
:class:`~emergence_laws.laws.synthetic.Misspecification`) and its own loss
curve in compute, ``L(C) = E_irr + R (C / C_last)^-a``. The truth is the compute ``C*`` at which the
curve reaches the run's few-shot emergence point ``E(D0)``; the ladder stops before it:

- ``C*`` is 2-6x past the last checkpoint (``r = C* / C_last`` log-uniform in ``ahead``), so the
  few-shot rows of every checkpoint sit at chance (up to the checkpoint offsets);
- the curve loses ``s`` nats per e-fold of compute at the last checkpoint, ``s`` uniform in ``slope``
  (capped so that the strongest checkpoint lies ``reach`` nats or more past the largest data amount's
  elbow: the finetuned curves must have begun to rise, or no law can be fitted); ``a`` (the curve's
  exponent) uniform in ``exponent``, ``R = s / a``;
- the weakest checkpoint lies 0.1-0.3 nats before the largest data amount's elbow (as in
  :func:`~emergence_laws.laws.synthetic.draw_table`); checkpoints are log-spaced in compute between,
  each ``curve_sd`` nats off the curve (its measured loss is what the rows carry).

Compute in FLOPs; losses in nats/token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from emergence_laws.laws.synthetic import Misspecification, SyntheticTable, TrueLaw, draw_law, draw_rows


@dataclass(frozen=True)
class CurveSpec:
    """How a run's loss curve and ladder are drawn (see the module docstring)."""

    ahead: tuple[float, float] = (2.0, 6.0)  #: true compute / last checkpoint's, log-uniform
    #: nats lost per e-fold of compute at the last checkpoint: Chinchilla's fit (Hoffmann et al. 2022) at the
    #: compute-optimal frontier gives ~0.24 at 1e18 FLOPs, ~0.17 at 1e19-1e20, ~0.12 at 1e21, ~0.08 beyond 1e23
    slope: tuple[float, float] = (0.06, 0.25)
    exponent: tuple[float, float] = (0.1, 0.3)  #: the curve's exponent a
    reach: float = 0.1  #: nats the strongest checkpoint lies past the largest amount's elbow, at least
    curve_sd: float = 0.005  #: nats, each checkpoint's loss off the curve
    n_checkpoints: tuple[int, int] = (6, 12)  #: inclusive range of the ladder's length


@dataclass(frozen=True)
class SyntheticRun:
    """One drawn run and its truth. ``rows`` holds results-table columns as arrays (``flops`` included)."""

    name: str
    rows: dict[str, np.ndarray]
    true: TrueLaw
    true_flops: float  #: compute at which the run's loss curve reaches its few-shot emergence point
    last_flops: float  #: compute of the ladder's strongest checkpoint
    curve: tuple[float, float, float]  #: (E_irr, R, a) of L(C) = E_irr + R (C / last_flops)^-a

    @property
    def slope(self) -> float:
        """Nats of loss per e-fold of compute at the last checkpoint (``a R``)."""
        return self.curve[1] * self.curve[2]

    @property
    def truth(self) -> float:
        """The true few-shot emergence point E(D0), nats."""
        return self.true.truth

    def frame(self, task: str = "synthetic"):
        """The rows as a results-table DataFrame, ``family`` = the run's name, models named ``NAME-ckptNN``."""
        df = SyntheticTable(self.rows, self.true.law, self.truth).frame()
        return df.assign(model=self.name + "-" + df["model"], family=self.name, task=task)


def draw_run(
    spec: Misspecification,
    rng: np.random.Generator | int,
    *,
    true_flops: float,
    name: str = "run",
    curve: CurveSpec = CurveSpec(),
    n_checkpoints: int | None = None,
    n_seeds: int | None = None,
) -> SyntheticRun:
    """Draw one run whose loss curve reaches its few-shot emergence point at ``true_flops`` FLOPs.

    ``n_checkpoints`` / ``n_seeds`` fix the ladder's length and the random subsets per data amount
    (default: drawn, as in :func:`~emergence_laws.laws.synthetic.draw_table`).
    """
    rng = np.random.default_rng(rng)
    while True:
        true = draw_law(spec, rng)
        if n_seeds is not None:
            true = replace(true, n_seeds=int(n_seeds))
        ratio = math.exp(rng.uniform(math.log(curve.ahead[0]), math.log(curve.ahead[1])))
        s_hi = min(curve.slope[1], (true.span - curve.reach) / math.log(ratio))
        if s_hi > curve.slope[0]:
            break
    s = rng.uniform(curve.slope[0], s_hi)
    a = rng.uniform(*curve.exponent)
    R = s / a
    l_min = true.truth + R * (1.0 - ratio**-a)  # the curve at the last checkpoint
    e_irr = l_min - R
    l_max = true.truth + true.span + rng.uniform(0.1, 0.3)
    last = float(true_flops) / ratio
    first = last * ((l_max - e_irr) / R) ** (-1.0 / a)
    n = int(n_checkpoints) if n_checkpoints is not None else int(rng.integers(curve.n_checkpoints[0],
                                                                             curve.n_checkpoints[1] + 1))
    flops = np.geomspace(first, last, n)
    losses = e_irr + R * (flops / last) ** -a + rng.normal(0.0, curve.curve_sd, n)
    rows = draw_rows(true.law, losses, true.amounts, seeds=true.n_seeds, spec=spec, rng=rng)
    rows["flops"] = flops[rows["model_index"]]
    return SyntheticRun(name, rows, true, float(true_flops), last, (float(e_irr), float(R), float(a)))


def redraw(run: SyntheticRun, spec: Misspecification, rng: np.random.Generator | int, name: str) -> SyntheticRun:
    """Another run with ``run``'s truth (law, ladder, loss curve) and fresh noise: new checkpoint offsets,
    run-to-run variance and evaluation noise (two runs of one recipe)."""
    rng = np.random.default_rng(rng)
    n = int(run.rows["model_index"].max()) + 1
    losses = np.array([run.rows["pretrain_loss"][run.rows["model_index"] == i][0] for i in range(n)])
    flops = np.array([run.rows["flops"][run.rows["model_index"] == i][0] for i in range(n)])
    rows = draw_rows(run.true.law, losses, run.true.amounts, seeds=run.true.n_seeds, spec=spec, rng=rng)
    rows["flops"] = flops[rows["model_index"]]
    return replace(run, name=name, rows=rows)


def draw_runs(
    n_runs: int,
    spec: Misspecification,
    rng: np.random.Generator | int,
    *,
    decades: float = 1.0,
    centre: float = 1e20,
    curve: CurveSpec = CurveSpec(),
    n_checkpoints: int | None = None,
    n_seeds: int | None = None,
) -> list[SyntheticRun]:
    """``n_runs`` independent runs named ``run-a``, ``run-b``, ...; each one's true compute is log-uniform over
    ``decades`` decades around ``centre`` FLOPs (so pairs of runs land at every ratio from 1x to 10^decades)."""
    rng = np.random.default_rng(rng)
    out = []
    for i in range(n_runs):
        c = centre * 10.0 ** rng.uniform(-decades / 2, decades / 2)
        out.append(draw_run(spec, rng, true_flops=c, name=f"run-{chr(ord('a') + i)}", curve=curve,
                            n_checkpoints=n_checkpoints, n_seeds=n_seeds))
    return out


def runs_frame(runs: list[SyntheticRun], task: str = "synthetic"):
    """The runs' rows as one results table (``family`` tells them apart)."""
    import pandas as pd

    return pd.concat([r.frame(task) for r in runs], ignore_index=True)
