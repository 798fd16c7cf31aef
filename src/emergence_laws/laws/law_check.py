"""Is a law file sound? Parameters in their domain, consistent with its own bootstrap draws, and
losses to predict at that the law can speak about. What `emergence predict` checks before it trusts
a ``prediction.json``.

A law ``E(D) = k (log D)^alpha + C`` (or ``k D^alpha + C``) with ``Perf = A ReLU(E(D) - L) + B``,
as `emergence fit` writes it: ``alpha > 0`` and ``k >= 0`` (the emergence point moves to weaker
models as D grows), ``A >= 0`` (performance rises as the loss falls, the metric read larger =
better), every number finite, ``C`` and the emergence points within `PLAUSIBLE_LOSS` of zero
(nats/token, or bits/byte when fitted on pretrain_bpb: a model at random init has ln(vocabulary) <= ~13
nats). A file that breaks one of these was not written by a sound fit: it is refused (exit 2).

Consistency: the law's own few-shot emergence point E(D0) is the best fit; the bootstrap
replicates in ``draws`` refit resampled data around it, so E(D0) lies inside or near their spread.
It is refused when it lies further from the replicates' range (joined with the file's interval and
its ridge) than `DRAWS_TOLERANCE` times that range's width (at least `MIN_TOLERANCE_NATS`). Measured
on 189 laws fitted to synthetic tables with a known truth (5 misspecification cells x 40 seeds,
bootstrap 50; research/law_check_calibration.py): every law's E(D0) lay inside that range (largest
gap 0 nats), none was refused, and none of their 1,667 checkpoints' losses counted as far outside
the losses the law covers (`FAR_LOSS_FACTOR`). Shifting C of the example table's law by 0.5 nats
is refused; by 0.02 nats (inside its interval) it is not.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from emergence_laws.errors import InputError
from emergence_laws.laws.law import PARAM_NAMES, EmergenceLaw, LawDraws

#: Largest |loss| (nats/token or bits/byte) a law may speak of: random init is ln(vocab) <= ~13 nats.
PLAUSIBLE_LOSS = 100.0
#: Largest |A|, |B|, |delta| (metric units) and k (nats) a law may have.
PLAUSIBLE_SCALE = 1e6
#: Largest alpha (the fit searches (0, 5] for the log power law, (0, 2] for the power law).
MAX_ALPHA = 10.0
#: The law's E(D0) may lie this many widths of its replicates' range outside that range.
DRAWS_TOLERANCE = 0.5
#: ... and at least this many nats.
MIN_TOLERANCE_NATS = 0.05
#: `predict` warns for a loss this many times above, or below 1/this of, the losses the law covers.
FAR_LOSS_FACTOR = 2.0

_FIX = "re-run the fit to write a sound prediction.json"


def _domain_problem(p: dict[str, float], form: str) -> str | None:
    """What is wrong with one parameter set (a dict by :data:`PARAM_NAMES`), or None."""
    for name in PARAM_NAMES:
        if not math.isfinite(p[name]):
            return f"{name} = {p[name]} is not finite"
    if not p["alpha"] > 0:
        return f"alpha = {p['alpha']:.4g} must be > 0 (E(D) grows with D as a power of {_basis(form)})"
    if p["alpha"] > MAX_ALPHA:
        return f"alpha = {p['alpha']:.4g} is implausibly large (at most {MAX_ALPHA:g})"
    if not p["k"] >= 0:
        return f"k = {p['k']:.4g} must be >= 0 (the emergence point moves to weaker models as D grows)"
    if p["k"] > PLAUSIBLE_SCALE:
        return f"k = {p['k']:.4g} is implausibly large (at most {PLAUSIBLE_SCALE:g} nats)"
    if not abs(p["C"]) <= PLAUSIBLE_LOSS:
        return f"C = {p['C']:.4g} is no loss (|C| must be <= {PLAUSIBLE_LOSS:g} nats)"
    if not 0 <= p["A"] <= PLAUSIBLE_SCALE:
        return f"A = {p['A']:.4g} must be >= 0 (the metric rises as the loss falls)"
    for name in ("B", "delta"):
        if not abs(p[name]) <= PLAUSIBLE_SCALE:
            return f"{name} = {p[name]:.4g} is out of any metric's range"
    return None


def _basis(form: str) -> str:
    return "log D" if form == "logpower" else "D"


def check_law(law: EmergenceLaw, draws: LawDraws | None, where: str) -> None:
    """InputError (one line naming `where` and the fix) unless the law and its draws are sound
    (see the module docstring)."""
    problem = _domain_problem(law.params, law.form)
    if problem is not None:
        raise InputError(f"{where}: law parameter {problem}; {_FIX}")
    if not (math.isfinite(law.beta) and law.beta > 0):
        raise InputError(f"{where}: law parameter beta = {law.beta} must be a positive number; {_FIX}")
    if not (math.isfinite(law.d0) and law.d0 >= 0):
        raise InputError(f"{where}: d0 = {law.d0} must be a number of examples >= 0; {_FIX}")
    if law.d0_range is not None and not (0 <= law.d0_range[0] <= law.d0_range[1]):
        raise InputError(f"{where}: d0_range {list(law.d0_range)} must be [lo, hi] with 0 <= lo <= hi; {_FIX}")
    if any(not (math.isfinite(a) and a >= 1) for a in law.amounts):
        raise InputError(f"{where}: amounts {list(law.amounts)} must be numbers of examples >= 1; {_FIX}")
    for D in (law.d0, *law.amounts):
        with np.errstate(all="ignore"):
            E = float(law.emergence_point(D))
        if not (math.isfinite(E) and abs(E) <= PLAUSIBLE_LOSS):
            what = "D0" if D == law.d0 else f"D = {D:g}"
            raise InputError(f"{where}: the law's emergence point at {what} is {E:.4g}, no loss "
                             f"(|E| must be <= {PLAUSIBLE_LOSS:g} nats); {_FIX}")
    if draws is None:
        return
    for i, row in enumerate(draws.params):
        problem = _domain_problem(dict(zip(PARAM_NAMES, map(float, row))), law.form)
        if problem is not None:
            raise InputError(f"{where}: draws.params[{i}]: {problem}; {_FIX}")
    if np.any(draws.d0 < 0):
        raise InputError(f"{where}: draws.d0 holds a negative number of examples; {_FIX}")
    gap, span = draws_gap(law, draws)
    if gap > max(DRAWS_TOLERANCE * (span[1] - span[0]), MIN_TOLERANCE_NATS):
        raise InputError(f"{where}: the law's few-shot emergence point {law.few_shot_emergence_point:.4g} lies "
                         f"{gap:.3g} nats outside its own bootstrap draws [{span[0]:.4g}, {span[1]:.4g}]: the law "
                         f"and its draws disagree (an edited or mixed-up file); {_FIX}")


def draws_gap(law: EmergenceLaw, draws: LawDraws) -> tuple[float, tuple[float, float]]:
    """How far (nats) the law's E(D0) lies outside the range of its replicates' E(D0), joined with the
    file's interval and ridge; and that range."""
    with np.errstate(all="ignore"):
        e = draws.emergence_point(0.0)
    e = e[np.isfinite(e)]
    if e.size == 0:
        return math.inf, (math.nan, math.nan)
    lo, hi = float(e.min()), float(e.max())
    for pair in (law.interval, law.ridge_interval):
        if pair is not None:
            lo, hi = min(lo, pair[0]), max(hi, pair[1])
    E = law.few_shot_emergence_point
    return max(lo - E, E - hi, 0.0), (lo, hi)


