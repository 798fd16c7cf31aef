"""The tie rule for multiple-choice scoring: near-equal log-likelihoods count as tied, the first one wins.

Torch picks different CPU kernels on different machines (vector width, fused paths), so the last
bits of a float32 log-likelihood move from machine to machine. Two choices whose scores are equal
in exact arithmetic (the same continuation text, or an untrained model) then break a plain argmax
one way here and the other way there. The rule: a choice is *tied with the best* when its score is
within ``atol + rtol·|best|`` of the best score (defaults: 1e-5 nats + 1e-6 relative, far below any
real preference and far above float32 noise on sums of a few hundred token log-probabilities);
among tied choices the first in order wins, as lm-evaluation-harness's ``argmax`` does on an exact
tie.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TIE_ATOL = 1e-5
"""Absolute tolerance of the tie rule (nats)."""
TIE_RTOL = 1e-6
"""Relative tolerance of the tie rule (fraction of |best score|)."""


def tied_with_best(scores: Sequence[float] | np.ndarray, *, atol: float = TIE_ATOL,
                   rtol: float = TIE_RTOL) -> np.ndarray:
    """Boolean mask of the choices tied with the highest score under the tie rule."""
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1 or s.size == 0:
        raise ValueError("scores must be a non-empty 1-d sequence")
    best = float(np.max(s))
    return s >= best - (atol + rtol * abs(best))


def tie_argmax(scores: Sequence[float] | np.ndarray, *, atol: float = TIE_ATOL, rtol: float = TIE_RTOL) -> int:
    """Index of the chosen answer: the first choice tied with the best score (see the module docstring)."""
    return int(np.flatnonzero(tied_with_best(scores, atol=atol, rtol=rtol))[0])


__all__ = ["TIE_ATOL", "TIE_RTOL", "tie_argmax", "tied_with_best"]
