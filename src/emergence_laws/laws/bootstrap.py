"""The interval of the few-shot emergence point: a bootstrap over checkpoints, subsets and D0.

Each replicate (1) draws ``D0`` from its weights over the declared range (:mod:`~emergence_laws.laws.d0`;
a fixed ``D0`` when the range is one value), (2) resamples the table (:mod:`~emergence_laws.laws.resample`:
checkpoints crossed with random finetuning subsets), and (3) refits every parameter,
the few-shot floor shift ``delta`` included, from several starts (the fit at its ``D0`` and the generic
starts of :func:`~emergence_laws.laws.optimise.starts`), keeping the best. Several starts matter: the
ReLU elbow makes the likelihood multimodal, and a refit warm-started from the point fit alone stays
near it, which made the old interval too narrow even when the model was right. The interval spans
the 5th-95th percentile of ``E_theta(D0)`` over the replicates and the likelihood's ridge, the
predictions that fit as well as the best (:mod:`~emergence_laws.laws.profile`:
where the data do not identify the law, no set of starts samples the ridge fairly); the point
estimate is the replicates' median.

All starts of a group of replicates are refitted at once by :func:`~emergence_laws.laws.optimise.batch_fit`
(on a large table the replicates go in groups, so that progress can be shown; the groups do not change
the result). What the interval does *not* include: the functional form (log power law, ReLU elbow) is taken as
given, and a D0 outside the declared range is not considered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from emergence_laws.errors import InputError
from emergence_laws.laws.d0 import D0Profile, profile_d0
from emergence_laws.laws.data import LawData
from emergence_laws.laws.forms import shift
from emergence_laws.laws.law import EmergenceLaw
from emergence_laws.laws.likelihood import Likelihood
from emergence_laws.laws.optimise import batch_fit, law_bounds, starts
from emergence_laws.laws.profile import PredictionProfile, profile_prediction
from emergence_laws.laws.resample import checkpoint_weights
from emergence_laws.laws.terms import named
from emergence_laws.progress import format_duration, progress

#: Generic starts per replicate, besides the fit at the replicate's D0 (1, 2 and 4 measured:
#: benchmarks/calibration_design.py).
REPLICATE_STARTS: int = 2

#: Problem x point elements refitted per group of replicates (progress is reported after each group).
GROUP_ELEMENTS: int = 1 << 19

#: Seconds above which the bootstrap says what it runs and how to make it faster.
NOTE_AFTER_S: float = 5.0


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap distribution of the few-shot emergence point ``E_theta(D0)`` (nats).

    Attributes:
        samples: (n,) emergence points of the replicates that fitted.
        params: (n, 6) their parameter vectors (order ``k, alpha, C, A, B, delta``).
        d0: (n,) the D0 (examples) each replicate used.
        checkpoint_counts: (n, checkpoints) how often each replicate drew each checkpoint, in the order
            of ``np.unique(data.model)`` (a loss curve on the same checkpoints is refitted with them:
            :func:`~emergence_laws.laws.compute.crossing_scales`).
        p5, median, p95: percentiles of ``samples``: the 90% interval and the point estimate.
        n_failed: replicates whose fit produced non-finite numbers (dropped).
        profile: the D0 grid and its weights.
    """

    samples: np.ndarray
    params: np.ndarray
    d0: np.ndarray
    checkpoint_counts: np.ndarray
    p5: float
    median: float
    p95: float
    n_failed: int
    profile: D0Profile

    @property
    def interval(self) -> tuple[float, float]:
        return (self.p5, self.p95)


def interval_includes(law: EmergenceLaw) -> list[str]:
    """Plain words for what the interval of ``law`` accounts for, and what it takes as given."""
    lo, hi = law.d0_range or (law.d0, law.d0)
    if hi > lo:
        out = [f"D0 unknown in [{lo:g}, {hi:g}] examples (log-uniform, weighted by the few-shot rows' fit)"]
    else:
        out = [f"D0 fixed at {lo:g} examples (not varied)"]
    out.append("checkpoints resampled with all their rows (checkpoint offsets)")
    out.append("random finetuning subsets resampled within each data amount (run-to-run variance)")
    if "delta" not in law.fixed:
        out.append("the few-shot floor shift delta refitted")
    out.append("evaluation noise")
    out.append(f"each replicate refitted from {REPLICATE_STARTS + 1} starts")
    out.append("not included: the law's functional form, a D0 outside the range")
    return out


#: The words ``interval_includes`` uses when the ridge reaches the search's edge on a side.
UNBOUNDED: str = "the data do not bound the prediction"


def profile_words(prof: PredictionProfile) -> str:
    """The profile-likelihood part of the interval, in plain words."""
    ends = [("below", prof.open_lo), ("above", prof.open_hi)]
    opened = [side for side, o in ends if o]
    text = (f"the predictions that fit the data as well as the best, [{prof.lo:.4g}, {prof.hi:.4g}] nats "
            f"(profile likelihood within {prof.threshold:.2g} nats of its best)")
    if opened:
        text += f"; {UNBOUNDED} " + " or ".join(opened) + " (the search's edge is shown)"
    return text


