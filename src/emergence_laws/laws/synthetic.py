"""Synthetic results drawn from a known emergence law, with a chosen misspecification: the one generator.

:func:`draw_rows` draws the rows of a ladder from a given law: every checkpoint finetuned on every
data amount x random subset, plus one few-shot row per checkpoint (the bundled example table, the
tests). :func:`draw_table` first draws a random true law and ladder (the calibration benchmark
``benchmarks/bench_calibration.py``, the interval tests); :mod:`~emergence_laws.laws.synthetic_runs`
draws pretraining runs with a loss curve in compute on it. The departures from the model the fitter
assumes, each at a chosen strength (:class:`Misspecification`; none by default, but binomial noise):

- **unknown D0**: the few-shot curve's elbow is ``E(D0)`` for a true ``D0`` drawn log-uniformly in
  ``[N, 10 N]`` (``N`` = shots; ``d0_factor`` sets the range, ``(1, 1)`` for ``D0 = N``), not ``E(N)``;
- **checkpoint offsets**: each checkpoint is better or worse than its loss says by ``u_c ~ N(0, sd)``
  nats, shared by all its rows (few-shot and finetuned);
- **run-to-run finetuning variance**: each random subset moves the elbow of every checkpoint
  finetuned on it by ``N(0, sd/sqrt 2)`` nats, and each single run by another ``N(0, sd/sqrt 2)``;
- **few-shot floor shift**: few-shot rows sit ``delta`` above or below the finetuned floor ``B``;
- **binomial noise**: every value is a proportion out of ``n_eval`` examples.

The ladder's strongest checkpoint lies between 0.08 nats past and 0.12 nats before the true few-shot
emergence point: the table is (mostly) pre-emergence, as when the tool is used to predict.
Losses in nats/token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from emergence_laws.laws.data import LawData
from emergence_laws.laws.forms import shift_basis
from emergence_laws.laws.law import EmergenceLaw


@dataclass(frozen=True)
class Misspecification:
    """Strengths of the departures from the fitted model (0 / False = none)."""

    d0_factor: tuple[float, float] = (1.0, 10.0)  #: true D0 / N, log-uniform in this range; (1, 1): D0 = N
    checkpoint_sd: float = 0.0  #: nats, offset of each checkpoint's effective loss
    run_sd: float = 0.0  #: nats, elbow jitter of random subsets and single runs (sd of their sum)
    floor_shift: float = 0.0  #: metric units, |delta| of the few-shot floor (sign drawn at random)
    n_eval: int = 500  #: evaluation examples per row (binomial noise)


@dataclass(frozen=True)
class SyntheticTable:
    """One drawn table and its truth. ``rows`` holds results-table columns as arrays."""

    rows: dict[str, np.ndarray]
    law: EmergenceLaw  #: the true law (its ``d0`` is the true D0, its ``delta`` the true floor shift)
    truth: float  #: the true few-shot emergence point E(D0), nats
    spec: Misspecification = field(default_factory=Misspecification)

    @property
    def shots(self) -> int:
        return int(self.law.shots)

    def law_data(self) -> LawData:
        return law_data(self.rows)

    def frame(self):
        """The rows as a results-table DataFrame (task ``synthetic``, metric ``accuracy``; ``flops`` when drawn)."""
        import pandas as pd

        r = self.rows
        return pd.DataFrame(
            {
                "model": [f"ckpt{int(i):02d}" for i in r["model_index"]],
                "task": "synthetic",
                "metric": "accuracy",
                "value": r["value"],
                "n_train": r["n_train"].astype(int),
                "shots": r["shots"].astype(int),
                "pretrain_loss": r["pretrain_loss"],
                **({"flops": r["flops"]} if "flops" in r else {}),
                "seed": r["seed"].astype(int),
                "method": np.where(r["n_train"] > 0, "full", "none"),
                "n_eval": r["n_eval"].astype(int),
                "chance": r["chance"],
            }
        )


@dataclass(frozen=True)
class TrueLaw:
    """A drawn true law and the finetuning design that goes with it (:func:`draw_law`)."""

    law: EmergenceLaw  #: its ``d0`` is the true D0, its ``delta`` the true floor shift
    truth: float  #: the true few-shot emergence point E(D0), nats
    amounts: np.ndarray  #: finetuning data amounts (examples)
    n_seeds: int  #: random subsets per amount
    span: float  #: E(D_max) - E(D0), nats


def draw_law(spec: Misspecification, rng: np.random.Generator) -> TrueLaw:
    """A random true emergence law (truth in [2.5, 3.5] nats), its data amounts and subsets per amount."""
    shots = int(rng.choice([3, 4, 5, 8]))
    base = float(rng.choice([8, 16, 32]))
    amounts = base * 4.0 ** np.arange(4)
    n_seeds = int(rng.choice([2, 3]))
    lo, hi = spec.d0_factor
    d0 = shots * float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    alpha = rng.uniform(0.7, 1.6)
    span = rng.uniform(0.2, 0.5)  # E(D_max) - E(D0), nats
    gmax, g0 = shift_basis("logpower", amounts[-1]) ** alpha, shift_basis("logpower", d0) ** alpha
    k = span / (gmax - g0)
    truth = rng.uniform(2.5, 3.5)
    C = truth - k * g0
    A = rng.uniform(0.4, 1.2)
    B = float(rng.choice([0.2, 0.25, 1 / 3]))
    delta = spec.floor_shift * rng.choice([-1.0, 1.0])
    law = EmergenceLaw(k=k, alpha=alpha, C=C, A=A, B=B, delta=delta, d0=d0, shots=shots)
    return TrueLaw(law, float(truth), amounts, n_seeds, float(span))


def draw_rows(
    law: EmergenceLaw,
    losses,
    amounts,
    *,
    seeds: int = 2,
    spec: Misspecification = Misspecification(),
    fewshot: bool = True,
    rng: np.random.Generator | int | None = 0,
) -> dict[str, np.ndarray]:
    """Rows (results-table columns as arrays, no ``flops``) of a ladder with pretraining ``losses`` (nats):
    every checkpoint finetuned on every data amount (``amounts``, examples) x ``seeds`` random subsets,
    plus one few-shot row per checkpoint (``fewshot``), drawn from ``law`` with ``spec``'s departures.

    ``value`` is a proportion out of ``spec.n_eval`` examples around the law (few-shot elbow at
    ``E_theta(law.d0)``, floor ``B + delta``; ``shots`` = ``law.shots``); ``chance`` is ``B``;
    ``model_index`` numbers the checkpoints in the order of ``losses``.
    """
    rng = np.random.default_rng(rng)
    losses = np.asarray(losses, dtype=float)
    A, B = law.A, law.B
    n_ckpt = losses.size
    offset = rng.normal(0.0, spec.checkpoint_sd, n_ckpt) if spec.checkpoint_sd > 0 else np.zeros(n_ckpt)
    sd_part = spec.run_sd / math.sqrt(2.0)

    cols: dict[str, list] = {k_: [] for k_ in ("pretrain_loss", "n_train", "seed", "model_index", "mu")}
    for d in amounts:
        E_d = float(law.emergence_point(d))
        for s in range(int(seeds)):
            subset = rng.normal(0.0, sd_part) if sd_part > 0 else 0.0
            run = rng.normal(0.0, sd_part, n_ckpt) if sd_part > 0 else np.zeros(n_ckpt)
            mu = A * np.maximum(E_d + subset + run - (losses + offset), 0.0) + B
            _append(cols, losses, d, s, mu)
    if fewshot:
        mu_fs = A * np.maximum(law.few_shot_emergence_point - (losses + offset), 0.0) + B + law.delta
        _append(cols, losses, 0.0, 0, mu_fs)
    n = len(cols["mu"])
    mu = np.clip(np.array(cols["mu"]), 0.0, 1.0)
    return {
        "pretrain_loss": np.array(cols["pretrain_loss"]),
        "n_train": np.array(cols["n_train"], dtype=float),
        "seed": np.array(cols["seed"], dtype=np.int64),
        "model_index": np.array(cols["model_index"], dtype=np.int64),
        "value": rng.binomial(spec.n_eval, mu) / spec.n_eval,
        "n_eval": np.full(n, float(spec.n_eval)),
        "shots": np.full(n, law.shots),
        "chance": np.full(n, B),
    }


def draw_table(spec: Misspecification, rng: np.random.Generator | int) -> SyntheticTable:
    """Draw one table: a random true law and ladder, then rows with the misspecification of ``spec``."""
    rng = np.random.default_rng(rng)
    true = draw_law(spec, rng)
    truth, span = true.truth, true.span
    e_max = truth + span
    l_min = truth + rng.uniform(-0.08, min(0.12, span - 0.12))
    l_max = e_max + rng.uniform(0.1, 0.3)
    n_ckpt = int(rng.integers(6, 13))
    losses = np.linspace(l_max, l_min, n_ckpt)
    flops = 1e18 * np.exp(-(losses - l_min) / 0.15)  # any decreasing map will do for the inversion
    rows = draw_rows(true.law, losses, true.amounts, seeds=true.n_seeds, spec=spec, rng=rng)
    rows["flops"] = flops[rows["model_index"]]
    return SyntheticTable(rows, true.law, truth, spec)


def law_data(rows: dict[str, np.ndarray]) -> LawData:
    """:func:`draw_rows`'s rows as the :class:`LawData` a fit takes (chance = the rows' ``chance``, the floor B)."""
    return LawData.from_arrays(
        rows["pretrain_loss"],
        rows["n_train"],
        rows["value"],
        n_eval=rows["n_eval"],
        seed=rows["seed"],
        model=rows["model_index"],
        shots=int(rows["shots"][0]),
        chance=float(rows["chance"][0]),
    )


def _append(cols: dict[str, list], losses: np.ndarray, d: float, s: int, mu: np.ndarray) -> None:
    cols["pretrain_loss"].extend(losses.tolist())
    cols["n_train"].extend([float(d)] * losses.size)
    cols["seed"].extend([s] * losses.size)
    cols["model_index"].extend(range(losses.size))
    cols["mu"].extend(np.asarray(mu).tolist())
