"""The body of one job: load (or reuse) the checkpoint, measure / evaluate / finetune, return rows.

`run_job(job) -> list[dict]` is a pure function of the job (plus files on disk): it writes
nothing. The driver stores the rows. Within a worker process the last checkpoint and task stay
loaded, so consecutive jobs of one checkpoint load it once; finetuning works on a copy.

Rows of few-shot/finetune jobs are results-table rows (one per metric; `run_key` = the job key).
A measure job returns one dict: ``{"pretrain_loss": nats/token | None, "params": int, ...}``.
"""

from __future__ import annotations

import inspect
import random
import time
from typing import Any

from emergence_laws.errors import InputError
from emergence_laws.jsonutil import finite_or_none
from emergence_laws.study.grid import Job

_MODEL: dict[tuple, tuple[Any, Any]] = {}
_TASK: dict[tuple, Any] = {}

#: Metrics whose random-guess value is the task's chance accuracy.
_ACCURACY_METRICS = ("accuracy", "acc", "acc_norm")


def _load_checkpoint(job: Job) -> tuple[Any, Any]:
    ck, ev = job.checkpoint, job.eval
    ident = (ck.path, ck.revision, ev.device, ev.dtype)
    if ident not in _MODEL:
        _MODEL.clear()  # keep one checkpoint in memory per worker
        from transformers.utils import logging as hf_logging

        from emergence_laws.models import load_model

        hf_logging.disable_progress_bar()  # the grid has its own progress bar

        source = ck.path
        kwargs: dict[str, Any] = {"device": ev.device, "dtype": ev.dtype}
        if ck.revision:
            if "revision" in inspect.signature(load_model).parameters:
                kwargs["revision"] = ck.revision
            else:  # resolve the revision to a local snapshot folder (the HF cache works offline)
                from huggingface_hub import snapshot_download

                try:
                    source = snapshot_download(ck.path, revision=ck.revision)
                except Exception as exc:  # offline, unknown repo or revision, ...
                    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    raise InputError(f"{ck.path}@{ck.revision}: cannot fetch this hub checkpoint ({first}); "
                                     "run where the hub is reachable (or the HF cache has it) "
                                     "or give a local folder") from exc
        _MODEL[ident] = load_model(source, **kwargs)
    return _MODEL[ident]


def _load_task(job: Job) -> Any:
    ident = (job.task.path, job.task.name)
    if ident not in _TASK:
        from emergence_laws.study.grid import load_study_task

        _TASK.clear()
        _TASK[ident] = load_study_task(job.task)
    return _TASK[ident]


def clear_caches() -> None:
    """Forget the cached checkpoint and task of this process."""
    _MODEL.clear()
    _TASK.clear()


def training_subset(task: Any, n_train: int, seed: int) -> list:
    """The `n_train` finetuning examples of subset `seed`: a seeded sample of the task's train pool."""
    pool = list(task.train)
    return random.Random(f"subset:{seed}").sample(pool, n_train)


def _metric_chance(metric: str, task: Any) -> float | None:
    if metric in _ACCURACY_METRICS:
        return float(task.chance)
    if metric == "exact_match":
        return 0.0
    return None


def run_measure(job: Job) -> list[dict[str, Any]]:
    """Parameter count and pretraining loss (nats/token on the reference text) of a checkpoint."""
    from emergence_laws.models import count_params, pretraining_loss

    model, tok = _load_checkpoint(job)
    loss = None
    n_ref = None
    if job.reference is not None:
        ref = job.reference
        kwargs: dict[str, Any] = {"seq_len": ref.seq_len, "max_tokens": ref.max_tokens}
        if "batch_size" in inspect.signature(pretraining_loss).parameters:
            kwargs["batch_size"] = job.eval.batch_size
        loss = float(pretraining_loss(model, tok, ref.path, **kwargs))
        n_ref = ref.max_tokens
    return [{"job_key": job.key, "model": job.checkpoint.model_id, "pretrain_loss": loss,
             "params": int(count_params(model)), "reference_tokens": n_ref}]


def run_eval(job: Job) -> list[dict[str, Any]]:
    """Few-shot evaluation, or finetune on `n_train` examples then evaluate; one row per metric."""
    from emergence_laws.evaluation import evaluate_task

    model, tok = _load_checkpoint(job)
    task = _load_task(job)
    method = "none"
    stats: dict[str, Any] = {}
    if job.kind == "finetune":
        from emergence_laws.finetuning import FinetuneConfig, finetune

        ft = job.finetune
        assert ft is not None
        method = ft.method
        fcfg = FinetuneConfig(method=ft.method, lora_rank=ft.lora_rank, lr=ft.lr, epochs=ft.epochs,
                              max_steps=ft.max_steps, batch_size=ft.batch_size, seed=job.seed)
        examples = training_subset(task, job.n_train, job.seed)
        model = finetune(model, tok, task, examples, fcfg, stats=stats)  # trains a copy
    result = evaluate_task(model, tok, task, shots=job.shots, seed=job.seed, batch_size=job.eval.batch_size,
                           limit=job.task.limit)
    del model
    ck = job.checkpoint
    rows = []
    for metric, value in result.metrics.items():
        rows.append({
            "model": ck.model_id, "task": task.name, "metric": metric, "value": float(value),
            "n_train": job.n_train, "shots": job.shots, "seed": job.seed, "method": method,
            "chance": _metric_chance(metric, task), "n_eval": int(result.n_eval), "family": ck.family,
            "stderr": finite_or_none(result.stderr.get(metric)) if hasattr(result, "stderr") else None,
            "run_key": job.key,
            **({f"ft_{k}": stats[k] for k in ("steps", "tokens", "final_loss") if k in stats}),
        })
    return rows


def run_job(job: Job) -> list[dict[str, Any]]:
    """Run one job and return its rows (see module docstring). Writes nothing."""
    t0 = time.perf_counter()
    rows = run_measure(job) if job.kind == "measure" else run_eval(job)
    seconds = time.perf_counter() - t0
    for r in rows:
        r["job_seconds"] = round(seconds, 3)
    return rows
