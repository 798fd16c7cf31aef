"""Classify one scaling curve as emergent, smooth, flat, noisy, not identifiable or warm-up (pure numpy).

Input is one series: a scale coordinate ``u`` oriented so that *larger u = bigger model*
(``u = log10`` of FLOPs, params, tokens or steps, or ``-pretrain_loss`` in nats; the caller
converts and leaves random-init checkpoints out) and a metric ``y`` oriented so that *larger =
better* (the caller turns lower-is-better metrics round, :meth:`emergence_laws.metrics.Metric.orient`).

The statistic: a *ramp* (two-knot change-point) fit by profile least squares,

    y(u) = B + R * clip((u - E) / (F - E), 0, 1),     R >= 0,  u_min <= E < F <= u_max,

i.e. flat at a floor ``B`` up to the onset ``E``, a linear rise of height ``R`` up to ``F``,
flat after (``F = u_max`` is a pure ReLU hinge). The knots are found by an exhaustive grid
(coarse, then refined) so the fit is the global least-squares optimum and cannot fail to
converge. This is detection's own change-point statistic; the maximum-likelihood ReLU elbow in
pretraining loss used for predictions lives in ``emergence_laws.laws.elbow``.

Threshold-free summaries (no tunable constant enters them):

* ``sharpness = 1 - (F - E) / (u_max - u_min)``: the share of the observed scale range over
  which the curve does *not* change. 0 = the rise is spread evenly over the whole range
  (a straight line in log scale); 1 = the whole rise is one jump between adjacent models.
* ``rise_width = F - E`` in scale units (decades of FLOPs/params, or nats of loss).
* ``kink_evidence = BIC(linear) - BIC(ramp)``: Gaussian BIC difference; > 0 favours a kink
  (flat-then-rise) over a straight line in log scale.

The label then uses a few documented thresholds (``DetectConfig``):

* **flat**: no significant rise (``BIC(const) - BIC(ramp) < trend_bic`` or ``R < min_rise``).
* **noisy**: a rise, but the ramp explains less than ``noisy_r2`` of the variance, or the
  curve significantly *decreases* with scale.
* **emergent**: a rise preceded by a *flat floor at chance*: at least ``min_floor_points``
  models and ``min_floor_span`` of the log-scale range lie before the onset, their median is
  within ``tol`` of chance (two-sided; skipped when chance is unknown), the floor is flat (its
  robust Theil-Sen trend gains less than ``max_floor_gain`` of the total rise between the
  smallest model and the onset; this is what separates SQuAD, flat then steep, from HellaSwag,
  which creeps up from the smallest models and accelerates) and ``kink_evidence >= kink_bic``.
* **warm-up** (when the caller marks warm-up checkpoints of a training run): a curve that would
  be emergent, or not identifiable with no floor point past warm-up, whose floor has fewer than
  ``min_floor_points`` points past warm-up: at chance only while the loss still falls from random
  init.
* **not identifiable**: a rise after 2 to ``min_floor_points - 1`` points at chance (one point is
  no stretch) where only the floor-size checks fail: too few points to tell a flat floor from a
  gradual rise.
* **smooth**: a rise that is not emergent (above chance from the smallest models, or gradual).

The emergent scale is the onset ``E``; for a *step* (the jump from the last point at chance before
the first point above it, from the onset on, is at least half the rise) it is moved inside the
gap between those two points. Its interval is the profile-likelihood 90% interval of
``E`` (Gaussian residuals, chi-square with 1 dof) joined with, for series of at least 10 models,
the case-bootstrap (models resampled) 5-95% range; the hull of both is reported, so neither
a heavy-tailed pooled table (bootstrap widens) nor a short ladder (profile only; a bootstrap of
5 models mostly drops the floor) gets an interval narrower than its data support; it is then
widened to cover the last point at chance and the first above, so it always brackets the jump.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from emergence_laws.jsonutil import clean
from emergence_laws.laws.ramp import RampFit, bootstrap_onset, fit_ramp, profile_onset_interval

LABELS: tuple[str, ...] = ("emergent", "smooth", "flat", "noisy", "not identifiable", "warm-up")

_EPS_VAR = 1e-10  # variance floor for BIC when a fit is exact (e.g. every value exactly 0)


@dataclass(frozen=True)
class DetectConfig:
    """Thresholds of the label rule (the statistics themselves are threshold-free).

    Metric-unit thresholds are multiplied by the metric's scale (1 for accuracies in [0, 1],
    100 for BLEU-like scores in [0, 100], 1 nat for log-likelihoods).
    """

    min_points: int = 5  #: fewer distinct models than this -> "noisy" with a note
    trend_bic: float = 6.0  #: BIC(const) - BIC(ramp) needed to call any rise ("strong" evidence)
    min_rise: float = 0.05  #: smallest rise (top - floor) worth a label other than flat, metric units
    noisy_r2: float = 0.5  #: ramp R^2 below this with a rise -> noisy
    kink_bic: float = 2.0  #: BIC(linear) - BIC(ramp) needed for emergent
    min_floor_points: int = 3  #: models at the floor before the onset, for emergent
    min_floor_span: float = 0.2  #: share of the log-scale range before the onset, for emergent
    chance_tol: float = 0.03  #: floor median may differ from chance by this (metric units), for emergent
    max_floor_gain: float = 0.1  #: share of the rise the floor may gain before the onset, for emergent
    warmup_share: float = 0.5  #: a checkpoint is in warm-up until its loss has fallen this share of the way
    #: from random init to the run's lowest loss (checkpoint logs with pretrain_loss)
    n_boot: int = 200  #: bootstrap resamples for the onset interval
    min_boot_points: int = 10  #: bootstrap only series with at least this many models
    seed: int = 0
    grid: int = 48  #: coarse knot grid per axis (refined locally afterwards)
    boot_grid: int = 40  #: knot grid per axis for the bootstrap refits (no refinement)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The default thresholds (a frozen dataclass, so one shared instance is safe).
DEFAULT_CONFIG = DetectConfig()


@dataclass(frozen=True)
class CurveDetection:
    """Result for one curve, in the oriented coordinates ``u`` (bigger = larger) and ``y``."""

    label: str
    onset: float  #: u where the curve leaves its floor (the emergent scale for "emergent")
    onset_lo: float | None  #: bootstrap 5% quantile of the onset (emergent only)
    onset_hi: float | None  #: bootstrap 95% quantile
    end: float  #: u where the ramp reaches its top
    floor: float  #: fitted floor level (oriented metric units)
    top: float  #: fitted top level
    rise: float
    sharpness: float  #: 1 - (end - onset) / (u_max - u_min); threshold-free, in [0, 1]
    rise_width: float  #: end - onset, scale units
    kink_evidence: float  #: BIC(linear) - BIC(ramp)
    trend_evidence: float  #: BIC(const) - BIC(ramp)
    r2: float  #: variance explained by the ramp
    slope_linear: float  #: slope of a straight line in u (per scale unit)
    noise_sd: float  #: residual SD of the ramp fit
    n_floor: int  #: models with u < onset
    floor_span: float  #: (onset - u_min) / (u_max - u_min)
    floor_median: float | None  #: median metric of the models before the onset
    floor_gain: float | None  #: Theil-Sen gain over the floor models, as a share of the rise
    floor_at_chance: bool | None  #: None when chance is unknown
    n: int
    reasons: list[str] = field(default_factory=list)
    scale: float | None = None  #: emergent scale (u): the ramp's onset; for a step, inside [last_at, first_above]
    band: float | None = None  #: upper edge of the at-chance band (oriented metric units)
    last_at: int | None = None  #: index (input order) of the last point at chance before the rise
    first_above: int | None = None  #: index of the first point above chance from the rise on
    n_above_before: int = 0  #: points above chance before the rise (pooled tables mix families)
    n_at_after: int = 0  #: points at chance from the rise on
    n_floor_past_warmup: int | None = None  #: floor points past warm-up (None: warm-up unknown)

    def to_dict(self) -> dict[str, Any]:
        return clean(asdict(self))


def _bic(rss: float, n: int, k: int, var_floor: float) -> float:
    return n * math.log(max(rss / n, var_floor)) + k * math.log(n)


# --------------------------------------------------------------------------------------------
# classification


def classify_curve(
    u: np.ndarray,
    y: np.ndarray,
    *,
    chance: float | None = None,
    n_eval: float | None = None,
    scale: float = 1.0,
    config: DetectConfig = DEFAULT_CONFIG,
    warmup: np.ndarray | None = None,
) -> CurveDetection:
    """Classify one oriented curve. ``scale`` is the metric's natural unit (1 for accuracy).

    u: scale coordinate, bigger = larger model (log10 FLOPs/params/tokens/steps or -loss in nats).
    y: metric, bigger = better. chance: random-guess level in the same orientation (None/NaN
    when unknown). n_eval: evaluation examples per point, widens the at-chance tolerance by
    3 binomial standard errors. warmup: per point, True for a checkpoint in its run's warm-up
    (None when unknown); leave random-init checkpoints out of ``u`` altogether.
    """
    u = np.asarray(u, dtype=float)
    y = np.asarray(y, dtype=float)
    order = np.argsort(u, kind="stable")
    u, y = u[order], y[order]
    warm = None if warmup is None else np.asarray(warmup, dtype=bool)[order]
    n = len(u)
    reasons: list[str] = []
    if chance is not None and not math.isfinite(chance):
        chance = None
    span = float(u.max() - u.min()) if n else 0.0
    var_floor = max(_EPS_VAR * scale * scale, 1e-300)

    fit = fit_ramp(u, y, grid=config.grid)
    syy = float(((y - y.mean()) ** 2).sum())
    A = np.vstack([np.ones(n), u]).T
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    rss_lin = float(((y - A @ coef) ** 2).sum())
    slope = float(coef[1])
    trend = _bic(syy, n, 1, var_floor) - _bic(fit.rss, n, 4, var_floor)
    kink = _bic(rss_lin, n, 2, var_floor) - _bic(fit.rss, n, 4, var_floor)
    r2 = 1.0 - fit.rss / syy if syy > 0 else 0.0
    noise = math.sqrt(fit.rss / max(n - 4, 1))
    sharp = 1.0 - (fit.end - fit.onset) / span if span > 0 else 0.0
    n_floor = int((u < fit.onset - 1e-12).sum())
    floor_span = (fit.onset - float(u.min())) / span if span > 0 else 0.0

    tol = config.chance_tol * scale
    if chance is not None and n_eval and n_eval > 0 and 0 <= chance <= 1 and scale == 1.0:
        tol = max(tol, 3 * math.sqrt(max(chance * (1 - chance), 1.0 / n_eval) / n_eval))
    pre = u < fit.onset - 1e-12
    floor_med = float(np.median(y[pre])) if pre.any() else None
    floor_gain = None
    if pre.sum() >= 3 and fit.rise > 0:
        floor_gain = theil_sen_slope(u[pre], y[pre]) * (fit.onset - float(u.min())) / fit.rise
    at_chance = None
    if chance is not None and floor_med is not None:
        at_chance = bool(abs(floor_med - chance) <= tol)

    n_post = None if warm is None else int((pre & ~warm).sum())
    label: str
    if n < config.min_points:
        label = "noisy"
        reasons.append(f"only {n} points (< {config.min_points}): too few to classify")
    elif fit.rise < config.min_rise * scale or trend < config.trend_bic:
        # no rise; a significant *decrease* is noted as noisy (inverse scaling)
        dec_trend = _bic(syy, n, 1, var_floor) - _bic(rss_lin, n, 2, var_floor)
        if slope < 0 and dec_trend >= config.trend_bic and (y.max() - y.min()) >= config.min_rise * scale:
            label = "noisy"
            reasons.append("decreases with scale (inverse scaling), not a rise")
        else:
            label = "flat"
            reasons.append(
                f"no significant rise (rise {fit.rise:.3g}, trend evidence {trend:.1f} < {config.trend_bic:g}"
                if trend < config.trend_bic
                else f"rise {fit.rise:.3g} < min_rise {config.min_rise * scale:.3g}"
            )
            if trend < config.trend_bic:
                reasons[-1] += ")"
    elif r2 < config.noisy_r2:
        label = "noisy"
        reasons.append(f"ramp explains only {r2:.0%} of the variance (< {config.noisy_r2:.0%})")
    else:
        label, why = _rise_label(n_floor, n_post, floor_span, floor_gain, kink, chance, floor_med, at_chance, tol,
                                 config)
        reasons.append(why)

    band = at_chance_band(chance, fit.floor, n_eval=n_eval, scale=scale, config=config)
    at = y <= band
    # the first point above chance from the onset on, the last point at chance before it
    cand = np.nonzero(~at & (u >= fit.onset - 1e-12))[0]
    first_above = int(cand[0]) if len(cand) else None
    k = first_above if first_above is not None else n
    cand = np.nonzero(at[:k])[0]
    last_at = int(cand[-1]) if len(cand) else None

    lo_q = hi_q = em_scale = None
    if label == "emergent":
        em_scale = fit.onset
        # a step (the jump from the last point at chance to the first above is most of the rise): the
        # onset lies between those two points; a gradual rise keeps the ramp's onset
        if last_at is not None and first_above is not None and y[first_above] - y[last_at] >= 0.5 * fit.rise:
            em_scale = min(max(em_scale, float(u[last_at])), float(u[first_above]))
        lo_q, hi_q = profile_onset_interval(u, y)
        if config.n_boot > 0 and n >= config.min_boot_points:
            onsets = bootstrap_onset(u, y, n_boot=config.n_boot, seed=config.seed, grid=config.boot_grid)
            b_lo, b_hi = (float(q) for q in np.quantile(onsets, [0.05, 0.95]))
            lo_q, hi_q = min(lo_q, b_lo), max(hi_q, b_hi)
        # the jump lies between the last point at chance and the first above: the interval covers both
        bracket = [em_scale] + [float(u[i]) for i in (last_at, first_above) if i is not None]
        lo_q, hi_q = min(lo_q, *bracket), max(hi_q, *bracket)

    before = u < (fit.onset if em_scale is None else em_scale) - 1e-12

    def back(i: int | None) -> int | None:  # sorted position -> input position
        return None if i is None else int(order[i])

    return CurveDetection(
        label=label,
        onset=fit.onset,
        onset_lo=lo_q,
        onset_hi=hi_q,
        end=fit.end,
        floor=fit.floor,
        top=fit.floor + fit.rise,
        rise=fit.rise,
        sharpness=float(sharp),
        rise_width=float(fit.end - fit.onset),
        kink_evidence=float(kink),
        trend_evidence=float(trend),
        r2=float(r2),
        slope_linear=slope,
        noise_sd=float(noise),
        n_floor=n_floor,
        floor_span=float(floor_span),
        floor_median=floor_med,
        floor_gain=None if floor_gain is None else float(floor_gain),
        floor_at_chance=at_chance,
        n=n,
        reasons=reasons,
        scale=em_scale,
        band=float(band),
        last_at=back(last_at),
        first_above=back(first_above),
        n_above_before=int((~at & before).sum()),
        n_at_after=int((at & ~before).sum()),
        n_floor_past_warmup=n_post,
    )


def _rise_label(n_floor: int, n_post: int | None, floor_span: float, floor_gain: float | None, kink: float,
                chance: float | None, floor_med: float | None, at_chance: bool | None, tol: float,
                config: DetectConfig) -> tuple[str, str]:
    """The label of a curve that rises, and why (see the module docstring for the rule)."""
    count_ok = n_floor >= config.min_floor_points
    checks = {
        f"floor of {n_floor} points before the onset (need {config.min_floor_points})": count_ok,
        f"floor spans {floor_span:.0%} of the scale range (need {config.min_floor_span:.0%})":
        floor_span >= config.min_floor_span,
        f"floor gains {_pct(floor_gain)} of the rise before the onset (max {config.max_floor_gain:.0%})":
        floor_gain is not None and floor_gain < config.max_floor_gain,
        f"kink evidence {kink:.1f} (need {config.kink_bic:g})": kink >= config.kink_bic,
    }
    if chance is not None:
        checks[f"floor median {_g(floor_med)} within {tol:.3g} of chance {chance:.3g}"] = bool(at_chance)
    failed = [k for k, ok in checks.items() if not ok]
    # too short a floor: 2+ points at chance (one point is no stretch), fewer than min_floor_points, and
    # the floor-size checks (count, span, a gain that needs 3 points) are all that fail
    size_only = (
        not count_ok
        and n_floor >= 2
        and bool(at_chance)
        and all(k.startswith(("floor of", "floor spans")) or (k.startswith("floor gains") and floor_gain is None)
                for k in failed)
    )
    if n_post is not None and n_post < config.min_floor_points and ((not failed and count_ok) or (
            size_only and n_post == 0)):
        return "warm-up", (
            f"warm-up, not emergent: flat only while the loss still falls from random init; {n_post} of the "
            f"{n_floor} points before the rise are past warm-up (need {config.min_floor_points})"
        )
    if not failed:
        return "emergent", "; ".join(checks)
    if size_only:
        return "not identifiable", (
            f"not identifiable: only {n_floor} points at chance before the rise (need {config.min_floor_points}) to "
            "tell a flat floor from a gradual rise; add earlier checkpoints or smaller models"
        )
    return "smooth", "not emergent: " + "; ".join(failed)


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0%}"


def _g(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3g}"


def theil_sen_slope(u: np.ndarray, y: np.ndarray) -> float:
    """Median of the pairwise slopes (robust to a few outlying models); 0 for < 2 distinct u."""
    u = np.asarray(u, dtype=float)
    y = np.asarray(y, dtype=float)
    i, j = np.triu_indices(len(u), 1)
    du = u[j] - u[i]
    ok = du != 0
    if not ok.any():
        return 0.0
    return float(np.median((y[j] - y[i])[ok] / du[ok]))


def at_chance_band(chance: float | None, floor: float, *, n_eval: float | None = None,
                   scale: float = 1.0, config: DetectConfig = DEFAULT_CONFIG) -> float:
    """Upper edge of the "at chance" band: chance (or the fitted floor when unknown) + tolerance."""
    ref = floor if chance is None or not math.isfinite(chance) else chance
    tol = config.chance_tol * scale
    if n_eval and n_eval > 0 and 0 <= ref <= 1 and scale == 1.0:
        tol = max(tol, 3 * math.sqrt(max(ref * (1 - ref), 1.0 / n_eval) / n_eval))
    return ref + tol


def crossover(u: np.ndarray, d: np.ndarray, *, n_boot: int = 100, seed: int = 0,
              margin: float = 0.0, min_tail: int = 3) -> dict[str, Any]:
    """Scale where a difference curve ``d(u)`` (method A minus method B) turns positive for good.

    Uses the isotonic (non-decreasing) fit of d on u: the crossover is the smallest u from which
    the fit stays above ``margin`` and that holds at least ``min_tail`` models (so one lucky
    biggest model is not a crossover). Returns {"crossover": u or None, "lo", "hi"}; the 5-95%
    interval comes from case-resampling the models ("hi" None: in over 5% of resamples A never
    wins).
    """
    u = np.asarray(u, dtype=float)
    d = np.asarray(d, dtype=float)
    o = np.argsort(u, kind="stable")
    u, d = u[o], d[o]

    def first_positive(uu: np.ndarray, dd: np.ndarray) -> float | None:
        g = isotonic_increasing(dd)
        pos = np.nonzero(g > margin)[0]
        if len(pos) == 0 or len(uu) - pos[0] < min_tail:
            return None
        return float(uu[pos[0]])

    x0 = first_positive(u, d)
    out: dict[str, Any] = {"crossover": x0, "lo": None, "hi": None}
    if x0 is not None and n_boot > 0 and len(u) >= 4:
        rng = np.random.default_rng(seed)
        xs = []
        for _ in range(n_boot):
            i = np.sort(rng.integers(0, len(u), len(u)))
            v = first_positive(u[i], d[i])
            xs.append(np.inf if v is None else v)
        arr = np.sort(np.asarray(xs))  # inf = A never beats B in that resample
        lo = arr[int(np.floor(0.05 * (len(arr) - 1)))]
        hi = arr[int(np.ceil(0.95 * (len(arr) - 1)))]
        out["lo"] = float(min(lo, x0)) if np.isfinite(lo) else float(x0)
        out["hi"] = float(max(hi, x0)) if np.isfinite(hi) else None
    return out


def isotonic_increasing(y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """The least-squares non-decreasing fit to ``y`` in its given order (pool adjacent violators)."""
    from scipy.optimize import isotonic_regression

    y = np.asarray(y, dtype=float)
    return isotonic_regression(y, weights=w, increasing=True).x
