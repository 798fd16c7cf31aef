"""The body of one job: load (or reuse) the checkpoint, measure / evaluate / finetune, return rows.

`run_job(job) -> list[dict]` is a pure function of the job (plus files on disk): it writes
nothing. The driver stores the rows. Within a worker process the last checkpoint and task stay
loaded, so consecutive measure/few-shot jobs of one checkpoint load it once; a finetuning job
trains the loaded model in place (no second copy of the weights) and the next job reloads it.

Rows of few-shot/finetune jobs are results-table rows (one per metric; `run_key` = the job key); when
the job keeps its per-example records (see `keeps_examples`), the first row carries them under
``_examples`` and the driver stores them in the store's examples table.
A measure job returns one dict: ``{"pretrain_loss": nats/token | None, "params": int, ...}``.
"""

from __future__ import annotations

import inspect
import math
import random
import time
from typing import Any

from emergence_laws.errors import InputError
from emergence_laws.study.grid import Job

_MODEL: dict[tuple, tuple[Any, Any]] = {}
_TASK: dict[tuple, Any] = {}

#: Metrics whose random-guess value is the task's chance accuracy.
_ACCURACY_METRICS = ("accuracy", "acc", "acc_norm")


def _load_checkpoint(job: Job, *, to_train: bool = False) -> tuple[Any, Any]:
    """The job's (model, tokenizer), cached per worker. `to_train=True` hands the model over for
    in-place training: it leaves the cache (the next job reloads it from disk) instead of being copied."""
    ck, ev = job.checkpoint, job.eval
    ident = (ck.path, ck.revision, ev.device, ev.dtype)
    if to_train:
        return _MODEL.pop(ident) if ident in _MODEL else _load_fresh(job)
    if ident not in _MODEL:
        _MODEL.clear()  # keep one checkpoint in memory per worker
        _MODEL[ident] = _load_fresh(job)
    return _MODEL[ident]


def _load_fresh(job: Job) -> tuple[Any, Any]:
    """Load the job's checkpoint from disk (or the hub cache), never from the worker's cache."""
    ck, ev = job.checkpoint, job.eval
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
    return load_model(source, **kwargs)


def _load_task(job: Job) -> Any:
    ident = (job.task, job.format)
    if ident not in _TASK:
        from emergence_laws.study.grid import load_study_task

        _TASK.clear()
        _TASK[ident] = load_study_task(job.task, job.format)
    return _TASK[ident]


def clear_caches() -> None:
    """Forget the cached checkpoint and task of this process."""
    _MODEL.clear()
    _TASK.clear()


def training_subset(task: Any, n_train: int, seed: int) -> list:
    """The `n_train` finetuning examples of subset `seed`: a seeded sample of the task's train pool."""
    pool = list(task.train)
    return random.Random(f"subset:{seed}").sample(pool, n_train)


def metric_chance(metric: str, task: Any) -> float | None:
    if metric in _ACCURACY_METRICS:
        return float(task.chance)
    if metric.startswith("exact_match"):
        return 0.0
    return None


def keeps_examples(job: Job, n_eval: int) -> bool:
    """Whether the job's per-example records are stored (`EvalSettings.keep_examples`, None = small jobs)."""
    from emergence_laws.config import KEEP_EXAMPLES_UP_TO

    keep = getattr(job.eval, "keep_examples", None)
    return n_eval <= KEEP_EXAMPLES_UP_TO if keep is None else bool(keep)


def _finite(x: Any) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def run_measure(job: Job) -> list[dict[str, Any]]:
    """Parameter count and pretraining loss of a checkpoint on the reference text: nats/token and bits
    per byte, with the tokens and bytes actually scored."""
    from emergence_laws.models import count_params, reference_loss

    model, tok = _load_checkpoint(job)
    record: dict[str, Any] = {"pretrain_loss": None, "pretrain_bpb": None, "reference_tokens": None,
                              "reference_bytes": None}
    if job.reference is not None:
        ref = job.reference
        measured = reference_loss(model, tok, ref.path, seq_len=ref.seq_len, max_tokens=ref.max_tokens,
                                  batch_size=job.eval.batch_size)
        record = {"pretrain_loss": float(measured.nats_per_token), "pretrain_bpb": float(measured.bits_per_byte),
                  "reference_tokens": measured.tokens, "reference_bytes": measured.bytes}
    return [{"job_key": job.key, "model": job.checkpoint.model_id, "params": int(count_params(model)), **record}]


def run_eval(job: Job) -> list[dict[str, Any]]:
    """Few-shot evaluation, or finetune on `n_train` examples then evaluate; one row per metric."""
    from emergence_laws.evaluation import evaluate_task

    model, tok = _load_checkpoint(job, to_train=job.kind == "finetune")
    task = _load_task(job)
    method = "none"
    stats: dict[str, Any] = {}
    if job.kind == "finetune":
        from emergence_laws.finetuning import FinetuneConfig, finetune

        ft = job.finetune
        assert ft is not None
        method = ft.method
        fcfg = FinetuneConfig(method=ft.method, lora_rank=ft.lora_rank, lr=ft.lr, epochs=ft.epochs,
                              max_steps=ft.max_steps, batch_size=ft.batch_size, seed=job.seed,
                              shots=ft.train_shots, dtype=getattr(ft, "dtype", "auto"))
        examples = training_subset(task, job.n_train, job.seed)
        model = finetune(model, tok, task, examples, fcfg, stats=stats, in_place=True,  # no copy: reloaded next time
                         save_to=job.save_to if ft.keep_checkpoints else None)
    result = evaluate_task(model, tok, task, shots=job.shots, seed=job.seed, batch_size=job.eval.batch_size,
                           limit=job.task.limit, sampler=job.sampler)
    del model
    ck = job.checkpoint
    rows = []
    for metric, value in result.metrics.items():
        rows.append({
            "model": ck.model_id, "task": task.name, "metric": metric, "value": float(value),
            "n_train": job.n_train, "shots": job.shots, "seed": job.seed, "method": method,
            "chance": metric_chance(metric, task), "n_eval": int(result.n_eval), "family": ck.family,
            "stderr": _finite(result.stderr.get(metric)) if hasattr(result, "stderr") else None,
            "run_key": job.key,
            **({f"ft_{k}": stats[k] for k in ("steps", "tokens", "final_loss") if k in stats}),
            **({"format": job.format} if job.format != "cloze" else {}),
        })
    if rows and keeps_examples(job, result.n_eval):
        rows[0]["_examples"] = [jsonable_record(r) for r in result.per_example]
    return rows


def jsonable_record(record: dict[str, Any]) -> dict[str, Any]:
    """A per-example record with numpy scalars and tuples made plain (it is stored as JSON)."""
    out = {}
    for k, v in record.items():
        if hasattr(v, "item") and not isinstance(v, (list, dict, str)):
            v = v.item()
        elif isinstance(v, tuple):
            v = list(v)
        out[k] = v
    return out


def run_job(job: Job) -> list[dict[str, Any]]:
    """Run one job and return its rows (see module docstring). Writes nothing."""
    t0 = time.perf_counter()
    rows = run_measure(job) if job.kind == "measure" else run_eval(job)
    seconds = time.perf_counter() - t0
    for r in rows:
        r["job_seconds"] = round(seconds, 3)
    return rows
