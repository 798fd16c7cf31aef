"""Few-shot prompt formatting, lm-evaluation-harness style, deterministic by seed.

    context = description + fewshot_delimiter.join(demo.prompt + target_delimiter + demo.answer_text)
              + fewshot_delimiter + query.prompt          (shots > 0)
    context = description + query.prompt                   (shots = 0)
    continuation = target_delimiter + answer_text

Finetuning uses the zero-shot context, so few-shot and finetuned evaluations share one format.
"""

from __future__ import annotations

import hashlib
import random

from emergence_laws.errors import InputError
from emergence_laws.tasks.spec import Example, TaskSpec


def _query_key(query: Example) -> str:
    raw = repr((query.prompt, query.target, query.choices, query.answer))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


def sample_demonstrations(task: TaskSpec, query: Example, shots: int, seed: int) -> list[Example]:
    """`shots` demonstrations from `task.train` (never the query itself), chosen by a RNG seeded by
    (`seed`, the query's content): the same query gets the same demonstrations whatever the
    batch, order or `limit`."""
    if shots < 0:
        raise InputError(f"shots must be >= 0, got {shots}")
    if shots == 0:
        return []
    pool = [ex for ex in task.train if ex != query]
    if len(pool) < shots:
        raise InputError(f"task {task.name!r}: {shots} shots requested but only {len(pool)} training "
                         "examples to draw demonstrations from; add training examples or lower shots")
    rng = random.Random(f"{seed}:{_query_key(query)}")
    return rng.sample(pool, shots)


def build_fewshot_context(task: TaskSpec, query: Example, shots: int = 0, seed: int = 0) -> str:
    """The prompt for `query` with `shots` demonstrations (see module docstring). Deterministic by seed."""
    demos = sample_demonstrations(task, query, shots, seed)
    description = str(task.metadata.get("description", "") or "")
    parts = [d.prompt + task.target_delimiter + d.answer_text for d in demos]
    if parts:
        return description + task.fewshot_delimiter.join(parts) + task.fewshot_delimiter + query.prompt
    return description + query.prompt


def continuation(task: TaskSpec, text: str) -> str:
    """The scored/trained continuation for an answer text: target_delimiter + text."""
    return task.target_delimiter + text
