"""Evaluation: batched multiple-choice log-likelihood scoring and greedy generation with exact match.

    from emergence_laws.evaluation import evaluate_task, EvalResult

The names load their module on first use: the settings (`evaluation.settings`) import without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "EvalResult": "emergence_laws.evaluation.evaluate",
    "evaluate_task": "emergence_laws.evaluation.evaluate",
    "EvalSettings": "emergence_laws.evaluation.settings",
    "greedy_generate": "emergence_laws.evaluation.generation",
    "ContinuationScore": "emergence_laws.evaluation.loglikelihood",
    "loglikelihood": "emergence_laws.evaluation.loglikelihood",
    "tie_argmax": "emergence_laws.evaluation.ties",
    "tied_with_best": "emergence_laws.evaluation.ties",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'emergence_laws.evaluation' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
