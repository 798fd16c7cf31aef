"""Evaluation: batched multiple-choice log-likelihood scoring and greedy generation with exact match.

    from emergence_laws.evaluation import evaluate_task, EvalResult
"""

from __future__ import annotations

from emergence_laws.evaluation.evaluate import EvalResult, evaluate_task
from emergence_laws.evaluation.generation import greedy_generate
from emergence_laws.evaluation.loglikelihood import ContinuationScore, loglikelihood

__all__ = ["ContinuationScore", "EvalResult", "evaluate_task", "greedy_generate", "loglikelihood"]
