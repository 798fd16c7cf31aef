"""A downstream task as data: examples, their kind, and how prompts are joined.

Prompts follow lm-evaluation-harness conventions so scores are comparable:
a few-shot context is ``fewshot_delimiter.join(demo.prompt + target_delimiter + demo.answer_text)``
followed by ``fewshot_delimiter + query.prompt``; the scored continuation is
``target_delimiter + answer_text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TaskKind = Literal["multiple_choice", "generation"]


@dataclass(frozen=True)
class Example:
    """One task item. Multiple choice sets `choices` and `answer` (index); generation sets `target`."""

    prompt: str
    target: str | None = None
    choices: tuple[str, ...] | None = None
    answer: int | None = None

    @property
    def answer_text(self) -> str:
        """The correct continuation (without the target delimiter)."""
        if self.choices is not None and self.answer is not None:
            return self.choices[self.answer]
        if self.target is None:
            raise ValueError("example has neither choices+answer nor target")
        return self.target


@dataclass(frozen=True)
class TaskSpec:
    """A task: a pool of training examples (finetuning data and few-shot demonstrations) and a test set."""

    name: str
    kind: TaskKind
    train: tuple[Example, ...]
    test: tuple[Example, ...]
    fewshot_delimiter: str = "\n\n"
    target_delimiter: str = " "
    stop: tuple[str, ...] = ("\n",)
    metadata: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def chance(self) -> float:
        """Random-guess accuracy: mean 1/len(choices) for multiple choice, 0 for exact match."""
        if self.kind == "generation":
            return 0.0
        sizes = [len(ex.choices or ()) for ex in self.test]
        return float(sum(1.0 / s for s in sizes if s) / max(len(sizes), 1))
