"""Evaluation: batched multiple-choice log-likelihood scoring and greedy generation with exact match.

    from emergence_laws.evaluation import evaluate_task, EvalResult
"""

from __future__ import annotations

from emergence_laws.evaluation.evaluate import EvalResult, evaluate_task
from emergence_laws.evaluation.generation import greedy_generate
from emergence_laws.evaluation.loglikelihood import ContinuationScore, loglikelihood
from emergence_laws.evaluation.ties import tie_argmax, tied_with_best

__all__ = ["ContinuationScore", "EvalResult", "evaluate_task", "greedy_generate", "loglikelihood", "tie_argmax", "tied_with_best"]
