"""Uncertainty of an accuracy: a fraction of `n` right/wrong examples (a binomial proportion).

    binomial_stderr(0.4, 100)   # 0.049: sqrt(p (1 - p) / n)
    wilson_interval(0.4, 100)   # (0.309, 0.498): the Wilson score interval, 95% by default

The Wilson interval stays inside [0, 1] and is sensible at p = 0 or 1 and for small n, where the
normal interval p ± 1.96·stderr is not (it collapses to a point at p = 0). Pure Python, no numpy.
"""

from __future__ import annotations

import math

#: z of a two-sided 95% normal interval.
Z95 = 1.959963984540054


def _check(p: float, n: float) -> tuple[float, float]:
    p, n = float(p), float(n)
    if not (n > 0 and math.isfinite(n)):
        raise ValueError(f"n must be a positive number of examples, got {n}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a fraction in [0, 1], got {p}")
    return p, n


def binomial_stderr(p: float, n: float) -> float:
    """Standard error of a proportion `p` of `n` examples: sqrt(p (1 - p) / n)."""
    p, n = _check(p, n)
    return math.sqrt(p * (1.0 - p) / n)


def wilson_interval(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval (low, high) of a proportion `p` of `n` examples (default 95%)."""
    p, n = _check(p, n)
    z2 = z * z
    centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n)
    half = z / (1.0 + z2 / n) * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)
