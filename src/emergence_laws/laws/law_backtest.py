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
from dataclasses import dataclass, replace

import numpy as np

from emergence_laws.errors import InputError, NotIdentifiableError
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


def actual_elbow(loss, value, *, chance: float | None = None, n_eval=None) -> ElbowFit:
    """The few-shot emergence that happened: a ReLU elbow fitted to the whole few-shot curve up to its
    saturation (:func:`~emergence_laws.laws.elbow.before_saturation`). ``loss`` in nats, ``value``
    oriented higher-is-better.

    Raises:
        NotIdentifiableError: fewer than 3 checkpoints, or the curve never leaves its floor.
    """
    loss = np.asarray(loss, dtype=float)
    value = np.asarray(value, dtype=float)
    if np.unique(loss).size < 3:
        raise NotIdentifiableError(
            "backtest needs the few-shot curve (n_train = 0) at 3+ checkpoints to know where emergence actually "
            "happened; add few-shot rows"
        )
    truth = fit_elbow(loss, value, chance=chance, n_eval=n_eval)
    top = before_saturation(loss, value)  # a saturated top would tilt the ReLU (see before_saturation)
    if truth.emerged and not top.all() and np.unique(loss[top]).size >= 3:
        ne = None if n_eval is None else np.broadcast_to(np.asarray(n_eval, dtype=float), loss.shape)[top]
        refit = fit_elbow(loss[top], value[top], chance=chance, n_eval=ne)
        if refit.emerged:
            truth = refit
    if not truth.emerged:
        raise NotIdentifiableError(
            f"the few-shot curve never leaves its floor (strongest loss {truth.e_upper:.4g} nats): there is no actual "
            "emergence point to backtest against; add stronger checkpoints"
        )
    return truth


def compute_ahead(loss, flops, first_post: float | None, strongest: float) -> float | None:
    """FLOPs of the first post-emergence checkpoint / FLOPs of the strongest one in the fit (None if unknown)."""
    if flops is None or first_post is None:
        return None
    loss = np.asarray(loss, dtype=float)
    fl = np.asarray(flops, dtype=float)
    f_post = fl[loss == first_post]
    f_fit = fl[loss == strongest]
    f_post, f_fit = f_post[np.isfinite(f_post)], f_fit[np.isfinite(f_fit)]
    if not (f_post.size and f_fit.size and f_fit.max() > 0):
        return None
    ahead = float(np.median(f_post) / np.median(f_fit))
    return ahead if math.isfinite(ahead) else None


def check_finite_cutoff(cutoff_loss: float) -> None:
    """InputError unless the cutoff (nats) is a finite number."""
    if not math.isfinite(cutoff_loss):
        raise InputError(f"cutoff loss {cutoff_loss:g}: not a finite number; give a pretraining loss in nats, "
                         "between the losses of the checkpoints to fit and those to predict")


def held_out_post_emergence(loss, fewshot_loss, truth: ElbowFit, cutoff_loss: float, *, need: int = 1) -> np.ndarray:
    """The few-shot losses (nats) of the checkpoints past the actual emergence point, after checking
    that ``cutoff_loss`` leaves `need`+ checkpoints to fit (loss above it) and holds out at least one
    post-emergence checkpoint (loss at or below it): else nothing emergent is left to predict.

    Raises:
        InputError: the cutoff leaves too little to fit (lower it) or holds nothing emergent out (raise it).
        NotIdentifiableError: no few-shot checkpoint lies past the actual emergence point.
    """
    loss = np.asarray(loss, dtype=float)
    above = np.unique(loss[loss > cutoff_loss]).size
    if above < need:
        raise InputError(f"cutoff loss {cutoff_loss:g}: {above} checkpoint(s) have a higher loss (the weakest has "
                         f"{float(loss.max()):.4g} nats), {need}+ are needed to fit; lower the cutoff")
    fs_loss = np.asarray(fewshot_loss, dtype=float)
    post = np.unique(fs_loss[fs_loss < truth.E])
    if not post.size:
        raise NotIdentifiableError(f"no few-shot checkpoint lies past the actual emergence point ({truth.E:.4g} "
                                   "nats); add stronger checkpoints")
    if not (post <= cutoff_loss).any():
        raise InputError(
            f"cutoff loss {cutoff_loss:g}: every checkpoint past the actual emergence point ({truth.E:.4g} nats) is "
            f"in the fit, so nothing emergent is held out to predict; raise the cutoff to at least "
            f"{float(post.min()):.4g} nats (the strongest checkpoint), ideally above {truth.E:.4g}")
    return post


def _seen_emergence(post: np.ndarray, cutoff_loss: float, truth: ElbowFit) -> str | None:
    """A warning when the fit used checkpoints already past the actual emergence point."""
    seen = post[post > cutoff_loss]
    if not seen.size:
        return None
    return (f"the fit uses {seen.size} checkpoint(s) already past the actual emergence point ({truth.E:.4g} nats); "
            f"this is not a prediction in advance: raise the cutoff above {float(post.max()):.4g} nats for one")


