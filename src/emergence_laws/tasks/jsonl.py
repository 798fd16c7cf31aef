"""Reading task files: JSONL rows → `Example`s, with errors that name the file and line."""

from __future__ import annotations

import json
from pathlib import Path

from emergence_laws.errors import InputError
from emergence_laws.tasks.spec import Example

_MC_FIX = 'write {"question": ..., "choices": [...], "answer": <index>}'
_GEN_FIX = 'write {"prompt": ..., "target": ...}'


def read_json_rows(path: Path) -> list[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSONL file (or each item of a JSON list)."""
    from emergence_laws.paths import read_text

    text = read_text(path, "task file", "check the path (a JSONL file, one JSON object per line)")
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); fix the file or use JSONL") from exc
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise InputError(f"{path}: expected a JSON list of objects (or JSONL, one object per line)")
        return [(i + 1, r) for i, r in enumerate(data)]
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{lineno}: not valid JSON ({exc.msg}); write one JSON object per line") from exc
        if not isinstance(row, dict):
            raise InputError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
        rows.append((lineno, row))
    if not rows:
        raise InputError(f"{path}: no examples in the file; add one JSON object per line")
    return rows


def row_kind(row: dict) -> str:
    """'multiple_choice' if the row has choices, else 'generation'."""
    return "multiple_choice" if "choices" in row else "generation"


def example_from_row(row: dict, where: str) -> Example:
    """One JSONL row → Example. MC: question|prompt, choices, answer (index or the choice text).
    Generation: prompt|question, target|answer (string). `where` is 'file:line' for errors."""
    prompt = row.get("question", row.get("prompt"))
    if "question" in row and "prompt" in row:
        prompt = row["prompt"]
    if not isinstance(prompt, str):
        fix = _MC_FIX if "choices" in row else _GEN_FIX
        raise InputError(f"{where}: missing string \"question\" or \"prompt\"; {fix}")
    if "choices" in row:
        choices = row["choices"]
        if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) for c in choices):
            raise InputError(f"{where}: \"choices\" must be a list of at least 2 strings; {_MC_FIX}")
        answer = row.get("answer")
        if isinstance(answer, str) and answer in choices:
            answer = choices.index(answer)
        if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
            raise InputError(f"{where}: \"answer\" must be an index into choices (0..{len(choices) - 1}); {_MC_FIX}")
        return Example(prompt=prompt, choices=tuple(choices), answer=answer)
    target = row.get("target", row.get("answer"))
    if isinstance(target, (int, float)) and not isinstance(target, bool):
        target = str(target)
    if not isinstance(target, str):
        raise InputError(f"{where}: missing string \"target\" (generation) or \"choices\" (multiple choice); {_GEN_FIX}")
    return Example(prompt=prompt, target=target)


def read_examples(path: Path) -> tuple[str, list[tuple[Example, str | None]]]:
    """(kind, [(example, split or None)]) from a JSONL task file; all rows must be of one kind."""
    rows = read_json_rows(path)
    kind = row_kind(rows[0][1])
    out = []
    for lineno, row in rows:
        where = f"{path}:{lineno}"
        if row_kind(row) != kind:
            raise InputError(f"{where}: mixes multiple-choice and generation rows ({kind} at line {rows[0][0]}); "
                             "keep one kind per task file")
        split = row.get("split")
        if split is not None and split not in ("train", "test", "validation", "dev"):
            raise InputError(f"{where}: \"split\" must be train, test or validation, got {split!r}")
        out.append((example_from_row(row, where), split))
    return kind, out
