"""`load_task`: one entry point for JSONL task files, folders of split files, and lm-eval YAML."""

from __future__ import annotations

import random
from pathlib import Path

from emergence_laws.errors import InputError
from emergence_laws.tasks.bigbench import bigbench_task, is_bigbench, read_bigbench
from emergence_laws.tasks.jsonl import read_examples
from emergence_laws.tasks.lmeval_yaml import load_lmeval_yaml
from emergence_laws.tasks.spec import Example, TaskSpec


def _looks_like_bigbench(path: Path) -> bool:
    if not path.is_file():
        return False
    import json

    try:
        return is_bigbench(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False


def _split_pool(examples: list[Example], test_size: float, seed: int, where: str):
    n = len(examples)
    n_test = round(test_size * n) if isinstance(test_size, float) else int(test_size)
    if not 0 < n_test < n:
        raise InputError(f"{where}: test_size={test_size} leaves no train or no test examples out of {n}; "
                         "pick a value between 0 and 1 (fraction) or 1..n-1 (count), or add 'split' fields")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    test = tuple(examples[i] for i in sorted(order[:n_test]))
    train = tuple(examples[i] for i in sorted(order[n_test:]))
    return train, test


def lmeval_yaml_path(path: str | Path) -> Path | None:
    """The lm-eval task YAML that `path` names (the file itself, or a folder's only YAML when it has no
    train.jsonl + test.jsonl), else None. Such tasks hold templates; JSONL tasks hold none."""
    p = Path(path).expanduser()
    if p.is_dir():
        has_jsonl = (p / "train.jsonl").exists() and any((p / f).exists() for f in ("test.jsonl", "validation.jsonl"))
        yamls = sorted(list(p.glob("*.yaml")) + list(p.glob("*.yml")))
        return yamls[0] if not has_jsonl and len(yamls) == 1 else None
    return p if p.suffix in (".yaml", ".yml") else None


def task_kind(path: str | Path) -> str:
    """``multiple_choice`` or ``generation``: what the task at `path` holds, read without rendering any
    template (an lm-eval YAML's output_type, BIG-bench's metrics, JSONL rows)."""
    from emergence_laws.tasks.lmeval_yaml import read_lmeval_source

    yml = lmeval_yaml_path(path)
    if yml is not None:
        return "multiple_choice" if read_lmeval_source(yml).multiple_choice else "generation"
    p = Path(path).expanduser()
    if p.is_dir():
        p = next((p / f for f in ("test.jsonl", "validation.jsonl") if (p / f).exists()), p / "test.jsonl")
    if p.suffix == ".json" and _looks_like_bigbench(p):
        return read_bigbench(p)[0]
    return read_examples(p)[0]


def check_extract(path: str | Path, regex: str | None, flag: str) -> None:
    """InputError unless `regex` (an answer-extraction pattern; None = none) compiles and the task at
    `path` generates answers for it to read: a multiple-choice task scores its choices instead."""
    import re

    if regex is None:
        return
    try:
        re.compile(regex)
    except re.error as exc:
        raise InputError(f"{flag} {regex!r}: not a valid regex ({exc}); fix the pattern") from None
    if task_kind(path) == "multiple_choice":
        raise InputError(f"{flag} {regex!r}: {path} is a multiple-choice task, scored by the log-likelihood of its "
                         "choices, so there is no generated answer to extract; drop it (it applies to generation tasks)")


def load_task(path: str | Path, *, name: str | None = None, train_path: str | Path | None = None,
              test_size: float = 0.5, seed: int = 0, fewshot_delimiter: str | None = None,
              target_delimiter: str | None = None, stop: tuple[str, ...] | None = None) -> TaskSpec:
    """Load a task as a `TaskSpec`.

    `path` may be:
    - an lm-eval task YAML (`.yaml`/`.yml`) pointing at local JSON/JSONL files;
    - a BIG-bench ``task.json`` (see `tasks.bigbench`; a seeded `test_size` split);
    - a JSONL file: multiple choice rows {"question"|"prompt", "choices", "answer": index} or
      generation rows {"prompt", "target"}. Train/test come from a per-row "split" field
      ("train" | "test" | "validation"), else from `train_path` (then `path` is the test set),
      else from a seeded random split holding out `test_size` (fraction or count) for test;
    - a folder holding `train.jsonl` and `test.jsonl` (or `validation.jsonl`), or one task YAML.
    The delimiters/stop strings override the file's (JSONL defaults: " ", "\\n\\n", ("\\n",)).
    """
    p = Path(path).expanduser()
    if p.is_dir():
        yamls = sorted(list(p.glob("*.yaml")) + list(p.glob("*.yml")))
        test_file = next((p / f for f in ("test.jsonl", "validation.jsonl") if (p / f).exists()), None)
        if test_file is not None and (p / "train.jsonl").exists():
            return load_task(test_file, name=name or p.name, train_path=p / "train.jsonl",
                             fewshot_delimiter=fewshot_delimiter, target_delimiter=target_delimiter, stop=stop)
        if len(yamls) == 1:
            p = yamls[0]
        else:
            raise InputError(f"{p}: folder has no train.jsonl + test.jsonl and not exactly one task YAML; "
                             "pass the task file itself")
    if p.suffix in (".yaml", ".yml"):
        spec = load_lmeval_yaml(p, name=name)
    elif p.suffix == ".json" and _looks_like_bigbench(p):
        kind, examples, settings = read_bigbench(p)
        train_ex, test_ex = _split_pool(examples, test_size, seed, str(p))
        spec = bigbench_task(p, train_ex, test_ex, kind, settings, name=name)
    elif p.suffix in (".jsonl", ".json"):
        kind, rows = read_examples(p)
        splits = {s for _, s in rows}
        if train_path is not None:
            if splits != {None}:
                raise InputError(f"{p}: rows have 'split' fields and train_path was also given; use one or the other")
            train_kind, train_rows = read_examples(Path(train_path).expanduser())
            if train_kind != kind:
                raise InputError(f"{train_path}: is {train_kind} but {p} is {kind}; use files of one task")
            train = tuple(ex for ex, _ in train_rows)
            test = tuple(ex for ex, _ in rows)
        elif splits == {None}:
            train, test = _split_pool([ex for ex, _ in rows], test_size, seed, str(p))
        else:
            if None in splits:
                raise InputError(f"{p}: some rows have a 'split' field and some do not; give every row one")
            train = tuple(ex for ex, s in rows if s == "train")
            test = tuple(ex for ex, s in rows if s == "test")
            if not test:
                test = tuple(ex for ex, s in rows if s in ("validation", "dev"))
            if not test:
                raise InputError(f"{p}: no rows with split 'test' (or 'validation'); mark some rows for testing")
        spec = TaskSpec(name=name or p.stem, kind=kind, train=train, test=test,
                        metadata={"source": str(p), "format": "jsonl"})
    else:
        raise InputError(f"{p}: unknown task file type {p.suffix!r}; use .jsonl, .json or an lm-eval .yaml")
    if not spec.test:
        raise InputError(f"{p}: the task has no test examples; add some to the test split")
    overrides = {k: v for k, v in (("fewshot_delimiter", fewshot_delimiter), ("target_delimiter", target_delimiter),
                                   ("stop", tuple(stop) if stop is not None else None)) if v is not None}
    if overrides:
        from dataclasses import replace

        spec = replace(spec, **overrides)
    return spec