def _note_replicates(bar, n: int, points: int, seconds: float) -> None:
    """Say, where progress is shown and the bootstrap will take a while, what it runs and how to make it faster."""
    if bar.style == "off" or seconds < min(NOTE_AFTER_S, bar.interval):
        return
    print(named(f"{bar.prefix}: bootstrap: {n} replicates on {points} distinct points (checkpoint x data amount), "
                f"about {format_duration(seconds)}; `bootstrap=N` trades the interval's accuracy for time (fewer "
                "replicates: a noisier interval, sooner)"), file=bar.stream, flush=True)


def bootstrap_law(
    data: LawData,
    law: EmergenceLaw,
    n: int = 200,
    seed: int = 0,
    *,
    profile_likelihood: bool = True,
) -> tuple[EmergenceLaw, BootstrapResult]:
    """Refit ``law`` on ``n`` bootstrap replicates of ``data``; return the law with its interval set.

    Checkpoints and random subsets are resampled (:mod:`~emergence_laws.laws.resample`); ``D0`` is
    drawn per replicate from ``law.d0_range`` (fixed when the range is one value); each replicate is
    refitted from its warm start and :data:`REPLICATE_STARTS` generic ones. ``profile_likelihood``: widen the interval to
    the predictions that fit as well as the best (:func:`~emergence_laws.laws.profile.profile_prediction`);
    on a flat ridge the replicates' spread reflects their starts, not the data.

    Returns:
        ``(law_with_interval, result)``: ``law.interval`` spans ``law.bootstrap_interval = (p5, p95)`` and
        ``law.ridge_interval``; ``law.median`` (the replicates' median) in nats.
    """
    if n < 2:
        raise InputError(f"`bootstrap={n}`: too few replicates for an interval; use `bootstrap=200` (or 0 to skip)")
    rng = np.random.default_rng(seed)
    lik = Likelihood(data, law.form, law.elbow, law.beta, law.d0)
    bounds = law_bounds(data, law)
    profile = profile_d0(lik, law.vector(), bounds, law.d0_range or (law.d0, law.d0))
    cell, d0s = profile.draw(n, rng)
    W, counts = checkpoint_weights(data, n, rng)
    S = starts(data, law.form, bounds, REPLICATE_STARTS)
    K = 1 + S.shape[0]
    P, f = np.empty((K, n, 6)), np.empty((K, n))
    group = max(1, GROUP_ELEMENTS // (K * lik.n_points))
    with progress(n, "bootstrap", "replicate") as bar:
        t0 = time.perf_counter()
        for lo in range(0, n, group):
            r = np.arange(lo, min(lo + group, n))
            P0 = np.concatenate([profile.params[cell[r]], np.repeat(S, r.size, axis=0)])
            Pg, fg = batch_fit(lik, P0, lik.counts(W[r]).repeat(K), bounds, d0=np.tile(d0s[r], K))
            P[:, r], f[:, r] = Pg.reshape(K, r.size, 6), fg.reshape(K, r.size)
            if lo == 0:
                _note_replicates(bar, n, lik.n_points, (time.perf_counter() - t0) * n / r.size)
            bar.update(r.size)
    best = np.argmin(np.where(np.isfinite(f), f, np.inf), axis=0)
    P = P[best, np.arange(n)]
    E = shift(law.form, d0s, P[:, 0], P[:, 1], P[:, 2])
    ok = np.isfinite(E) & np.all(np.isfinite(P), axis=1)
    if ok.sum() < 2:
        raise InputError("bootstrap: fewer than 2 replicates could be fitted; the data are too sparse for an interval")
    p5, med, p95 = (float(x) for x in np.percentile(E[ok], [5, 50, 95]))
    res = BootstrapResult(E[ok], P[ok], d0s[ok], counts[ok], p5, med, p95, int((~ok).sum()), profile)
    includes = interval_includes(law)
    lo, hi, prof = p5, p95, None
    if profile_likelihood:
        prof = profile_prediction(data, law)
        lo, hi = min(lo, prof.lo), max(hi, prof.hi)
        includes.insert(-1, profile_words(prof))
    # A loss in nats per token is never negative: an open ridge or a wild replicate stops at 0.
    ridge = None if prof is None else (max(prof.lo, 0.0), prof.hi)
    out = replace(law, interval=(max(lo, 0.0), hi), median=med, n_bootstrap=int(ok.sum()),
                  interval_includes=tuple(includes), bootstrap_interval=(max(p5, 0.0), p95), ridge_interval=ridge)
    return out, res


def fit_and_bootstrap(
    data: LawData,
    bootstrap: int = 200,
    seed: int = 0,
    *,
    profile_likelihood: bool = True,
    **fit_kw,
) -> tuple[EmergenceLaw, BootstrapResult | None]:
    """:func:`~emergence_laws.laws.law_fit.fit_law` (``fit_kw``: d0, d0_range, form, elbow, fit_delta, ...), then
    :func:`bootstrap_law` with ``bootstrap`` replicates (0 = no interval: ``(law, None)``).

    The reported point estimate is then ``law.point_estimate`` (the replicates' median).
    """
    from emergence_laws.laws.law_fit import fit_law

    law = fit_law(data, **fit_kw)
    if not bootstrap:
        return law, None
    return bootstrap_law(data, law, n=int(bootstrap), seed=seed, profile_likelihood=profile_likelihood)
