"""Evaluate checkpoints on a task without a study: `emergence eval MODEL TASK`.

    settings = EvalRun(shots=(0, 3), limit=100)
    rows, examples = evaluate_checkpoints(find_checkpoints("ckpts/"), "task.jsonl", settings)

`MODEL` is a Hugging Face folder, a `.gguf` file, or a folder holding several of them (each
subfolder with a ``config.json`` and each ``.gguf`` file is one checkpoint, in natural order:
``step2000`` before ``step10000``). Each checkpoint is evaluated at every shots × seed × format,
optionally after finetuning on `finetune_n` training examples (and saved when `keep_finetuned`).
Rows follow the results table (one per metric, with `stderr` and `n_eval`); with a reference text
they carry `pretrain_loss` (nats/token) and `pretrain_bpb` (bits/byte) so `emergence fit/detect`
can read them. Per-example records hold the exact contexts, scores and generations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emergence_laws.errors import InputError


@dataclass(frozen=True)
class EvalRun:
    """What `evaluate_checkpoints` does to each checkpoint (see the module docstring)."""

    shots: tuple[int, ...] = (0,)
    seeds: tuple[int, ...] = (0,)
    limit: int | None = None
    formats: tuple[str, ...] = ("cloze",)
    sampler: str = "query"
    extract: str | None = None
    extract_select: int = 0
    batch_size: int = 16
    device: str = "auto"
    dtype: str = "auto"
    reference: str | None = None
    reference_max_tokens: int = 50_000
    finetune_n: int | None = None
    finetune: dict = field(default_factory=dict)  # FinetuneConfig keyword arguments (method, max_steps, lr, ...)
    keep_finetuned: str | None = None


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


def find_checkpoints(path: str | Path) -> list[Path]:
    """The checkpoints at `path`: itself (a HF folder or a .gguf file) or those inside it (natural order)."""
    p = Path(path).expanduser()
    if p.is_file():
        if p.suffix != ".gguf":
            raise InputError(f"{p}: is a file; give a checkpoint folder (with config.json), a .gguf file, "
                             "or a folder of checkpoints")
        return [p]
    if not p.is_dir():
        raise InputError(f"{p}: no such checkpoint or folder; check the path")
    if (p / "config.json").is_file():
        return [p]
    found = [c for c in p.iterdir() if (c.is_dir() and (c / "config.json").is_file()) or
             (c.is_file() and c.suffix == ".gguf")]
    if not found:
        raise InputError(f"{p}: no checkpoints inside (subfolders with config.json, or .gguf files); "
                         "give a checkpoint folder or a folder of them")
    return sorted(found, key=_natural_key)


def model_name(path: Path) -> str:
    """The `model` column for a checkpoint path: the folder name or the GGUF file's stem."""
    return path.stem if path.suffix == ".gguf" else path.name


def _task(path: str | Path, run: EvalRun, fmt: str):
    from emergence_laws.config import TaskSource
    from emergence_laws.study.grid import load_study_task

    return load_study_task(TaskSource(str(path), extract=run.extract, extract_select=run.extract_select), fmt)


