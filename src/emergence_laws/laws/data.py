"""The arrays an emergence-law fit needs, validated once (``LawData``).

One entry per evaluation row. ``n_train == 0`` marks a few-shot row (no finetuning) evaluated with
``shots`` in-context examples; ``n_train > 0`` a checkpoint finetuned on that many examples.
Units: ``loss`` in nats/token (pretraining loss of the checkpoint), ``value`` in the metric's units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emergence_laws.errors import InputError


def _as_1d(name: str, x, n: int | None = None, dtype=float) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=dtype).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: expected numbers, got {type(x).__name__} ({exc}); pass a numeric array") from None
    if n is not None and arr.shape[0] != n:
        raise InputError(f"{name}: has {arr.shape[0]} entries but loss has {n}; pass one entry per row")
    return arr


@dataclass(frozen=True)
class LawData:
    """Validated inputs of an emergence-law fit (all arrays have one entry per row).

    Attributes:
        loss: pretraining loss of the row's checkpoint, nats/token.
        n_train: finetuning examples (0 = few-shot row).
        value: the metric (accuracy in [0, 1], or any higher-is-better score).
        n_eval: evaluation examples behind ``value`` (NaN where unknown), or None if unknown for all.
        seed: random-subset id of finetuned rows (rows sharing ``n_train`` and ``seed`` share a subset).
        model: integer id of the checkpoint.
        shots: in-context examples of the few-shot rows (N; ``D0`` defaults to it).
        chance: the metric's random-guess value, if known.
    """

    loss: np.ndarray
    n_train: np.ndarray
    value: np.ndarray
    n_eval: np.ndarray | None
    seed: np.ndarray
    model: np.ndarray
    shots: int = 0
    chance: float | None = None

    @classmethod
    def from_arrays(
        cls,
        loss,
        n_train,
        value,
        n_eval=None,
        seed=None,
        model=None,
        shots: int = 0,
        chance: float | None = None,
    ) -> LawData:
        """Build and validate; raises :class:`InputError` naming the bad array and the fix."""
        loss = _as_1d("loss", loss)
        n = loss.shape[0]
        if n == 0:
            raise InputError("no rows to fit: the table has no evaluations for this task/metric; check `task`/`metric`")
        n_train = _as_1d("n_train", n_train, n)
        value = _as_1d("value", value, n)
        for name, arr in (("loss", loss), ("n_train", n_train), ("value", value)):
            bad = np.flatnonzero(~np.isfinite(arr))
            if bad.size:
                raise InputError(f"{name}: row {int(bad[0])} is not a finite number; drop or fill the missing values")
        if np.any(loss <= 0):
            raise InputError(
                f"loss: row {int(np.flatnonzero(loss <= 0)[0])} is <= 0; pretraining loss is in nats/token and positive"
            )
        if np.any(n_train < 0):
            raise InputError(f"n_train: row {int(np.flatnonzero(n_train < 0)[0])} is negative; use 0 for few-shot rows")
        if n_eval is not None:
            n_eval = _as_1d("n_eval", n_eval, n)
            if np.all(~np.isfinite(n_eval)):
                n_eval = None
            elif np.any(n_eval[np.isfinite(n_eval)] <= 0):
                raise InputError("n_eval: must be a positive count of evaluation examples; leave it empty if unknown")
        seed = np.zeros(n, dtype=np.int64) if seed is None else _as_1d("seed", seed, n, dtype=np.int64)
        if model is None:
            _, model = np.unique(loss, return_inverse=True)
        model = _as_1d("model", model, n, dtype=np.int64)
        if shots < 0:
            raise InputError(f"shots: {shots} is negative; use the number of in-context examples (0 for zero-shot)")
        return cls(loss, n_train, value, n_eval, seed, model, int(shots), None if chance is None else float(chance))

    # -- views ------------------------------------------------------------------------------
    @property
    def n_rows(self) -> int:
        return int(self.loss.shape[0])

    @property
    def is_fewshot(self) -> np.ndarray:
        """Boolean mask of few-shot rows (``n_train == 0``)."""
        return self.n_train == 0

    @property
    def amounts(self) -> np.ndarray:
        """Sorted distinct finetuning data amounts (``n_train > 0``)."""
        return np.unique(self.n_train[self.n_train > 0])

    def subset(self, mask: np.ndarray) -> LawData:
        """The rows where ``mask`` is true (same shots/chance)."""
        mask = np.asarray(mask, dtype=bool)
        return LawData(
            self.loss[mask],
            self.n_train[mask],
            self.value[mask],
            None if self.n_eval is None else self.n_eval[mask],
            self.seed[mask],
            self.model[mask],
            self.shots,
            self.chance,
        )

    def binomial_counts(self) -> np.ndarray:
        """``n_eval`` where known and the value is a proportion in [0, 1], else NaN (Gaussian rows)."""
        out = np.full(self.n_rows, np.nan)
        if self.n_eval is not None:
            ok = np.isfinite(self.n_eval) & (self.value >= 0) & (self.value <= 1)
            out[ok] = self.n_eval[ok]
        return out
