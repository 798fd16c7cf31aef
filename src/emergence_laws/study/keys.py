"""Content-hash keys: everything that determines a job's result, hashed into one short string.

A job's key covers the checkpoint (a fingerprint of its config, tokenizer and weight files, or
hub id + revision), the task's content (every example and the prompt format), the job's axes
(shots, n_train, seed), the finetuning method and hyperparameters, the evaluation dtype/device
and the evaluator's code version. Change any of them and the job runs again; change nothing
and `--resume` skips it.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any

from emergence_laws.hashing import digest, file_digest

#: Bump when evaluation/finetuning/loss code changes what a job computes. Part of every key.
EVALUATOR_VERSION = "2"


@lru_cache(maxsize=256)
def _folder_fingerprint(path: str, _stamp: tuple) -> str:
    files = {}
    for f in sorted(Path(path).iterdir()):
        if f.is_file() and not f.name.startswith("."):
            files[f.name] = file_digest(f, full=False)
    return digest(files, 32)


@lru_cache(maxsize=256)
def _file_fingerprint(path: str, _stamp: tuple) -> str:
    return digest({Path(path).name: file_digest(path, full=False)}, 32)


def checkpoint_fingerprint(path: str, revision: str | None = None, *, local: bool = True) -> str:
    """What identifies a checkpoint's weights: a hash of a local folder's files (config, tokenizer,
    weights; big weight files sampled) or of a single-file checkpoint (.gguf, sampled), or
    ``hub:<id>@<revision>`` for a hub id."""
    if not local:
        return f"hub:{path}@{revision or 'main'}"
    p = Path(path)
    if p.is_file():  # a single-file checkpoint (.gguf)
        st = p.stat()
        return _file_fingerprint(str(p.resolve()), (st.st_size, st.st_mtime_ns))
    stamp = tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in sorted(p.iterdir()) if f.is_file())
    return _folder_fingerprint(str(p.resolve()), stamp)


def task_fingerprint(task: Any, limit: int | None = None) -> str:
    """Hash of a TaskSpec's content: name, kind, every train/test example, delimiters, stop strings,
    description and answer extractors."""
    from emergence_laws.tasks.extract import task_extractors

    content = {
        "name": task.name, "kind": task.kind,
        "train": [asdict(e) for e in task.train], "test": [asdict(e) for e in task.test],
        "fewshot_delimiter": task.fewshot_delimiter, "target_delimiter": task.target_delimiter,
        "stop": list(task.stop), "limit": limit,
        "description": str((task.metadata or {}).get("description", "") or ""),
        "extractors": [e.to_dict() for e in task_extractors(task.metadata or {})],
    }
    return digest(content, 32)


def code_version() -> str:
    """The evaluator's code version: package version + EVALUATOR_VERSION."""
    from emergence_laws.version import __version__

    return f"{__version__}+ev{EVALUATOR_VERSION}"


def job_key(kind: str, payload: dict[str, Any]) -> str:
    """A job's key: ``<kind>-<24 hex>``, the hash of its payload and the code version."""
    prefix = {"measure": "m", "fewshot": "fs", "finetune": "ft"}.get(kind, kind)
    return f"{prefix}-{digest({'kind': kind, 'code': code_version(), **payload})}"
