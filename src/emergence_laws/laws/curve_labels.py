"""Label one scaling curve: emergent, smooth, flat, marginal, noisy, not identifiable or warm-up (numpy).

Input is one series: a scale coordinate ``u`` oriented so that *larger u = bigger model*
(``u = log10`` of FLOPs, params, tokens or steps, or ``-pretrain_loss`` in nats; the caller
converts and leaves random-init checkpoints out) and a metric ``y`` oriented so that *larger =
better* (the caller turns lower-is-better metrics round, :meth:`emergence_laws.metrics.Metric.orient`).

**The statistic**: a *ramp* (two-knot change-point) fit by least squares (:mod:`emergence_laws.laws.ramp`),

    y(u) = B + R * clip((u - E) / (F - E), 0, 1),     R >= 0,  u_min <= E < F <= u_max,

flat at a floor ``B`` up to the onset ``E``, a linear rise of height ``R`` up to ``F``, flat
after; found by an exhaustive knot grid (then refined), so it is the global optimum. This is
detection's own change-point statistic; the maximum-likelihood ReLU elbow in pretraining loss
used for predictions lives in ``emergence_laws.laws.elbow``. Threshold-free summaries:
``sharpness = 1 - (F - E) / (u_max - u_min)`` (0: the rise spreads evenly over the range, 1: one
jump between adjacent models), ``rise_width = F - E``, ``kink_evidence = BIC(line) - BIC(ramp)``
and ``trend_evidence = BIC(constant) - BIC(ramp)`` (Gaussian BIC).

**At chance**: a point is at chance when ``y <= chance + tol`` with ``tol`` the larger of
``chance_tol`` and 3 binomial standard errors at chance for ``n_eval`` examples. The band is
one-sided: a floor *below* chance (an answer bias: 0.22 on a 4-way task) is at chance. Where
chance is unknown, the ramp's fitted floor stands in for it.

**The jump** (``first_above``): where the curve leaves chance for good: the first point above the
band, at or after the ramp's onset, from where the isotonic (least-squares non-decreasing) fit of
the points from the onset on first exceeds the band; so a lone noisy point above chance, or in a
pooled table a few models of other families still at chance past the jump (or above it long
before), do not move it. ``last_at``: the last point at chance before it. ``[last_at, first_above]`` is
the *bracket*. *Pre-jump points* ``k``: the points at chance before ``first_above``, counting only
checkpoints past warm-up where warm-up is known (a checkpoint log with pretraining loss). The
*jump share*: ``(y[first_above] - y[last_at]) / R``: how much of the rise the step between the
bracket's two points makes (a gradual rise has several points on the way up, a jump does not).

**Labels**, the first rule that applies (thresholds in ``DetectConfig``; metric-unit ones scale
with the metric's natural unit):

1. **noisy**: fewer than ``min_points`` points.
2. **flat**: no significant rise: ``R < min_rise`` or ``trend_evidence < trend_bic`` (a
   significant *decrease* is **noisy**: inverse scaling, not a rise).
3. **noisy**: the ramp explains less than ``noisy_r2`` of the variance.
4. **marginal**: a real but small rise: the fitted top is less than ``min_reach`` of the way
   from chance to the metric's best score (``reach = (top - chance) / (best - chance)``; the best
   comes from the metric registry, :attr:`emergence_laws.metrics.Metric.best`, and the rule is
   skipped for metrics without one: losses, log-likelihoods, BLEU); or no two adjacent points
   are above the at-chance band (the curve never leaves chance for good).
5. With ``k`` pre-jump points:

   * ``k >= min_floor_points``: **emergent** when the floor is at chance (its median inside the
     band), flat, spans at least ``min_floor_span`` of the scale range (from the smallest model to
     the jump), and ``kink_evidence >= kink_bic``; otherwise **smooth** (the reason names the
     checks that failed). The floor, past warm-up: the points before the ramp's onset when they
     hold ``min_floor_points`` points at chance (a gradual ramp's first points stay inside the
     band and are no floor; a floor that creeps out of the band before the onset is all floor),
     else the points before the jump. Flat: not creeping up. The creep is the floor's robust trend
     (the Sievers-Scholz slope: pairwise slopes weighted by their distance in u, so that a log's
     many close checkpoints do not decide it) times the floor's span, as a share of the rise; a
     floor creeps when that gain is at least ``max_floor_gain`` and, where ``n_eval`` gives the
     measurement noise, the trend is significant against it (one-sided p < ``floor_trend_p`` for
     the slope over its binomial standard error); without ``n_eval`` the gain alone decides.
   * ``1 <= k < min_floor_points`` and a jump share of at least ``jump_share``: **not
     identifiable** (``k`` pre-jump points are too few to tell a flat floor from a gradual rise);
     the bracket says where the jump is.
   * points at chance in warm-up before the jump and either ``k = 0`` and a jump share of at
     least ``jump_share``, or a floor-then-rise shape (at least ``min_floor_points`` points at
     chance before the ramp's onset and ``kink_evidence >= kink_bic``): **warm-up** (at chance
     only while the loss still falls from random init; too few floor points past it).
   * otherwise **smooth**: above chance from the first points, or rising gradually from chance
     (the first point above chance has made less than ``jump_share`` of the rise: at least about
     three points lie on the way up).

**The emergent scale** (emergent only) is the ramp's onset moved into the bracket
``[last_at, first_above]`` when it lies outside (a gradual ramp leaves its floor before its points
leave the at-chance band); the ramp's own onset is reported beside it. Its interval is the
profile-likelihood 90% interval of the onset (Gaussian residuals, chi-square with 1 dof) joined
with, for series of at least ``min_boot_points`` models, the case-bootstrap (models resampled) 5-95%
range, widened to cover the bracket: neither a heavy-tailed pooled table (bootstrap widens) nor a
short ladder (profile only) gets an interval narrower than its data support.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from emergence_laws.jsonutil import clean
from emergence_laws.laws.ramp import RampFit, bootstrap_onset, fit_ramp, profile_onset_interval

__all__ = ["DEFAULT_CONFIG", "LABELS", "CurveDetection", "DetectConfig", "RampFit", "at_chance_band", "classify_curve",
           "crossover", "fit_ramp", "isotonic_increasing", "theil_sen_slope"]

LABELS: tuple[str, ...] = ("emergent", "smooth", "flat", "marginal", "noisy", "not identifiable", "warm-up")

_EPS_VAR = 1e-10  # variance floor for BIC when a fit is exact (e.g. every value exactly 0)
_TS_MAX_PAIRS = 50_000  # Theil-Sen: a random sample of this many pairs on long floors


@dataclass(frozen=True)
class DetectConfig:
    """Thresholds of the label rules (the statistics themselves are threshold-free).

    Metric-unit thresholds are multiplied by the metric's scale (1 for accuracies in [0, 1],
    100 for BLEU-like scores in [0, 100], 1 nat for log-likelihoods).
    """

    min_points: int = 5  #: fewer distinct models than this -> "noisy" with a note
    trend_bic: float = 6.0  #: BIC(const) - BIC(ramp) needed to call any rise ("strong" evidence)
    min_rise: float = 0.05  #: smallest rise (top - floor) worth a label other than flat, metric units
    noisy_r2: float = 0.5  #: ramp R^2 below this with a rise -> noisy
    min_reach: float = 0.1  #: the top must be this share of the way from chance to the best score, else marginal
    kink_bic: float = 2.0  #: BIC(linear) - BIC(ramp) needed for emergent
    min_floor_points: int = 3  #: points at chance before the jump (past warm-up), for emergent
    min_floor_span: float = 0.2  #: share of the scale range from the smallest model to the jump, for emergent
    chance_tol: float = 0.03  #: at-chance band above chance (metric units), widened to 3 binomial SE
    max_floor_gain: float = 0.1  #: share of the rise a floor may gain across it, for emergent ...
    floor_trend_p: float = 0.05  #: ... unless binomial noise (n_eval known) explains it (one-sided p >= this)
    jump_share: float = 1 / 3  #: share of the rise made by the first point above chance that makes it a jump
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
    onset: float  #: u where the ramp leaves its floor
    onset_lo: float | None  #: low end of the emergent scale's interval (emergent only)
    onset_hi: float | None  #: high end
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
    n_floor: int  #: points at chance before the jump (past warm-up where known): the pre-jump points k
    floor_span: float  #: (u of the jump - u_min) / (u_max - u_min)
    floor_median: float | None  #: median metric of the floor (points before the jump, past warm-up)
    floor_gain: float | None  #: robust (Sievers-Scholz) gain across the floor, as a share of the rise (3+ points)
    floor_at_chance: bool | None  #: None when chance is unknown
    n: int
    reasons: list[str] = field(default_factory=list)
    brief: str = ""  #: the reason in a few words, for one-line tables
    scale: float | None = None  #: emergent scale (u): the ramp's onset, moved into [last_at, first_above]
    band: float | None = None  #: upper edge of the at-chance band (oriented metric units)
    last_at: int | None = None  #: index (input order) of the last point at chance before the jump
    first_above: int | None = None  #: index of the first point above chance for good (the jump)
    n_above_before: int = 0  #: points above chance before the jump (pooled tables mix families)
    n_at_after: int = 0  #: points at chance after the jump
    n_floor_past_warmup: int | None = None  #: pre-jump points past warm-up (None: warm-up unknown)
    n_warmup_at: int = 0  #: points at chance before the jump that are in warm-up
    reach: float | None = None  #: (top - chance) / (best - chance); None without a best score
    jump: float | None = None  #: the jump share: (y[first_above] - floor level) / rise

    def to_dict(self) -> dict[str, Any]:
        return clean(asdict(self))


def _bic(rss: float, n: int, k: int, var_floor: float) -> float:
    return n * math.log(max(rss / n, var_floor)) + k * math.log(n)


def chance_tolerance(ref: float, n_eval: float | None, scale: float, config: DetectConfig) -> float:
    """Width of the at-chance band above ``ref``: chance_tol (metric units), widened to 3 binomial
    standard errors at ``ref`` for ``n_eval`` examples (proportions only)."""
    tol = config.chance_tol * scale
    if n_eval and n_eval > 0 and 0 <= ref <= 1 and scale == 1.0:
        tol = max(tol, 3 * math.sqrt(max(ref * (1 - ref), 1.0 / n_eval) / n_eval))
    return tol


def at_chance_band(chance: float | None, floor: float, *, n_eval: float | None = None,
                   scale: float = 1.0, config: DetectConfig = DEFAULT_CONFIG) -> float:
    """Upper edge of the "at chance" band: chance (or the fitted floor when unknown) + tolerance."""
    ref = floor if chance is None or not math.isfinite(chance) else chance
    return ref + chance_tolerance(ref, n_eval, scale, config)


def find_jump(u: np.ndarray, y: np.ndarray, band: float, onset: float) -> tuple[int | None, int | None]:
    """(last_at, first_above) over points sorted by u: where the curve leaves chance for good.

    ``first_above``: the first point above ``band``, at or after the ramp's ``onset``, from where the
    least-squares non-decreasing (isotonic) fit of the points from the onset on first exceeds ``band``:
    a lone noisy point above chance does not count, nor in a pooled table do the few models of other
    families still at chance past the jump, or those above chance long before it (the onset, a least-
    squares fit to every point, anchors the search). ``last_at``: the last point at or below ``band``
    before it. Either is None when there is none.
    """
    above = y > band
    i0 = int(np.searchsorted(u, onset - 1e-12, side="left"))
    first = None
    if i0 < len(y):
        start = np.flatnonzero(isotonic_increasing(y[i0:]) > band)
        if len(start):
            cand = np.flatnonzero(above[i0 + start[0]:])
            first = int(i0 + start[0] + cand[0]) if len(cand) else None
    at = np.flatnonzero(~above[: len(y) if first is None else first])
    return (int(at[-1]) if len(at) else None), first


# --------------------------------------------------------------------------------------------
# classification


def classify_curve(
    u: np.ndarray,
    y: np.ndarray,
    *,
    chance: float | None = None,
    n_eval: float | None = None,
    scale: float = 1.0,
    best: float | None = None,
    config: DetectConfig = DEFAULT_CONFIG,
    warmup: np.ndarray | None = None,
) -> CurveDetection:
    """Label one oriented curve (see the module docstring for the rules).

    u: scale coordinate, bigger = larger model (log10 FLOPs/params/tokens/steps or -loss in nats).
    y: metric, bigger = better. chance: random-guess level in the same orientation (None/NaN
    when unknown). n_eval: evaluation examples per point (widens the at-chance band to 3 binomial
    standard errors). scale: the metric's natural unit (1 for accuracy). best: the metric's best
    possible value, oriented (None: no effect-size rule). warmup: per point, True for a checkpoint
    in its run's warm-up (None when unknown); leave random-init checkpoints out of ``u``.
    """
    u = np.asarray(u, dtype=float)
    y = np.asarray(y, dtype=float)
    order = np.argsort(u, kind="stable")
    u, y = u[order], y[order]
    warm = np.zeros(len(u), dtype=bool) if warmup is None else np.asarray(warmup, dtype=bool)[order]
    n = len(u)
    if chance is not None and not math.isfinite(chance):
        chance = None
    if best is not None and not math.isfinite(best):
        best = None
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
    top = fit.floor + fit.rise

    ref = fit.floor if chance is None else chance
    tol = chance_tolerance(ref, n_eval, scale, config)
    band = ref + tol
    at = y <= band
    last_at, first_above = find_jump(u, y, band, fit.onset)
    before = np.arange(n) < (n if first_above is None else first_above)
    k = int((before & ~warm & at).sum())  # pre-jump points
    n_warm_at = int((before & warm & at).sum())
    # the floor, past warm-up: the points before the ramp's onset when they hold enough points at chance (a
    # gradual ramp's first points stay inside the at-chance band: not floor; a floor that creeps out of the
    # band before the ramp's onset: all of it floor), else the points before the jump
    floor_pts = before & ~warm
    pre_onset = ~warm & (u < fit.onset - 1e-12)
    if (pre_onset & at).sum() >= config.min_floor_points:
        floor_pts = pre_onset
    floor_med = float(np.median(y[floor_pts])) if floor_pts.any() else None
    floor_gain = floor_p = None
    if floor_pts.sum() >= 3 and fit.rise > 0:
        uf, yf = u[floor_pts], y[floor_pts]
        ts = theil_sen_slope(uf, yf, weighted=True)
        floor_gain = ts * float(uf[-1] - uf[0]) / fit.rise
        floor_p = trend_p_value(uf, ts, binomial_sd(float(np.median(yf)), n_eval, scale))
    at_chance = None if chance is None or floor_med is None else bool(floor_med <= band)
    jump = None
    if first_above is not None and fit.rise > 0:
        level = float(y[last_at]) if last_at is not None else fit.floor
        jump = float((y[first_above] - level) / fit.rise)
    reach = None
    if best is not None and best - ref > 0:
        reach = float((top - ref) / (best - ref))
    u_jump = float(u[first_above]) if first_above is not None else float(u.max())
    floor_span = (u_jump - float(u.min())) / span if span > 0 else 0.0

    reasons: list[str] = []
    if n < config.min_points:
        label, brief = "noisy", f"only {n} points"
        reasons.append(f"only {n} points (< {config.min_points}): too few to classify")
    elif fit.rise < config.min_rise * scale or trend < config.trend_bic:
        # no rise; a significant *decrease* is noted as noisy (inverse scaling)
        dec_trend = _bic(syy, n, 1, var_floor) - _bic(rss_lin, n, 2, var_floor)
        if slope < 0 and dec_trend >= config.trend_bic and (y.max() - y.min()) >= config.min_rise * scale:
            label, brief = "noisy", "decreases with scale"
            reasons.append("decreases with scale (inverse scaling), not a rise")
        else:
            label, brief = "flat", "no significant rise"
            reasons.append(
                f"no significant rise (rise {fit.rise:.3g}, trend evidence {trend:.1f} < {config.trend_bic:g})"
                if trend < config.trend_bic
                else f"rise {fit.rise:.3g} < min_rise {config.min_rise * scale:.3g}"
            )
    elif r2 < config.noisy_r2:
        label, brief = "noisy", f"ramp explains {r2:.0%} of variance"
        reasons.append(f"ramp explains only {r2:.0%} of the variance (< {config.noisy_r2:.0%})")
    elif reach is not None and reach < config.min_reach:
        where = "below chance" if reach < 0 else f"{reach:.0%} of the way to {best:g}"
        label, brief = "marginal", f"rises only to {top:.3g} ({where})"
        reasons.append(
            f"marginal: a real rise (trend evidence {trend:.1f}) that stays near chance: its top {top:.3g} is "
            f"{reach:.1%} of the way from {'chance' if chance is not None else 'the floor'} {ref:.3g} to the best "
            f"score {best:g} (emergent or smooth need {config.min_reach:.0%})"
        )
    elif first_above is None:
        label, brief = "marginal", f"no 2 adjacent points above {band:.3g}"
        reasons.append(
            f"marginal: a real rise (trend evidence {trend:.1f}) that stays near chance: no two adjacent points are "
            f"above the at-chance band (up to {band:.3g})"
        )
    else:
        n_ramp_floor = int((at & (u < fit.onset - 1e-12)).sum())
        label, brief, why = _rise_label(k, n_warm_at, n_ramp_floor, jump, floor_span, floor_gain, floor_p, kink,
                                        chance, floor_med, at_chance, band, warmup is not None, config)
        reasons.append(why)

    lo_q = hi_q = em_scale = None
    if label == "emergent":
        # the ramp's onset, moved into the bracket: a gradual ramp leaves its floor before its points leave the band
        em_scale = min(max(fit.onset, float(u[last_at])), float(u[first_above]))
        lo_q, hi_q = profile_onset_interval(u, y)
        if config.n_boot > 0 and n >= config.min_boot_points:
            onsets = bootstrap_onset(u, y, n_boot=config.n_boot, seed=config.seed, grid=config.boot_grid)
            b_lo, b_hi = (float(q) for q in np.quantile(onsets, [0.05, 0.95]))
            lo_q, hi_q = min(lo_q, b_lo), max(hi_q, b_hi)
        bracket = (em_scale, float(u[last_at]), float(u[first_above]))
        lo_q, hi_q = min(lo_q, *bracket), max(hi_q, *bracket)

    def back(i: int | None) -> int | None:  # sorted position -> input position
        return None if i is None else int(order[i])

    return CurveDetection(
        label=label,
        onset=fit.onset,
        onset_lo=lo_q,
        onset_hi=hi_q,
        end=fit.end,
        floor=fit.floor,
        top=top,
        rise=fit.rise,
        sharpness=float(sharp),
        rise_width=float(fit.end - fit.onset),
        kink_evidence=float(kink),
        trend_evidence=float(trend),
        r2=float(r2),
        slope_linear=slope,
        noise_sd=float(noise),
        n_floor=k,
        floor_span=float(floor_span),
        floor_median=floor_med,
        floor_gain=None if floor_gain is None else float(floor_gain),
        floor_at_chance=at_chance,
        n=n,
        reasons=reasons,
        brief=brief,
        scale=em_scale,
        band=float(band),
        last_at=back(last_at),
        first_above=back(first_above),
        n_above_before=int((~at & before).sum()),
        n_at_after=int((at & ~before).sum()),
        n_floor_past_warmup=None if warmup is None else k,
        n_warmup_at=n_warm_at,
        reach=reach,
        jump=jump,
    )


def _rise_label(k: int, n_warm_at: int, n_ramp_floor: int, jump: float | None, floor_span: float,
                floor_gain: float | None, floor_p: float | None, kink: float, chance: float | None,
                floor_med: float | None,
                at_chance: bool | None, band: float, warmup_known: bool, config: DetectConfig
                ) -> tuple[str, str, str]:
    """(label, brief, reason) of a curve that rises well above chance, from its k pre-jump points
    (see the module docstring, rule 5)."""
    need = config.min_floor_points
    past = " past warm-up" if warmup_known else ""
    is_jump = jump is not None and jump >= config.jump_share
    if k >= need:
        checks = {
            f"floor of {k} points at chance{past} before the jump (need {need})": True,
            f"floor spans {floor_span:.0%} of the scale range (need {config.min_floor_span:.0%})":
            floor_span >= config.min_floor_span,
            f"floor gains {_pct(floor_gain)} of the rise across it (creeps if >= {config.max_floor_gain:.0%} "
            f"with trend p {_g(floor_p)} < {config.floor_trend_p:g})":
            floor_gain is not None and not (floor_gain >= config.max_floor_gain
                                            and (floor_p is None or floor_p < config.floor_trend_p)),
            f"kink evidence {kink:.1f} (need {config.kink_bic:g})": kink >= config.kink_bic,
        }
        if chance is not None:
            checks[f"floor median {_g(floor_med)} at chance (up to {band:.3g})"] = bool(at_chance)
        failed = [c for c, ok in checks.items() if not ok]
        if not failed:
            return "emergent", f"{k} at chance, then a rise", "; ".join(checks)
        briefs = {"floor median": "floor above chance", "floor gains": "floor creeps up", "kink": "no kink: a line",
                  "floor spans": "floor too short a stretch"}
        brief = next(b for key, b in briefs.items() if any(c.startswith(key) for c in failed))
        return "smooth", brief, "not emergent: " + "; ".join(failed)
    if k >= 1 and is_jump:
        return "not identifiable", f"{k} pre-jump point{'s' if k > 1 else ''} (need {need})", (
            f"not identifiable ({k} pre-jump point{'s' if k > 1 else ''}): only {k} point{'s' if k > 1 else ''} at "
            f"chance{past} before a jump of {jump:.0%} of the rise (need {need}) to tell a flat floor from a gradual "
            "rise; the jump lies between the last checkpoint at chance and the first above: add checkpoints there or "
            "before"
        )
    floor_then_rise = n_ramp_floor >= need and kink >= config.kink_bic
    if n_warm_at >= 1 and ((k == 0 and is_jump) or floor_then_rise):
        how = f"a jump of {jump:.0%} of the rise" if is_jump else "a rise (the ramp's floor holds " \
            f"{n_ramp_floor} points at chance)"
        return "warm-up", "at chance only in warm-up", (
            f"warm-up, not emergent: at chance only while the loss still falls from random init ({n_warm_at} "
            f"point{'s' if n_warm_at > 1 else ''} at chance in warm-up and {k} past it (need {need}), then {how})"
        )
    if k == 0 and n_warm_at == 0:
        return "smooth", "above chance from the start", "not emergent: above chance from the first points on"
    share = "n/a" if jump is None else f"{jump:.0%}"
    return "smooth", "gradual from chance", (
        f"not emergent: rises gradually from chance ({k + n_warm_at} point{'s' if k + n_warm_at != 1 else ''} at "
        f"chance, then a first point above it at {share} of the rise, under {config.jump_share:.0%})"
    )


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0%}"


def _g(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3g}"


def binomial_sd(p: float, n_eval: float | None, scale: float = 1.0) -> float | None:
    """Sampling SD of a proportion ``p`` measured on ``n_eval`` examples; None when unknown."""
    if not n_eval or n_eval <= 0 or scale != 1.0 or not 0 <= p <= 1:
        return None
    return math.sqrt(max(p * (1 - p), 1.0 / n_eval) / n_eval)


def trend_p_value(u: np.ndarray, slope: float, sd: float | None) -> float | None:
    """One-sided p-value of an upward trend ``slope`` of points at ``u`` whose noise SD ``sd`` is known
    (the binomial SD from n_eval): the normal tail of slope / SE, SE = sd / sqrt(sum (u - mean u)^2)
    as in least squares. None when the noise is unknown: no test."""
    u = np.asarray(u, dtype=float)
    sxx = float(((u - u.mean()) ** 2).sum())
    if sd is None or not sd > 0:
        return None
    if sxx <= 0:
        return 1.0
    return 0.5 * math.erfc(slope * math.sqrt(sxx) / sd / math.sqrt(2))


def theil_sen_slope(u: np.ndarray, y: np.ndarray, *, weighted: bool = False) -> float:
    """Median of the pairwise slopes (robust to a few outlying models); 0 for < 2 distinct u.

    ``weighted``: the Sievers-Scholz form, each pair's slope weighted by its distance in u, so that
    a design with most points close together (a checkpoint log on the loss axis) does not let the
    noisy slopes of close pairs decide. Over more than 50,000 pairs (317+ points) the median is
    taken over a fixed random sample of that many pairs, so the cost stays linear in the points.
    """
    u = np.asarray(u, dtype=float)
    y = np.asarray(y, dtype=float)
    m = len(u)
    if m * (m - 1) // 2 > _TS_MAX_PAIRS:
        rng = np.random.default_rng(0)
        i = rng.integers(0, m, _TS_MAX_PAIRS)
        j = rng.integers(0, m, _TS_MAX_PAIRS)
    else:
        i, j = np.triu_indices(m, 1)
    du = u[j] - u[i]
    ok = du != 0
    if not ok.any():
        return 0.0
    slopes = (y[j] - y[i])[ok] / du[ok]
    if not weighted:
        return float(np.median(slopes))
    order = np.argsort(slopes, kind="stable")
    cum = np.cumsum(np.abs(du[ok])[order])
    return float(slopes[order][np.searchsorted(cum, 0.5 * cum[-1])])


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
