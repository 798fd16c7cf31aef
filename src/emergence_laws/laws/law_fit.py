"""Joint maximum-likelihood fit of an emergence law (Snell et al., 2024): :func:`fit_law`.

The law and its parameters are :class:`~emergence_laws.laws.law.EmergenceLaw`; the likelihood
(binomial for proportions with known ``n_eval``, Gaussian otherwise) is
:class:`~emergence_laws.laws.likelihood.Likelihood`; the optimisers (batched Levenberg-Marquardt
from several starts built from per-data-amount elbow fits, then an L-BFGS-B polish) are in
:mod:`~emergence_laws.laws.optimise`. ``D0`` is given, or unknown in a range (default ``[N, 10 N]``,
``N`` = the few-shot rows' ``shots``; :mod:`~emergence_laws.laws.d0`).
"""

from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import replace

import numpy as np

from emergence_laws.errors import NotIdentifiableError
from emergence_laws.laws.d0 import profile_d0, resolve_d0
from emergence_laws.laws.data import LawData
from emergence_laws.laws.forms import DEFAULT_BETA
from emergence_laws.laws.law import PARAM_NAMES, EmergenceLaw
from emergence_laws.laws.likelihood import Likelihood
from emergence_laws.laws.optimise import batch_fit, minimise, param_bounds, starts

__all__ = ["PARAM_NAMES", "EmergenceLaw", "fit_law"]


def fit_law(
    data: LawData,
    *,
    form: str = "logpower",
    elbow: str = "relu",
    d0: float | None = None,
    d0_range: tuple[float, float] | None = None,
    fit_delta: bool = True,
    beta: float = DEFAULT_BETA,
    alpha: float | None = None,
    n_starts: int = 4,
    check: bool = True,
) -> EmergenceLaw:
    """Fit the joint emergence law to ``data`` by maximum likelihood.

    Args:
        data: validated rows (:class:`LawData`); finetuned rows are required, few-shot rows optional.
        form: ``"logpower"`` (``k (log D)^alpha + C``, default) or ``"power"`` (``k D^alpha + C``).
        elbow: ``"relu"`` (default) or ``"softplus"`` (sharpness ``beta``, 1/nats).
        d0: a known low-data extrapolation limit ``D0`` (examples).
        d0_range: ``(lo, hi)``: D0 unknown in this range (examples). Default (neither given): ``[N, 10 N]``,
            ``N`` = the few-shot rows' ``shots`` (:func:`~emergence_laws.laws.d0.resolve_d0`). The law is
            then fitted at the median of D0's weights over the range (:func:`~emergence_laws.laws.d0.profile_d0`).
        fit_delta: fit a floor shift ``Delta`` for few-shot rows (when there are any).
        alpha: fix ``alpha`` instead of fitting it (done automatically, at 1, with 2 data amounts).
        n_starts: alphas to start from, each at the smallest, median and largest per-amount slope.
        check: run the identifiability checks (:mod:`~emergence_laws.laws.identifiability`) first.

    Returns:
        :class:`EmergenceLaw` (no interval yet: see :func:`~emergence_laws.laws.bootstrap.bootstrap_law`).

    Raises:
        NotIdentifiableError: the data cannot determine the law (the message says what to add).
    """
    from emergence_laws.laws.identifiability import check_identifiable

    notes: list[str] = []
    (lo, hi), n0 = resolve_d0(data, d0, d0_range)
    notes += n0
    d0v = math.sqrt(lo * hi)
    if check:
        notes += check_identifiable(data, (lo, hi))
    if alpha is None and data.amounts.size == 2:
        alpha = 1.0
        notes.append(
            "only 2 finetuning data amounts: alpha is fixed at 1 (E linear in log D); add a third amount to fit alpha"
        )
    lik = Likelihood(data, form, elbow, beta, d0v)
    bounds = param_bounds(data, form, fit_delta=fit_delta, alpha=alpha)
    best_x, best_f = None, np.inf
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", RuntimeWarning)
        P0 = starts(data, form, bounds, n_starts, slopes=True)
        P, f = batch_fit(lik, P0, None, bounds, max_iter=200)
        ok = np.all(np.isfinite(P), axis=1) & np.isfinite(f)
        if ok.any():
            i = int(np.argmin(np.where(ok, f, np.inf)))
            best_x, best_f = P[i], float(f[i])
            res = minimise(lik, best_x, bounds)  # polish
            if np.all(np.isfinite(res.x)) and np.isfinite(res.fun) and res.fun < best_f:
                best_x, best_f = res.x, float(res.fun)
    if best_x is None:
        raise NotIdentifiableError(
            "the emergence-law fit did not converge from any start; check that accuracy rises as loss falls "
            "in the finetuned rows, or add checkpoints past emergence"
        )
    if hi > lo:  # D0 unknown in a range: fit at the median of its weights
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore", RuntimeWarning)
            profile = profile_d0(lik, best_x, bounds, (lo, hi))
            d0v = profile.median()
            lik = Likelihood(data, form, elbow, beta, d0v)
            near = int(np.argmin(np.abs(np.log(profile.grid / d0v))))
            P, f = batch_fit(lik, np.stack([profile.params[near], best_x]), None, bounds, max_iter=200)
            i = int(np.argmin(np.where(np.isfinite(f), f, np.inf)))
            best_x, best_f = P[i], float(f[i])
    law = EmergenceLaw(
        *[float(v) for v in best_x],
        d0=d0v,
        d0_range=(lo, hi),
        form=form,
        elbow=elbow,
        beta=float(beta),
        shots=data.shots,
        noise=lik.noise,
        nll=best_f,
        n_rows=data.n_rows,
        amounts=tuple(float(x) for x in data.amounts),
        fixed=bounds.fixed,
        warnings=tuple(notes),
    )
    if check:
        from emergence_laws.laws.identifiability import post_fit_warnings

        law = replace(law, warnings=law.warnings + tuple(post_fit_warnings(data, law)))
    return law
