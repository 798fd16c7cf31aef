"""Tasks as data: JSONL files or lm-evaluation-harness task YAML → `TaskSpec`; few-shot prompts.

    from emergence_laws.tasks import load_task, build_fewshot_context
"""

from __future__ import annotations

from emergence_laws.tasks.fewshot import build_fewshot_context, continuation
from emergence_laws.tasks.task_files import load_task
from emergence_laws.tasks.spec import Example, TaskSpec

__all__ = ["Example", "TaskSpec", "build_fewshot_context", "continuation", "load_task"]
