"""Loss -> compute: fit ``L(N) = E + A / N^alpha`` on a ladder and invert it.

``N`` is parameters or training FLOPs; ``L`` pretraining loss in nats/token. ``E`` is the
irreducible loss: a target loss at or below it is unreachable under the fit (inversion gives None).
Fitted in log space around the geometric mean of ``N`` (``x = ln(N / N_ref)``) for conditioning.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import least_squares

from emergence_laws.errors import NotIdentifiableError


@dataclass(frozen=True)
class ScalingLaw:
    """``L(N) = E + A / N^alpha`` with ``A = exp(a) * N_ref^alpha``; ``axis`` is "params" or "flops"."""

    E: float
    a: float
    alpha: float
    n_ref: float
    axis: str
    n_models: int
    rmse: float

    @property
    def A(self) -> float:
        return float(math.exp(self.a) * self.n_ref**self.alpha)

    def loss_at(self, N) -> np.ndarray | float:
        """Predicted pretraining loss (nats) at scale ``N``."""
        x = np.log(np.asarray(N, dtype=float) / self.n_ref)
        out = self.E + np.exp(self.a - self.alpha * x)
        return float(out) if np.ndim(out) == 0 else out

    def scale_at(self, loss: float) -> float | None:
        """The scale ``N`` at which the fit reaches ``loss`` nats; None if ``loss <= E`` (unreachable)."""
        if not math.isfinite(loss) or loss <= self.E:
            return None
        x = (self.a - math.log(loss - self.E)) / self.alpha
        v = self.n_ref * math.exp(x)
        return float(v) if math.isfinite(v) else None

    def to_json(self) -> dict:
        d = asdict(self)
        d["A"] = self.A
        return d


def _least_squares(x: np.ndarray, L: np.ndarray, p0s) -> tuple[np.ndarray, np.ndarray] | None:
    """Best of the least-squares fits of ``L = E + exp(a - alpha x)`` from the starts ``p0s``: ``(p, residuals)``."""
    lmin = float(L.min())

    def resid(p):
        E, a, al = p
        return E + np.exp(a - al * x) - L

    def jac(p):
        _, a, al = p
        g = np.exp(a - al * x)
        return np.stack([np.ones_like(x), g, -x * g], axis=1)

    best = None
    for p0 in p0s:
        p0 = np.clip(p0, [0.0, -50.0, 0.01], [lmin * 0.9999, 50.0, 3.0])
        try:
            r = least_squares(resid, p0, jac=jac, bounds=([0.0, -50.0, 0.01], [lmin * 0.9999, 50.0, 3.0]))
        except ValueError:
            continue
        if best is None or r.cost < best.cost:
            best = r
    return None if best is None else (best.x, best.fun)


def _points(scale, loss) -> tuple[np.ndarray, np.ndarray]:
    N = np.asarray(scale, dtype=float).reshape(-1)
    L = np.asarray(loss, dtype=float).reshape(-1)
    ok = np.isfinite(N) & np.isfinite(L) & (N > 0) & (L > 0)
    return N[ok], L[ok]


def fit_scaling_law(scale, loss, axis: str = "flops") -> ScalingLaw:
    """Least-squares fit of ``L = E + A N^-alpha`` to one point per model.

    Raises:
        NotIdentifiableError: fewer than 3 models with distinct positive scale.
    """
    N, L = _points(scale, loss)
    if np.unique(N).size < 3:
        raise NotIdentifiableError(
            f"a scaling law in {axis} needs 3+ models with distinct {axis} and pretrain_loss; found {np.unique(N).size}"
        )
    n_ref = float(np.exp(np.mean(np.log(N))))
    x = np.log(N / n_ref)
    starts = []
    for frac in (0.0, 0.5, 0.8, 0.95):
        E0 = frac * float(L.min())
        sl, ic = np.polyfit(x, np.log(np.maximum(L - E0, 1e-6)), 1)
        starts.append([E0, float(ic), float(np.clip(-sl, 0.011, 2.9))])
    fit = _least_squares(x, L, starts)
    if fit is None:
        raise NotIdentifiableError(f"the scaling law in {axis} could not be fitted; check pretrain_loss and {axis}")
    (E, a, al), res = (float(v) for v in fit[0]), fit[1]
    return ScalingLaw(E, a, al, n_ref, axis, int(N.size), float(np.sqrt(np.mean(res**2))))


def bootstrap_scaling_law(law: ScalingLaw, scale, loss, n: int, rng: np.random.Generator) -> list[ScalingLaw]:
    """``n`` refits of ``law`` on models resampled with replacement (warm-started from ``law``).

    A replicate with fewer than 3 distinct models, or whose fit fails, keeps ``law`` itself.
    """
    N, L = _points(scale, loss)
    return [refit_scaling_law(law, N, L, rng.integers(0, N.size, N.size)) for _ in range(n)]


def refit_scaling_law(law: ScalingLaw, scale, loss, index: np.ndarray) -> ScalingLaw:
    """``law`` refitted (warm-started from it) to the models ``scale[index]``, ``loss[index]`` (repeats allowed:
    one bootstrap replicate); ``law`` itself when they hold fewer than 3 distinct scales or the fit fails.
    ``scale``, ``loss``: one finite positive entry per model (FLOPs/params, nats)."""
    N, L = np.asarray(scale, dtype=float)[index], np.asarray(loss, dtype=float)[index]
    fit = _least_squares(np.log(N / law.n_ref), L, [[law.E, law.a, law.alpha]]) if np.unique(N).size >= 3 else None
    if fit is None:
        return law
    E, a, al = (float(v) for v in fit[0])
    return ScalingLaw(E, a, al, law.n_ref, law.axis, law.n_models, law.rmse)
