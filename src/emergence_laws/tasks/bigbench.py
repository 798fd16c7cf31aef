"""BIG-bench JSON tasks (``task.json`` of the bigbench source archive) → `TaskSpec`.

One example per item of ``examples``. Generation when the task's metrics include
``exact_str_match`` (the item's ``target``; a list counts its first entry), else multiple choice
over ``target_scores`` (the answer is the highest-scoring choice, the first on a tie). The
prompt keeps BIG-bench's prefixes without the leading newline: ``Q: <input>\\nA:`` with the
answer after one space; the task's ``name`` names it; ``task_prefix`` becomes the description, ``stop_string`` (else a
newline) ends generations, and ``output_regex`` is the task's declared answer extraction
(BIG-bench's rule: the first match, "" when none), scored as ``exact_match_extracted`` beside
strict ``exact_match``. BIG-bench JSON has no splits: `load_task` holds out a seeded test set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emergence_laws.errors import InputError
from emergence_laws.tasks.extract import Extractor
from emergence_laws.tasks.spec import Example, TaskSpec

GENERATIVE_METRICS = ("exact_str_match",)


def is_bigbench(data: Any) -> bool:
    """Whether parsed JSON looks like a BIG-bench task (a mapping with an ``examples`` list)."""
    return isinstance(data, dict) and isinstance(data.get("examples"), list)


def bigbench_examples(data: dict, path: Path) -> tuple[str, list[Example], dict]:
    """(kind, examples, settings) of a parsed BIG-bench task."""
    metrics = data.get("metrics") or []
    kind = "generation" if any(m in GENERATIVE_METRICS for m in metrics) else "multiple_choice"
    in_prefix = str(data.get("example_input_prefix", "\nQ: ")).lstrip("\n")
    out_prefix = str(data.get("example_output_prefix", "\nA: "))
    delimiter = out_prefix[len(out_prefix.rstrip()):] or " "
    out_prefix = out_prefix.rstrip()
    examples = []
    for i, item in enumerate(data["examples"]):
        where = f"{path}: examples[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("input"), str):
            raise InputError(f"{where}: needs a string \"input\"")
        prompt = f"{in_prefix}{item['input']}{out_prefix}"
        if kind == "generation":
            target = item.get("target")
            if isinstance(target, list):
                target = target[0] if target else None
            if not isinstance(target, (str, int, float)) or isinstance(target, bool):
                raise InputError(f"{where}: exact_str_match needs a \"target\" string")
            examples.append(Example(prompt=prompt, target=str(target)))
        else:
            scores = item.get("target_scores")
            if not isinstance(scores, dict) or len(scores) < 2:
                raise InputError(f"{where}: multiple choice needs \"target_scores\" with at least 2 choices")
            choices = tuple(str(c) for c in scores)
            best = max(scores.values())
            examples.append(Example(prompt=prompt, choices=choices, answer=list(scores.values()).index(best)))
    settings = {"target_delimiter": delimiter,
                "fewshot_delimiter": str(data.get("few_shot_example_separator", "\n")),
                "stop": (str(data["stop_string"]),) if data.get("stop_string") else ("\n",),
                "description": str(data.get("task_prefix", "") or ""), "name": data.get("name")}
    if data.get("output_regex"):
        settings["extractors"] = (Extractor("extracted", regex=str(data["output_regex"]), select=0, fallback=""),)
    return kind, examples, settings


def read_bigbench(path: Path) -> tuple[str, list[Example], dict]:
    """(kind, examples, settings) from a BIG-bench ``task.json`` file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    if not is_bigbench(data):
        raise InputError(f"{path}: not a BIG-bench task (no \"examples\" list)")
    if not data["examples"]:
        raise InputError(f"{path}: the task has no examples (a BIG-bench task with subtasks? give a subtask's "
                         "task.json)")
    return bigbench_examples(data, path)


def bigbench_task(path: Path, train: tuple[Example, ...], test: tuple[Example, ...], kind: str, settings: dict,
                  name: str | None = None) -> TaskSpec:
    """A TaskSpec from split BIG-bench examples and the task's settings."""
    meta = {"source": str(path), "format": "bigbench", "description": settings["description"]}
    if "extractors" in settings:
        meta["extractors"] = settings["extractors"]
    default = settings.get("name") or (path.parent.name if path.name == "task.json" else path.stem)
    return TaskSpec(name=name or default, kind=kind, train=train, test=test, fewshot_delimiter=settings["fewshot_delimiter"],
                    target_delimiter=settings["target_delimiter"], stop=settings["stop"], metadata=meta)