def evaluate_checkpoints(checkpoints: Sequence[Path], task_path: str | Path, run: EvalRun,
                         log: Callable[[str], None] | None = None) -> tuple[list[dict], list[dict]]:
    """(results rows, per-example records) of every checkpoint × shots × seed × format (see module docstring)."""
    import torch

    from emergence_laws.evaluation.evaluate import evaluate_task
    from emergence_laws.models import count_params, load_model, reference_loss
    from emergence_laws.study.jobs import (
        jsonable_record,
        metric_chance,
        training_subset,
    )
    from emergence_laws.study.keys import (
        checkpoint_fingerprint,
        digest,
        task_fingerprint,
    )

    say = log or (lambda msg: None)
    tasks = {fmt: _task(task_path, run, fmt) for fmt in run.formats}
    for t in tasks.values():
        if run.finetune_n is not None and run.finetune_n > len(t.train):
            raise InputError(f"--finetune {run.finetune_n}: the task has only {len(t.train)} training examples")
    rows: list[dict] = []
    examples: list[dict] = []
    for ck in checkpoints:
        name = model_name(ck)
        model, tok = load_model(str(ck), device=run.device, dtype=run.dtype)
        scale: dict[str, Any] = {"params": int(count_params(model))}
        if run.reference is not None:
            ref = reference_loss(model, tok, run.reference, max_tokens=run.reference_max_tokens,
                                 batch_size=run.batch_size)
            scale.update(pretrain_loss=ref.nats_per_token, pretrain_bpb=ref.bits_per_byte,
                         reference_tokens=ref.tokens)
            say(f"{name}: pretraining loss {ref.nats_per_token:.4f} nats/token, {ref.bits_per_byte:.4f} bits/byte "
                f"({ref.tokens} tokens)")
        fp = checkpoint_fingerprint(str(ck))
        for fmt, task in tasks.items():
            for seed in run.seeds:
                evaluated, method, n_train, ft_stats = model, "none", 0, {}
                if run.finetune_n is not None:
                    from emergence_laws.finetuning import FinetuneConfig, finetune

                    cfg = FinetuneConfig(**{**run.finetune, "seed": seed})
                    method, n_train = cfg.method, run.finetune_n
                    save = None
                    if run.keep_finetuned:
                        save = Path(run.keep_finetuned) / f"{name}-{task.name.replace(':', '-')}-{method}-n{n_train}-s{seed}"
                    say(f"{name}: finetuning ({method}) on {n_train} examples, seed {seed}")
                    fresh, _ = load_model(str(ck), device=run.device, dtype=run.dtype)  # reload, don't copy
                    evaluated = finetune(fresh, tok, task, training_subset(task, n_train, seed), cfg,
                                         stats=ft_stats, save_to=save, in_place=True)
                    if save is not None:
                        say(f"{name}: kept the finetuned checkpoint in {save}")
                for shots in run.shots:
                    res = evaluate_task(evaluated, tok, task, shots=shots, seed=seed, batch_size=run.batch_size,
                                        limit=run.limit, sampler=run.sampler)
                    key = "ev-" + digest({"model": fp, "task": task_fingerprint(task, run.limit), "shots": shots,
                                          "seed": seed, "sampler": run.sampler, "n_train": n_train,
                                          "finetune": {**run.finetune, "n": run.finetune_n},
                                          "device": run.device, "dtype": run.dtype})
                    for metric, value in res.metrics.items():
                        lo_hi = res.intervals.get(metric)
                        rows.append({"model": name, "task": task.name, "metric": metric, "value": float(value),
                                     "stderr": res.stderr.get(metric), "n_eval": res.n_eval, "shots": shots,
                                     "seed": seed, "n_train": n_train, "method": method,
                                     "chance": metric_chance(metric, task), "run_key": key, "sampler": run.sampler,
                                     "ci_low": lo_hi[0] if lo_hi else None, "ci_high": lo_hi[1] if lo_hi else None,
                                     "path": str(ck), **scale,
                                     **({"format": fmt} if fmt != "cloze" else {}),
                                     **({"ft_final_loss": ft_stats["final_loss"]} if ft_stats else {})})
                    examples.extend({"run_key": key, "model": name, "task": task.name, "shots": shots, "seed": seed,
                                     "n_train": n_train, **jsonable_record(r)} for r in res.per_example)
                    summary = ", ".join(f"{m} {v:.4g}" for m, v in res.metrics.items())
                    say(f"{name} {task.name} {shots}-shot seed {seed}" + (f" {method} n={n_train}" if n_train else "")
                        + f": {summary} ({res.n_eval} examples, {res.seconds:.1f} s)")
                if evaluated is not model:
                    del evaluated
        del model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return rows, examples


def run_settings(**kwargs: Any) -> EvalRun:
    """An EvalRun from keyword arguments, lists made tuples (for the CLI)."""
    for k in ("shots", "seeds", "formats"):
        if k in kwargs and kwargs[k] is not None:
            kwargs[k] = tuple(kwargs[k])
    return EvalRun(**{k: v for k, v in kwargs.items() if v is not None})


__all__ = ["EvalRun", "evaluate_checkpoints", "find_checkpoints", "model_name", "run_settings"]