def covered_losses(law: EmergenceLaw, obj: Any = None) -> tuple[float, float]:
    """The losses (nats) the law speaks about: its emergence points over D0 (its range) and the fitted
    amounts, and the strongest few-shot checkpoint the file records."""
    ds = [law.d0, *law.amounts, *(law.d0_range or ())]
    with np.errstate(all="ignore"):
        pts = [float(law.emergence_point(d)) for d in ds]
    observed = obj.get("fewshot_observed") if isinstance(obj, dict) else None
    strongest = observed.get("strongest_loss") if isinstance(observed, dict) else None
    if isinstance(strongest, (int, float)) and math.isfinite(strongest) and strongest > 0:
        pts.append(float(strongest))
    pts = [p for p in pts if math.isfinite(p) and p > 0]
    return (min(pts), max(pts)) if pts else (math.nan, math.nan)


def check_losses(losses: list[float], law: EmergenceLaw, obj: Any = None) -> list[str]:
    """InputError for a loss that is no pretraining loss (not finite, <= 0, above `PLAUSIBLE_LOSS`);
    a warning (returned) for one far outside the losses the law covers."""
    for L in losses:
        if not (math.isfinite(L) and 0 < L <= PLAUSIBLE_LOSS):
            raise InputError(f"`loss={L:g}`: not a pretraining loss; give a positive number of nats/token "
                             f"(a model at random init has ln(vocabulary size), about 10; the cap is {PLAUSIBLE_LOSS:g})")
    lo, hi = covered_losses(law, obj)
    unit = obj.get("x_unit") if isinstance(obj, dict) and isinstance(obj.get("x_unit"), str) else "nats"
    out = []
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return out
    for L in losses:
        if L > FAR_LOSS_FACTOR * hi or L < lo / FAR_LOSS_FACTOR:
            out.append(f"loss {L:g} lies far outside the losses the law covers ({lo:.3g} to {hi:.3g} {unit}: its emergence "
                       "points and the strongest fitted checkpoint); the law is extrapolated, so trust this value less")
    return out
