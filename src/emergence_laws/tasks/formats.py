"""Two formats of the same multiple-choice questions, which are different tasks for a model.

- ``cloze`` (the task as loaded): the prompt is the question; each choice's *text* is scored as
  the continuation; `accuracy` and length-normalised `acc_norm`.
- ``mc``: the choices are listed after the question with letters, and the *letter* is scored::

      Which planet is largest?
      A. Mars
      B. Jupiter
      Answer: B

  (lm-eval's MMLU style). Emergence often shows in one format and not the other.

    task_in_format(task, "mc")   # a TaskSpec named "<name>:mc"
"""

from __future__ import annotations

import string
from dataclasses import replace

from emergence_laws.errors import InputError
from emergence_laws.tasks.spec import Example, TaskSpec

FORMATS: tuple[str, ...] = ("cloze", "mc")


def format_names(spec: str) -> tuple[str, ...]:
    """``cloze`` | ``mc`` | ``both`` (= cloze and mc) -> the formats to evaluate."""
    if spec == "both":
        return FORMATS
    if spec not in FORMATS:
        raise InputError(f"format {spec!r} is unknown; use cloze, mc or both")
    return (spec,)


def _lettered(ex: Example) -> Example:
    choices = ex.choices or ()
    if len(choices) > len(string.ascii_uppercase):
        raise InputError(f"a question has {len(choices)} choices; the mc format letters at most 26")
    letters = string.ascii_uppercase[: len(choices)]
    listed = "\n".join(f"{letter}. {text}" for letter, text in zip(letters, choices))
    return Example(prompt=f"{ex.prompt}\n{listed}\nAnswer:", choices=tuple(letters), answer=ex.answer)


def task_in_format(task: TaskSpec, fmt: str) -> TaskSpec:
    """`task` in format `fmt` ("cloze": unchanged; "mc": lettered choices, letters scored, name "<name>:mc")."""
    if fmt == "cloze":
        return task
    if fmt != "mc":
        raise InputError(f"format {fmt!r} is unknown; use cloze or mc")
    if task.kind != "multiple_choice":
        raise InputError(f"task {task.name!r} is a generation task; the mc format needs multiple-choice questions")
    return replace(task, name=f"{task.name}:mc", train=tuple(map(_lettered, task.train)),
                   test=tuple(map(_lettered, task.test)), target_delimiter=" ",
                   metadata={**task.metadata, "format": "mc"})
