"""Functional forms of emergence laws, as small pure numpy functions with the paper's names.

Units: ``loss`` is pretraining loss in nats/token; ``D`` is a number of finetuning examples;
performance is in the metric's own units (accuracy in [0, 1]).

- :func:`relu_elbow`     ``Perf(L) = A * ReLU(E - L) + B``            (flat at ``B`` for ``L >= E``)
- :func:`softplus_elbow` ``Perf(L) = A * softplus_beta(E - L) + B``  (smooth; ``beta`` in 1/nats)
- :func:`log_power_shift` ``E_theta(D) = k * (log D)^alpha + C``      (the paper's emergence law)
- :func:`power_shift`     ``E_theta(D) = k * D^alpha + C``            (its weaker ablation)

``log D`` needs ``D >= 1``: :func:`clamp_data_amount` maps ``D < 1`` (zero-shot, ``D0 = 0``) to
``D = 1``, where ``(log 1)^alpha = 0`` so ``E_theta(1) = C``. Callers warn when they clamp.
"""

from __future__ import annotations

import numpy as np

#: Names of the shift forms :func:`shift` accepts.
SHIFT_FORMS: tuple[str, ...] = ("logpower", "power")
#: Names of the elbow forms :func:`elbow` accepts.
ELBOW_FORMS: tuple[str, ...] = ("relu", "softplus")
#: Default sharpness of the softplus elbow, in 1/nats (the kink is ~1/beta nats wide).
DEFAULT_BETA: float = 30.0


def relu_elbow(loss, A: float, E: float, B: float):
    """``A * max(E - loss, 0) + B``: the metric at pretraining loss ``loss`` (nats)."""
    return A * np.maximum(np.asarray(E) - np.asarray(loss, dtype=float), 0.0) + B


def softplus(z, beta: float = DEFAULT_BETA):
    """``log(1 + exp(beta * z)) / beta``, overflow-safe; tends to ``max(z, 0)`` as beta grows."""
    z = np.asarray(z, dtype=float)
    return np.logaddexp(0.0, beta * z) / beta


def softplus_elbow(loss, A: float, E: float, B: float, beta: float = DEFAULT_BETA):
    """``A * softplus_beta(E - loss) + B``: a smooth elbow; ``beta`` (1/nats) sets its sharpness."""
    return A * softplus(np.asarray(E) - np.asarray(loss, dtype=float), beta) + B


def clamp_data_amount(D):
    """``max(D, 1)`` as float: the log power law is defined for ``D >= 1`` (``E(1) = C``)."""
    return np.maximum(np.asarray(D, dtype=float), 1.0)


def log_power_shift(D, k: float, alpha: float, C: float):
    """Emergence point ``k * (log D)^alpha + C`` in nats, for ``D >= 1`` examples (clamped)."""
    g = np.log(clamp_data_amount(D))
    return k * np.power(g, alpha) + C


def power_shift(D, k: float, alpha: float, C: float):
    """Emergence point ``k * D^alpha + C`` in nats (the plain-power-law ablation)."""
    return k * np.power(clamp_data_amount(D), alpha) + C


def shift(form: str, D, k: float, alpha: float, C: float):
    """Dispatch to :func:`log_power_shift` (``"logpower"``) or :func:`power_shift` (``"power"``)."""
    if form == "logpower":
        return log_power_shift(D, k, alpha, C)
    if form == "power":
        return power_shift(D, k, alpha, C)
    raise ValueError(f"unknown shift form {form!r}; use one of {SHIFT_FORMS}")


def shift_basis(form: str, D) -> np.ndarray:
    """The quantity raised to ``alpha``: ``log D`` (logpower) or ``D`` (power), with ``D`` clamped."""
    D = clamp_data_amount(D)
    if form == "logpower":
        return np.log(D)
    if form == "power":
        return D
    raise ValueError(f"unknown shift form {form!r}; use one of {SHIFT_FORMS}")


def elbow(form: str, loss, A: float, E, B: float, beta: float = DEFAULT_BETA):
    """Dispatch to :func:`relu_elbow` or :func:`softplus_elbow` by name."""
    if form == "relu":
        return relu_elbow(loss, A, E, B)
    if form == "softplus":
        return softplus_elbow(loss, A, E, B, beta)
    raise ValueError(f"unknown elbow form {form!r}; use one of {ELBOW_FORMS}")
