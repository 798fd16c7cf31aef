"""Few-shot prompt formatting, lm-evaluation-harness style, deterministic by seed.

    context = description + fewshot_delimiter.join(demo.prompt + target_delimiter + demo.answer_text)
              + fewshot_delimiter + query.prompt          (shots > 0)
    context = description + query.prompt                   (shots = 0)
    continuation = target_delimiter + answer_text

Finetuning uses the zero-shot context, so few-shot and finetuned evaluations share one format.

Two samplers draw the demonstrations (`build_contexts`):
- ``query`` (default): each query's demonstrations come from a RNG seeded by (seed, the query's
  content), so a query gets the same ones whatever the batch, order or `limit`;
- ``lm-eval``: lm-evaluation-harness's default sampler, draw for draw: one `random.Random(seed)`
  shared by the test examples in order, each drawing `shots` (or `shots + 1`, then dropping the
  query itself, when the query is in the pool) with `Random.sample` from the training examples in
  file order. With the same seed (lm-eval's default fewshot seed is 1234), examples and order, the
  contexts are lm-eval's, so results compare example by example.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

from emergence_laws.errors import InputError
from emergence_laws.tasks.spec import Example, TaskSpec


def _query_key(query: Example) -> str:
    raw = repr((query.prompt, query.target, query.choices, query.answer))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


class DemoPool:
    """The training examples that demonstrations are drawn from, indexed once: which positions hold
    a given example, so that leaving the query out costs O(copies of the query), not O(pool)."""

    def __init__(self, train: Sequence[Example]) -> None:
        self.train = tuple(train)
        self._positions: dict[Example, list[int]] | None = {}
        try:
            for i, ex in enumerate(self.train):
                self._positions.setdefault(ex, []).append(i)
        except TypeError:  # an example with an unhashable field: fall back to comparing
            self._positions = None

    def without(self, query: Example) -> list[int]:
        """Sorted positions of the examples equal to `query`."""
        if self._positions is None:
            return [i for i, ex in enumerate(self.train) if ex == query]
        try:
            return self._positions.get(query, [])
        except TypeError:
            return [i for i, ex in enumerate(self.train) if ex == query]

    def sample(self, task: TaskSpec, query: Example, shots: int, seed: int) -> list[Example]:
        """`shots` demonstrations for `query`: `Random.sample` over the pool without the query, drawn as
        indices (the same draws as sampling the filtered list itself)."""
        if shots < 0:
            raise InputError(f"shots must be >= 0, got {shots}")
        if shots == 0:
            return []
        removed = self.without(query)
        size = len(self.train) - len(removed)
        if size < shots:
            raise InputError(f"task {task.name!r}: {shots} shots requested but only {size} training "
                             "examples to draw demonstrations from; add training examples or lower shots")
        rng = random.Random(f"{seed}:{_query_key(query)}")
        out = []
        for j in rng.sample(range(size), shots):
            for r in removed:  # the j-th kept position: step over removed positions at or before it
                if r <= j:
                    j += 1
            out.append(self.train[j])
        return out


def sample_demonstrations(task: TaskSpec, query: Example, shots: int, seed: int,
                          pool: DemoPool | None = None) -> list[Example]:
    """`shots` demonstrations from `task.train` (never the query itself), chosen by a RNG seeded by
    (`seed`, the query's content): the same query gets the same demonstrations whatever the
    batch, order or `limit`. `pool`: `DemoPool(task.train)`, built once when drawing for many queries."""
    return (pool or DemoPool(task.train if shots else ())).sample(task, query, shots, seed)


SAMPLERS: tuple[str, ...] = ("query", "lm-eval")

#: lm-evaluation-harness's default `fewshot_random_seed`.
LMEVAL_FEWSHOT_SEED = 1234


def lmeval_demonstrations(task: TaskSpec, queries: Sequence[Example], shots: int, seed: int) -> list[list[Example]]:
    """lm-eval's default `ContextSampler` draws for `queries` in order (see the module docstring)."""
    if shots < 0:
        raise InputError(f"shots must be >= 0, got {shots}")
    if shots == 0:
        return [[] for _ in queries]
    pool = list(task.train)
    rng = random.Random(seed)
    out = []
    for query in queries:
        if query in pool:  # lm-eval samples one extra when the query's split is the demonstrations' split
            drawn = [d for d in rng.sample(pool, min(shots + 1, len(pool))) if d != query][:shots]
            if len(drawn) < shots:
                rest = [d for d in pool if d != query]
                if len(rest) < shots:
                    raise InputError(f"task {task.name!r}: {shots} shots requested but only {len(rest)} training "
                                     "examples to draw demonstrations from; add training examples or lower shots")
                drawn = rng.sample(rest, shots)
        else:
            if len(pool) < shots:
                raise InputError(f"task {task.name!r}: {shots} shots requested but only {len(pool)} training "
                                 "examples to draw demonstrations from; add training examples or lower shots")
            drawn = rng.sample(pool, shots)
        out.append(drawn)
    return out


def format_context(task: TaskSpec, query: Example, demos: Sequence[Example]) -> str:
    """The prompt for `query` after the demonstrations `demos` (see the module docstring)."""
    description = str(task.metadata.get("description", "") or "")
    parts = [d.prompt + task.target_delimiter + d.answer_text for d in demos]
    if parts:
        return description + task.fewshot_delimiter.join(parts) + task.fewshot_delimiter + query.prompt
    return description + query.prompt


def build_fewshot_context(task: TaskSpec, query: Example, shots: int = 0, seed: int = 0,
                          pool: DemoPool | None = None) -> str:
    """The prompt for `query` with `shots` demonstrations of the ``query`` sampler. Deterministic by seed."""
    return format_context(task, query, sample_demonstrations(task, query, shots, seed, pool))


def build_contexts(task: TaskSpec, queries: Sequence[Example], shots: int = 0, seed: int = 0,
                   sampler: str = "query") -> list[str]:
    """The prompts of `queries` (in this order) with `shots` demonstrations drawn by `sampler`."""
    if sampler == "query":
        pool = DemoPool(task.train if shots else ())
        return [build_fewshot_context(task, q, shots=shots, seed=seed, pool=pool) for q in queries]
    if sampler == "lm-eval":
        return [format_context(task, q, d) for q, d in zip(queries, lmeval_demonstrations(task, queries, shots, seed))]
    raise InputError(f"few-shot sampler {sampler!r} is unknown; use {' or '.join(SAMPLERS)}")


def continuation(task: TaskSpec, text: str) -> str:
    """The scored/trained continuation for an answer text: target_delimiter + text."""
    return task.target_delimiter + text