@dataclass(frozen=True)
class SigmoidBacktest:
    """Outcome of :func:`backtest_sigmoid`: the few-shot sigmoid baseline scored like the law.

    ``predicted`` is the sigmoid's tangent elbow (nats) fitted on checkpoints weaker than the
    cutoff; ``identified`` False means that curve had not started to rise, so the number is no
    prediction (``success`` is then False whatever the error).
    """

    predicted: float
    identified: bool
    actual: float
    error_nats: float
    success: bool
    cutoff_loss: float
    n_checkpoints_fit: int
    strongest_fit_loss: float
    first_post_emergence_loss: float | None
    compute_ahead: float | None
    sigmoid: SigmoidBaseline
    truth: ElbowFit


def backtest_sigmoid(loss, value, cutoff_loss: float, *, chance: float | None = None, n_eval=None,
                     flops=None) -> SigmoidBacktest:
    """Backtest the few-shot-only sigmoid: fit it on checkpoints with ``loss > cutoff_loss`` (nats),
    compare its tangent elbow with :func:`actual_elbow` of the whole curve. ``value`` oriented
    higher-is-better; ``flops`` (per row) for ``compute_ahead``.
    """
    check_finite_cutoff(cutoff_loss)
    loss = np.asarray(loss, dtype=float)
    value = np.asarray(value, dtype=float)
    ne = None if n_eval is None else np.broadcast_to(np.asarray(n_eval, dtype=float), loss.shape)
    truth = actual_elbow(loss, value, chance=chance, n_eval=ne)
    post = held_out_post_emergence(loss, loss, truth, cutoff_loss, need=3)  # the sigmoid needs 3+ checkpoints
    keep = loss > cutoff_loss
    sig = fit_sigmoid_baseline(loss[keep], value[keep], chance=chance, n_eval=None if ne is None else ne[keep])
    err = abs(sig.emergence_point - truth.E)
    strongest = float(loss[keep].min())
    first_post = float(post.max())
    return SigmoidBacktest(
        predicted=sig.emergence_point,
        identified=sig.identified,
        actual=truth.E,
        error_nats=err,
        success=bool(sig.identified and err <= SUCCESS_NATS),
        cutoff_loss=float(cutoff_loss),
        n_checkpoints_fit=int(np.unique(loss[keep]).size),
        strongest_fit_loss=strongest,
        first_post_emergence_loss=first_post,
        compute_ahead=compute_ahead(loss, flops, first_post, strongest),
        sigmoid=sig,
        truth=truth,
    )


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
) -> Backtest:
    """Fit on checkpoints with ``loss > cutoff_loss`` and score the predicted few-shot emergence point.

    Args:
        data: all rows (finetuned and few-shot) of one task and metric.
        cutoff_loss: nats; only checkpoints weaker than this (higher loss) enter the fit.
        flops: optional pretraining FLOPs per row (aligned with ``data``), for ``compute_ahead``.
        d0, d0_range, form, elbow, fit_delta: as in :func:`~emergence_laws.laws.law_fit.fit_law`.
        bootstrap: replicates for the prediction's interval (0 = none;
            :func:`~emergence_laws.laws.bootstrap.bootstrap_law`). The prediction is ``law.point_estimate``.

    Raises:
        InputError: the cutoff is not finite, leaves nothing to fit, or holds out no checkpoint past
            the actual emergence point (nothing emergent left to predict).
        NotIdentifiableError: the few-shot curve never emerges (no ground truth), or the rows above
            the cutoff cannot identify the law.
    """
    check_finite_cutoff(cutoff_loss)
    fs = data.is_fewshot
    ne = data.n_eval
    truth = actual_elbow(data.loss[fs], data.value[fs], chance=data.chance, n_eval=None if ne is None else ne[fs])
    post = held_out_post_emergence(data.loss, data.loss[fs], truth, cutoff_loss)
    keep = data.loss > cutoff_loss
    sub = data.subset(keep)
    law, _ = fit_and_bootstrap(
        sub, bootstrap, seed, form=form, elbow=elbow, d0=d0, d0_range=d0_range, fit_delta=fit_delta
    )
    seen = _seen_emergence(post, cutoff_loss, truth)
    if seen:
        law = replace(law, warnings=(*law.warnings, seen))
    pred = law.point_estimate
    err = abs(pred - truth.E)
    strongest = float(sub.loss.min())
    first_post = float(post.max())
    ahead = compute_ahead(data.loss, flops, first_post, strongest)
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
        compute_ahead=ahead,
        law=law,
        truth=truth,
        sigmoid=sig,
        sigmoid_error_nats=sig_err,
    )
