"""Backtest: fit the law on weaker checkpoints only, compare with the emergence that actually happened.

The *actual* few-shot emergence point is the elbow of a ReLU fitted to the full few-shot curve
(all checkpoints up to the curve's saturation, :func:`~emergence_laws.laws.elbow.before_saturation`;
:func:`~emergence_laws.laws.elbow.fit_elbow`). The *prediction* uses only rows
whose checkpoint has ``loss > cutoff_loss`` (nats): finetuned and few-shot rows alike. The error is
in nats (<= 0.1 counts as a success, as in Snell et al., 2024). "Compute ahead" is the ratio of
pretraining FLOPs between the first post-emergence checkpoint (the weakest with loss below the
actual elbow) and the strongest checkpoint used in the fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emergence_laws.errors import NotIdentifiableError
from emergence_laws.laws.baselines import SigmoidBaseline, fit_sigmoid_baseline
from emergence_laws.laws.bootstrap import fit_and_bootstrap
from emergence_laws.laws.data import LawData
from emergence_laws.laws.elbow import ElbowFit, before_saturation, fit_elbow
from emergence_laws.laws.law import EmergenceLaw

#: Absolute error (nats) under which a prediction counts as a success.
SUCCESS_NATS: float = 0.1


@dataclass(frozen=True)
class Backtest:
    """Outcome of :func:`backtest`. Losses in nats/token; ``compute_ahead`` a FLOPs ratio or None."""

    predicted: float
    interval: tuple[float, float] | None
    actual: float
    error_nats: float
    success: bool
    cutoff_loss: float
    n_rows_fit: int
    n_checkpoints_fit: int
    strongest_fit_loss: float
    first_post_emergence_loss: float | None
    compute_ahead: float | None
    law: EmergenceLaw
    truth: ElbowFit
    sigmoid: SigmoidBaseline | None
    sigmoid_error_nats: float | None


def backtest(
    data: LawData,
    cutoff_loss: float,
    *,
    flops=None,
    d0: float | None = None,
    d0_range: tuple[float, float] | None = None,
    form: str = "logpower",
    elbow: str = "relu",
    bootstrap: int = 0,
    seed: int = 0,
    fit_delta: bool = True,
    resample: str = "checkpoints",
) -> Backtest:
    """Fit on checkpoints with ``loss > cutoff_loss`` and score the predicted few-shot emergence point.

    Args:
        data: all rows (finetuned and few-shot) of one task and metric.
        cutoff_loss: nats; only checkpoints weaker than this (higher loss) enter the fit.
        flops: optional pretraining FLOPs per row (aligned with ``data``), for ``compute_ahead``.
        d0, d0_range, form, elbow, fit_delta: as in :func:`~emergence_laws.laws.fit.fit_law`.
        bootstrap: replicates for the prediction's interval (0 = none); ``resample``: its scheme
            (:func:`~emergence_laws.laws.bootstrap.bootstrap_law`). The prediction is ``law.point_estimate``.

    Raises:
        NotIdentifiableError: the few-shot curve never emerges (no ground truth), or the rows above
            the cutoff cannot identify the law.
    """
    fs = data.is_fewshot
    if np.unique(data.loss[fs]).size < 3:
        raise NotIdentifiableError(
            "backtest needs the few-shot curve (n_train = 0) at 3+ checkpoints to know where emergence actually happened; add few-shot rows"
        )
    ne = data.n_eval
    fs_loss, fs_value, fs_ne = data.loss[fs], data.value[fs], None if ne is None else ne[fs]
    truth = fit_elbow(fs_loss, fs_value, chance=data.chance, n_eval=fs_ne)
    top = before_saturation(fs_loss, fs_value)  # a saturated top would tilt the ReLU (see before_saturation)
    if truth.emerged and not top.all() and np.unique(fs_loss[top]).size >= 3:
        refit = fit_elbow(fs_loss[top], fs_value[top], chance=data.chance, n_eval=None if fs_ne is None else fs_ne[top])
        if refit.emerged:
            truth = refit
    if not truth.emerged:
        raise NotIdentifiableError(
            f"the few-shot curve never leaves its floor (strongest loss {truth.e_upper:.4g} nats): there is no actual "
            "emergence point to backtest against; add stronger checkpoints"
        )
    keep = data.loss > cutoff_loss
    if not keep.any():
        raise NotIdentifiableError(f"no checkpoint has loss above the cutoff {cutoff_loss:g} nats; raise --cutoff-loss")
    sub = data.subset(keep)
    law, _ = fit_and_bootstrap(
        sub, bootstrap, seed, resample=resample, form=form, elbow=elbow, d0=d0, d0_range=d0_range, fit_delta=fit_delta
    )
    pred = law.point_estimate
    err = abs(pred - truth.E)
    strongest = float(sub.loss.min())
    post = np.unique(data.loss[fs & (data.loss < truth.E)])
    first_post = float(post.max()) if post.size else None
    ahead = None
    if flops is not None and first_post is not None:
        fl = np.asarray(flops, dtype=float)
        f_post = fl[data.loss == first_post]
        f_fit = fl[data.loss == strongest]
        f_post, f_fit = f_post[np.isfinite(f_post)], f_fit[np.isfinite(f_fit)]
        if f_post.size and f_fit.size and f_fit.max() > 0:
            ahead = float(np.median(f_post) / np.median(f_fit))
    sig, sig_err = None, None
    fs_sub = sub.is_fewshot
    if np.unique(sub.loss[fs_sub]).size >= 3:
        sig = fit_sigmoid_baseline(
            sub.loss[fs_sub],
            sub.value[fs_sub],
            chance=data.chance,
            n_eval=None if sub.n_eval is None else sub.n_eval[fs_sub],
        )
        sig_err = abs(sig.emergence_point - truth.E)
    return Backtest(
        predicted=pred,
        interval=law.interval,
        actual=truth.E,
        error_nats=err,
        success=bool(err <= SUCCESS_NATS),
        cutoff_loss=float(cutoff_loss),
        n_rows_fit=sub.n_rows,
        n_checkpoints_fit=int(np.unique(sub.loss).size),
        strongest_fit_loss=strongest,
        first_post_emergence_loss=first_post,
        compute_ahead=None if ahead is None or not math.isfinite(ahead) else ahead,
        law=law,
        truth=truth,
        sigmoid=sig,
        sigmoid_error_nats=sig_err,
    )
