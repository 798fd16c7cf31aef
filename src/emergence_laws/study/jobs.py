"""The one job body: load (or reuse) the checkpoint, measure / evaluate / finetune, return rows.

`emergence run`, `emergence eval`, the demo and the benchmarks all run their jobs through
`run_job(job) -> list[dict]`, a pure function of the job (plus files on disk): it writes nothing;
the driver (`study.runner`) stores the rows. Within a worker process the last checkpoint and task
stay loaded, so consecutive measure/few-shot jobs of one checkpoint load it once; a finetuning job
trains the loaded model in place (no second copy of the weights) and keeps the finetuned model
while the next jobs evaluate the same finetuning (other `shots`); the job after that reloads.

Rows of few-shot/finetune jobs are results-table rows, one per metric, with the columns of
`ROW_COLUMNS` (`evaluation_rows` builds them; `run_key` = the job key); when the job keeps its
per-example records (`EvalSettings.keep_examples`), the first row carries them under
``_examples`` and the driver stores them in the store's examples table.
A measure job returns one dict: ``{"pretrain_loss": nats/token | None, "params": int, ...}``.
"""

from __future__ import annotations

import math
import random
import shutil
import time
from pathlib import Path
from typing import Any

from emergence_laws.errors import InputError
from emergence_laws.metrics import chance_of
from emergence_laws.study.grid import Job

_MODEL: dict[tuple, tuple[Any, Any]] = {}
_TASK: dict[tuple, Any] = {}
_TUNED: dict[str, tuple[Any, Any, dict[str, Any]]] = {}  # finetune key -> (model, tokenizer, stats)

#: The columns of every evaluation row, in order: the job body writes the first group, the runner adds
#: the checkpoint's scale (`study.runner.checkpoint_scale`) and the job's time. A column may be empty
#: (no interval for a log-likelihood, no `ft_*` for a few-shot job); units in `results.schema.COLUMN_DOCS`.
ROW_COLUMNS: tuple[str, ...] = (
    "model", "task", "metric", "value", "stderr", "ci_low", "ci_high", "n_eval", "chance",
    "n_train", "shots", "seed", "method", "sampler", "format", "family", "path",
    "ft_steps", "ft_tokens", "ft_final_loss", "ft_checkpoint", "run_key",
    "pretrain_loss", "pretrain_bpb", "params", "tokens", "flops", "reference_tokens", "job_seconds",
)


def _load_checkpoint(job: Job, *, to_train: bool = False) -> tuple[Any, Any]:
    """The job's (model, tokenizer), cached per worker. `to_train=True` hands the model over for
    in-place training: it leaves the cache (the next job reloads it from disk) instead of being copied."""
    _TUNED.clear()  # a finetuned model is kept only for the jobs that evaluate it
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
    if ck.revision:  # resolve the revision to a local snapshot folder (the HF cache works offline)
        from huggingface_hub import snapshot_download

        try:
            source = snapshot_download(ck.path, revision=ck.revision)
        except Exception as exc:  # offline, unknown repo or revision, ...
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InputError(f"{ck.path}@{ck.revision}: cannot fetch this hub checkpoint ({first}); "
                             "run where the hub is reachable (or the HF cache has it) "
                             "or give a local folder") from exc
    return load_model(source, device=ev.device, dtype=ev.dtype)


def _load_task(job: Job) -> Any:
    ident = (job.task, job.format)
    if ident not in _TASK:
        from emergence_laws.study.grid import load_study_task

        _TASK.clear()
        _TASK[ident] = load_study_task(job.task, job.format)
    return _TASK[ident]


def clear_caches() -> None:
    """Forget the cached checkpoint, finetuned model and task of this process."""
    _MODEL.clear()
    _TASK.clear()
    _TUNED.clear()


def training_subset(task: Any, n_train: int, seed: int) -> list:
    """The `n_train` finetuning examples of subset `seed`: a seeded sample of the task's train pool."""
    pool = list(task.train)
    return random.Random(f"subset:{seed}").sample(pool, n_train)


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


def _save_finetuned(model: Any, tok: Any, folder: str) -> None:
    """Save a finetuned model (and its tokenizer) into `folder` atomically: written beside it, then renamed;
    when another worker saved the same finetuning first, its copy stays."""
    final = Path(folder)
    if (final / "config.json").is_file():
        return
    partial = final.with_name(f"{final.name}.partial-{id(model)}")
    partial.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(partial)
    tok.save_pretrained(partial)
    try:
        partial.rename(final)
    except OSError:  # saved meanwhile by another worker
        shutil.rmtree(partial, ignore_errors=True)


def _finetuned(job: Job, task: Any) -> tuple[Any, Any, dict[str, Any]]:
    """The job's finetuned (model, tokenizer, training stats): trained now, or kept from the previous job
    when that one evaluated the same finetuning (same `finetune_key`, other shots)."""
    if job.finetune_key in _TUNED:
        return _TUNED[job.finetune_key]
    from emergence_laws.finetuning import finetune

    model, tok = _load_checkpoint(job, to_train=True)  # clears the previous finetuned model first
    stats: dict[str, Any] = {}
    examples = training_subset(task, job.n_train, job.seed)
    model = finetune(model, tok, task, examples, job.finetune_config(), stats=stats,
                     in_place=True)  # no copy: the checkpoint is reloaded by the next job that needs it
    if job.save_to:
        _save_finetuned(model, tok, job.save_to)
        stats["checkpoint"] = job.save_to
    _TUNED[job.finetune_key] = (model, tok, stats)
    return _TUNED[job.finetune_key]


def evaluation_rows(job: Job, task: Any, result: Any, tuned: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The results-table rows of one evaluation (one per metric): the job's identity, the metric with its
    standard error and (right/wrong metrics) Wilson 95% interval, and the finetuning's stats (`tuned`)."""
    ck = job.checkpoint
    tuned = tuned or {}
    base = {"model": ck.model_id, "task": task.name, "n_eval": int(result.n_eval), "n_train": job.n_train,
            "shots": job.shots, "seed": job.seed, "method": job.method, "sampler": job.sampler,
            "format": job.format if job.format != "cloze" else None, "family": ck.family, "path": ck.path,
            "ft_steps": tuned.get("steps"), "ft_tokens": tuned.get("tokens"),
            "ft_final_loss": _finite(tuned.get("final_loss")), "ft_checkpoint": tuned.get("checkpoint"),
            "run_key": job.key}
    rows = []
    for metric, value in result.metrics.items():
        lo_hi = result.intervals.get(metric)
        rows.append({**base, "metric": metric, "value": float(value), "stderr": _finite(result.stderr.get(metric)),
                     "ci_low": lo_hi[0] if lo_hi else None, "ci_high": lo_hi[1] if lo_hi else None,
                     "chance": chance_of(metric, task.chance)})
    return rows


def run_eval(job: Job) -> list[dict[str, Any]]:
    """Few-shot evaluation, or finetune on `n_train` examples then evaluate; one row per metric."""
    from emergence_laws.evaluation import evaluate_task

    task = _load_task(job)
    if job.kind == "finetune":
        model, tok, tuned = _finetuned(job, task)
    else:
        (model, tok), tuned = _load_checkpoint(job), None
    result = evaluate_task(model, tok, task, shots=job.shots, seed=job.seed, batch_size=job.eval.batch_size,
                           limit=job.task.limit, sampler=job.sampler)
    del model
    rows = evaluation_rows(job, task, result, tuned)
    if rows and job.eval.keeps_examples(result.n_eval):
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
