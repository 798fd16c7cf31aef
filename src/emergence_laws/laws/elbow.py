"""Fit one curve of performance vs pretraining loss with an elbow: ``A * ReLU(E - L) + B``.

Public and used in several places: the ground-truth few-shot emergence point (backtests, the
micro-world demo), emergence detection, and the starting values of the joint law fit.

Method: profile likelihood over the elbow ``E``. For a fixed ``E`` the model is linear in ``(A, B)``,
so a dense grid of ``E`` values is solved in closed form at once (weighted least squares, weights
``n_eval`` where known; rows that share a loss enter as one weighted mean, so the grid costs one
operation per checkpoint, not per row), then the best grid cell is refined with a bounded scalar search. ``A`` is
constrained to be >= 0 (performance rises as loss falls). The fit is called *emerged* when the
elbow beats a flat line by a likelihood-ratio statistic above ``min_lr`` (default 16, i.e. far
beyond noise) with at least one checkpoint past the elbow; otherwise ``E`` is NaN and ``A`` is 0 —
a flat curve has no emergence point to report, and the strongest loss is only an upper bound.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from emergence_laws.errors import InputError
from emergence_laws.laws.forms import DEFAULT_BETA, softplus

#: Likelihood-ratio statistic (elbow vs flat) above which a curve counts as emerged.
DEFAULT_MIN_LR: float = 16.0


@dataclass(frozen=True)
class ElbowFit:
    """Result of :func:`fit_elbow`.

    Attributes:
        A: slope, metric units per nat of loss below the elbow (0 when not emerged).
        E: elbow = emergence point, nats/token (NaN when not emerged).
        B: floor, metric units.
        emerged: the elbow fits significantly better than a flat line.
        lr_stat: likelihood-ratio statistic, elbow vs flat (Gaussian on the weighted residuals).
        n_past: distinct checkpoints with loss below the elbow.
        n: rows used.
        e_upper: strongest (lowest) loss seen; when not emerged, emergence lies below it.
        rmse: weighted root-mean-square residual of the chosen model, metric units.
        form: "relu" or "softplus"; beta: softplus sharpness, 1/nats.
    """

    A: float
    E: float
    B: float
    emerged: bool
    lr_stat: float
    n_past: int
    n: int
    e_upper: float
    rmse: float
    form: str = "relu"
    beta: float = DEFAULT_BETA

    def predict(self, loss) -> np.ndarray:
        """The fitted curve at ``loss`` (nats); flat at ``B`` when not emerged."""
        loss = np.asarray(loss, dtype=float)
        if not self.emerged:
            return np.full_like(loss, self.B)
        z = self.E - loss
        x = np.maximum(z, 0.0) if self.form == "relu" else softplus(z, self.beta)
        return self.A * x + self.B

    def to_json(self) -> dict:
        d = asdict(self)
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}


def _basis(form: str, z: np.ndarray, beta: float) -> np.ndarray:
    return np.maximum(z, 0.0) if form == "relu" else softplus(z, beta)


def _wls(X: np.ndarray, y: np.ndarray, w: np.ndarray, within: float = 0.0):
    """Closed-form weighted LS of ``y = a*x + b`` for each row of ``X`` (G, n); ``a`` clipped at 0.

    The columns may be groups of rows that share ``x`` (``y`` their weighted mean, ``w`` their total
    weight): ``within``, the weighted sum of squares of the rows about their groups' means, completes the SSE.
    """
    sw = w.sum()
    xm = X @ w / sw
    ym = float(y @ w / sw)
    yc = y - ym
    Xc = X - xm[:, None]
    sxy = Xc @ (w * yc)
    Xc *= Xc
    sxx = Xc @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(sxx > 1e-15, sxy / np.where(sxx > 1e-15, sxx, 1.0), 0.0)
    a = np.maximum(a, 0.0)
    b = ym - a * xm
    # sum w (y - a x - b)^2 with b = ym - a xm, written in the centred sums
    sse = np.maximum(float(yc * yc @ w) - 2.0 * a * sxy + a * a * sxx, 0.0) + within
    return a, b, sse


def before_saturation(loss, value, frac: float = 0.9) -> np.ndarray:
    """Mask of the rows up to (and including) the weakest checkpoint whose value reaches ``frac`` of the
    curve's total rise (max - min); stronger checkpoints are dropped.

    The ReLU has no ceiling: once a curve saturates (accuracy near 1), the flat top would tilt the
    fitted line and move its elbow toward weaker models. Backtests fit the ground-truth elbow on the
    curve before saturation. A curve that never comes near a ceiling loses at most its strongest rows.
    """
    L = np.asarray(loss, dtype=float).reshape(-1)
    y = np.asarray(value, dtype=float).reshape(-1)
    keep = np.ones(L.shape, dtype=bool)
    if L.size == 0:
        return keep
    losses, inv = np.unique(L, return_inverse=True)
    means = (np.bincount(inv, weights=y) / np.bincount(inv))[::-1]  # weakest first
    losses = losses[::-1]
    lo, hi = float(means.min()), float(means.max())
    if hi <= lo:
        return keep
    reached = np.nonzero(means >= lo + frac * (hi - lo))[0]
    first = losses[reached[0]]
    return L >= first


def fit_elbow(
    loss,
    value,
    chance: float | None = None,
    n_eval=None,
    *,
    form: str = "relu",
    beta: float = DEFAULT_BETA,
    min_lr: float = DEFAULT_MIN_LR,
    grid: int = 256,
) -> ElbowFit:
    """Fit ``value ≈ A * ReLU(E - loss) + B`` to one curve (e.g. few-shot accuracy of a ladder).

    Args:
        loss: pretraining loss per row, nats/token (repeated losses, e.g. seeds, are fine).
        value: metric per row, higher is better.
        chance: random-guess value of the metric; used only to sanity-check a flat floor.
        n_eval: evaluation examples per row (scalar or array) used as regression weights.
        form: "relu" (default) or "softplus" (smooth elbow, sharpness ``beta`` in 1/nats).
        min_lr: likelihood-ratio threshold (elbow vs flat) for ``emerged``.
        grid: number of elbow candidates profiled before refinement.

    Returns:
        :class:`ElbowFit`. ``E`` is NaN when the curve has not left its floor.

    Raises:
        InputError: mismatched lengths, non-finite numbers, fewer than 2 distinct losses.
    """
    L = np.asarray(loss, dtype=float).reshape(-1)
    y = np.asarray(value, dtype=float).reshape(-1)
    if L.shape != y.shape:
        raise InputError(f"fit_elbow: loss has {L.size} entries but value has {y.size}; pass one value per loss")
    if not (np.all(np.isfinite(L)) and np.all(np.isfinite(y))):
        raise InputError("fit_elbow: loss and value must be finite numbers; drop rows with missing values")
    if n_eval is None:
        w = np.ones_like(L)
    else:
        w = np.broadcast_to(np.asarray(n_eval, dtype=float), L.shape).astype(float)
        w = np.where(np.isfinite(w) & (w > 0), w, np.nanmedian(np.where(w > 0, w, np.nan)) if np.any(w > 0) else 1.0)
    order = np.lexsort((w, y, L))  # one row order for every input order: the sums below do not depend on it
    L, y, w = L[order], y[order], w[order]
    uniq, start = np.unique(L, return_index=True)
    if uniq.size < 2:
        raise InputError(
            f"fit_elbow: all {L.size} rows have the same loss {L[0]:.4g}; an elbow needs checkpoints at 2+ losses"
        )
    # rows that share a loss share every candidate's x: the fit needs each loss's weight, mean and spread
    wj = np.add.reduceat(w, start)
    yj = np.add.reduceat(w * y, start) / wj
    within = float(np.sum(w * (y - np.repeat(yj, np.diff(np.append(start, L.size)))) ** 2))
    lo, hi = float(uniq[0]), float(uniq[-1])
    span = hi - lo
    grid_E = np.linspace(lo, hi + 0.25 * span, grid)
    X = _basis(form, grid_E[:, None] - uniq[None, :], beta)
    sse = _wls(X, yj, wj, within)[2]
    g = int(np.argmin(sse))
    lo_b, hi_b = grid_E[max(g - 1, 0)], grid_E[min(g + 1, grid - 1)]

    def sse_at(E: float) -> float:
        return float(_wls(_basis(form, E - uniq, beta)[None, :], yj, wj, within)[2][0])

    E_best = float(grid_E[g])
    if hi_b > lo_b:
        res = minimize_scalar(sse_at, bounds=(lo_b, hi_b), method="bounded", options={"xatol": 1e-6 * max(span, 1e-9)})
        if res.fun <= sse[g]:
            E_best = float(res.x)
    aa, bb, ss = _wls(_basis(form, E_best - uniq, beta)[None, :], yj, wj, within)
    A, B, sse_e = float(aa[0]), float(bb[0]), max(float(ss[0]), 0.0)
    ym = float(y @ w / w.sum())
    sse_flat = float(((y - ym) ** 2) @ w)
    n = L.size
    tiny = 1e-12 * max(sse_flat, 1e-30)
    lr = float(n * np.log((sse_flat + tiny) / (sse_e + tiny))) if sse_flat > 0 else 0.0
    n_past = int(np.sum(uniq < E_best))
    emerged = bool(A > 0 and lr >= min_lr and n_past >= 1)
    if not emerged:
        return ElbowFit(0.0, float("nan"), ym, False, lr, 0, n, lo, float(np.sqrt(sse_flat / w.sum())), form, beta)
    return ElbowFit(A, E_best, B, True, lr, n_past, n, lo, float(np.sqrt(sse_e / w.sum())), form, beta)
