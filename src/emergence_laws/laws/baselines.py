"""Baselines with the same interface as the emergence law: an emergence point in nats.

- :func:`fit_sigmoid_baseline` — few-shot-only extrapolation: fit a sigmoid to the few-shot curve,
  ``y = b + (t - b) * sigmoid(s * (x0 - L))``, and report its *tangent elbow* ``x0 + 2/s`` (where
  the tangent at the midpoint meets the floor) as the emergence point, comparable to a ReLU elbow.
  Before emergence the curve is flat and the sigmoid cannot locate a jump that has not begun:
  ``identified`` is False and its number is whatever the optimiser landed on — reported, not hidden.
- :func:`fit_power_law_law` — the emergence law with the plain power law ``k D^alpha + C``
  (the paper's weaker ablation).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import least_squares

from emergence_laws.errors import InputError
from emergence_laws.laws.data import LawData
from emergence_laws.laws.elbow import DEFAULT_MIN_LR
from emergence_laws.laws.law_fit import fit_law
from emergence_laws.laws.law import EmergenceLaw


@dataclass(frozen=True)
class SigmoidBaseline:
    """A sigmoid fitted to one curve of the metric vs ``x`` (pretraining loss, nats; lower = stronger).

    Attributes:
        floor, top: lower and upper asymptotes (metric units).
        x0: midpoint; s: steepness (1/units of x), > 0.
        emergence_point: tangent elbow ``x0 + 2/s``.
        identified: the sigmoid beats a flat line (LR >= 16) with its midpoint inside the data;
            False means the curve has not visibly started to rise and the number is not a prediction.
        lr_stat: likelihood-ratio statistic vs a flat line; n: points; axis: name of x.
    """

    floor: float
    top: float
    x0: float
    s: float
    emergence_point: float
    identified: bool
    lr_stat: float
    n: int
    axis: str = "pretrain_loss"

    def predict(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return self.floor + (self.top - self.floor) / (1.0 + np.exp(-self.s * (self.x0 - x)))

    def to_json(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def fit_sigmoid_baseline(
    x, value, chance: float | None = None, n_eval=None, axis: str = "pretrain_loss"
) -> SigmoidBaseline:
    """Fit the few-shot sigmoid baseline; ``x`` is loss-like (lower = stronger model).

    For FLOPs or params pass ``x = -log10(scale)`` and ``axis`` accordingly.
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(value, dtype=float).reshape(-1)
    if x.shape != y.shape or x.size < 3 or np.unique(x).size < 3:
        raise InputError(
            f"sigmoid baseline: needs 3+ models with distinct {axis} and one value each; got {np.unique(x).size}"
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InputError("sigmoid baseline: x and value must be finite numbers; drop rows with missing values")
    w = np.ones_like(x) if n_eval is None else np.broadcast_to(np.asarray(n_eval, dtype=float), x.shape)
    w = np.where(np.isfinite(w) & (w > 0), w, 1.0)
    sw = np.sqrt(w / w.mean())
    lo, hi = float(x.min()), float(x.max())
    span = hi - lo
    prop = bool(np.all((y >= 0) & (y <= 1)))
    ymin, ymax = float(y.min()), float(y.max())
    yspan = max(ymax - ymin, 1e-6)
    f_lo, f_hi = (0.0, 1.0) if prop else (ymin - yspan, ymax + yspan)
    t_hi = 1.0 if prop else ymax + 10 * yspan

    def resid(p):
        b, t, x0, ls = p
        return sw * (b + (t - b) / (1.0 + np.exp(-math.exp(ls) * (x0 - x))) - y)

    def jac(p):
        b, t, x0, ls = p
        s = math.exp(ls)
        sg = 1.0 / (1.0 + np.exp(-s * (x0 - x)))
        ds = (t - b) * sg * (1 - sg)
        return sw[:, None] * np.stack([1 - sg, sg, ds * s, ds * s * (x0 - x)], axis=1)

    s_lo, s_hi = math.log(0.5 / span), math.log(200.0 / span)
    best = None
    floor0 = float(np.quantile(y, 0.2)) if chance is None else float(np.clip(chance, f_lo, f_hi))
    for x0 in (lo, lo + 0.3 * span, lo + 0.6 * span, lo - 0.3 * span):
        for ls in (math.log(5.0 / span), math.log(20.0 / span)):
            p0 = [floor0, float(min(max(ymax, floor0 + 1e-3), t_hi)), x0, ls]
            try:
                r = least_squares(
                    resid,
                    p0,
                    jac=jac,
                    max_nfev=200,
                    bounds=([f_lo, f_lo, lo - 2 * span, s_lo], [f_hi, t_hi, hi + span, s_hi]),
                )
            except ValueError:
                continue
            if best is None or r.cost < best.cost:
                best = r
    b, t, x0, ls = (float(v) for v in best.x)
    s = math.exp(ls)
    sse = float(2 * best.cost)
    ym = float(np.sum(w * y) / np.sum(w))
    sse_flat = float(np.sum(w / w.mean() * (y - ym) ** 2))
    lr = float(x.size * math.log((sse_flat + 1e-30) / (sse + 1e-30))) if sse_flat > 0 else 0.0
    identified = bool(lr >= DEFAULT_MIN_LR and t > b and lo - 0.05 * span <= x0 <= hi)
    return SigmoidBaseline(b, t, x0, s, x0 + 2.0 / s, identified, lr, int(x.size), axis)


def fit_power_law_law(data: LawData, **kwargs) -> EmergenceLaw:
    """The emergence law with ``E(D) = k D^alpha + C`` (the plain-power-law ablation); see :func:`fit_law`."""
    kwargs["form"] = "power"
    return fit_law(data, **kwargs)
