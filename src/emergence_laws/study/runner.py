"""Run a study's job grid: measure each checkpoint, then few-shot and finetuning jobs; resumable.

The driver is the only writer. Each job's rows go into the SQLite store in one transaction as the
job finishes, so a crash or ``kill -9`` loses at most the jobs in flight; with ``resume=True``
(the default) jobs whose key is already stored are skipped.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emergence_laws.study.config import Checkpoint, StudyConfig
from emergence_laws.errors import EmergenceError
from emergence_laws.progress import Progress, show_progress
from emergence_laws.study.executors import Executor, JobOutcome, make_executor
from emergence_laws.study.grid import Grid, Job, build_grid, load_study_task
from emergence_laws.study.jobs import ROW_COLUMNS
from emergence_laws.study.measures import MeasureCache

SCALE_COLUMNS = ("pretrain_loss", "pretrain_bpb", "params", "tokens", "flops")


class StudyFailedError(EmergenceError):
    """Some jobs failed; the others' rows are stored. `.failures` lists the outcomes, `.frame` the table."""

    exit_code = 1

    def __init__(self, message: str, failures: list[JobOutcome], frame: Any = None) -> None:
        super().__init__(message)
        self.failures = failures
        self.frame = frame


def checkpoint_scale(ck: Checkpoint, measured: dict[str, Any] | None) -> dict[str, Any]:
    """Scale columns of a checkpoint's rows: pretrain_loss (nats/token), pretrain_bpb (bits/byte), params,
    tokens, flops (6·N·D), and reference_tokens (the reference tokens the loss was measured on)."""
    measured = measured or {}
    params = ck.params if ck.params is not None else measured.get("params")
    tokens = ck.pretrain_tokens
    flops = ck.flops
    if flops is None and params is not None and tokens is not None:
        flops = 6.0 * float(params) * float(tokens)
    return {"pretrain_loss": measured.get("pretrain_loss"), "pretrain_bpb": measured.get("pretrain_bpb"),
            "params": params, "tokens": tokens, "flops": flops, "reference_tokens": measured.get("reference_tokens")}


def _open_store(store: Any, cfg: StudyConfig) -> tuple[Any, bool]:
    from emergence_laws.results import ResultsStore

    if store is None:
        return ResultsStore(cfg.store_path), True
    if isinstance(store, (str, Path)):
        return ResultsStore(store), True
    return store, False


def _same(a: Any, b: Any) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return False
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)


def _refresh_scale(store: Any, grid: Grid, scale: dict[str, dict[str, Any]]) -> int:
    """Rewrite stored rows whose scale columns no longer match the checkpoint's current measurement
    (e.g. after the reference text changed). Returns the number of rows rewritten."""
    keys = {j.key for j in grid.evals}
    df = store.to_frame()
    if df.empty or "run_key" not in df:
        return 0
    df = df[df["run_key"].isin(keys)]
    stale = []
    for rec in df.to_dict("records"):
        want = scale.get(rec["model"])
        if want and any(not _same(rec.get(c), want[c]) for c in SCALE_COLUMNS):
            stale.append({**{k: v for k, v in rec.items() if not (isinstance(v, float) and math.isnan(v))}, **want})
    if stale:
        store.insert(stale, replace=True)
    return len(stale)


def run_study(cfg: StudyConfig, *, store: Any = None, executor: Executor | str | None = None, resume: bool = True,
              progress: bool = True, job_fn: Callable[[Job], list[dict]] | None = None,
              task: Any = None, failure_log: str | Path | None = None) -> Any:
    """Run every job of the study not already in the store; return the study's results table.

    `store`: a ResultsStore or a path (default `cfg.store_path`). `executor`: an executor, 'local',
    'ray' or None (the config's). `resume=False` recomputes every job and replaces its rows.
    `job_fn` replaces the job body (default `run_job`); `task`: the TaskSpec, already loaded and
    checked (default: load it from ``cfg.task`` now, so a broken task fails before any job).
    Returns a pandas DataFrame (one row per evaluation) with run statistics in ``df.attrs["study"]``.
    Raises StudyFailedError after the grid when some jobs failed (their tracebacks go to
    ``NAME.failures.log`` beside the store ``NAME.db``); finished jobs are stored either way.
    """
    from emergence_laws.study.jobs import run_job

    cfg.validate()
    t_start = time.perf_counter()
    if task is None:  # render the task once here (sandboxed): a broken template fails now, not in every job
        load_study_task(cfg.task)
    grid = build_grid(cfg)
    st, own_store = _open_store(store, cfg)
    measures = MeasureCache(st.path)
    ex = make_executor(executor if executor is not None else cfg.executor)
    own_executor = executor is None or isinstance(executor, str)
    fn = job_fn or run_job

    done_eval = st.run_keys() if resume else set()
    done_measure = measures.keys() if resume else set()
    # run order: each checkpoint's measure job, then its evaluations (a worker loads it once)
    order = [j for ck in cfg.ladder for j in grid.jobs
             if j.checkpoint == ck and j.key not in (done_measure if j.kind == "measure" else done_eval)]
    skipped = len(grid) - len(order)
    scale: dict[str, dict[str, Any]] = {}
    for ck in cfg.ladder:
        key = grid.measure_for(ck).key
        if key in done_measure:
            scale[ck.model_id] = checkpoint_scale(ck, measures.get(key))
    failed_models: set[str] = set()
    waiting: dict[str, list[JobOutcome]] = {}  # finished evaluations whose checkpoint is still being measured
    failures: list[JobOutcome] = []
    ran = 0
    job_seconds = 0.0
    bar = Progress(len(grid), cfg.name, "job", initial=skipped, enabled=progress, delay=0.0, always_finish=True)
    # per-batch/step progress inside jobs when they run in this process (pool workers stay quiet)
    inner = progress and getattr(ex, "name", "") == "local" and getattr(ex, "workers", 0) == 1
    job_progress = contextlib.ExitStack()
    job_progress.enter_context(show_progress(inner))

    def feed():  # lazily, so jobs of a checkpoint that failed to measure are dropped, not run
        for job in order:
            mid = job.checkpoint.model_id
            if job.kind != "measure" and mid in failed_models:
                failures.append(JobOutcome(job, None, f"skipped: measuring {mid} failed"))
                bar.update(1)
                continue
            yield job

    def write(out: JobOutcome) -> None:
        nonlocal ran, job_seconds
        rows = [{**r, **scale[out.job.checkpoint.model_id], "run_key": out.job.key} for r in (out.rows or [])]
        if not rows:
            failures.append(JobOutcome(out.job, None, "job returned no rows"))
            return
        examples = [e for r in rows for e in (r.pop("_examples", None) or [])]
        # one transaction per job: its rows and per-example records land together
        st.insert(rows, replace=not resume, examples={out.job.key: examples} if examples else None)
        ran += 1
        job_seconds += out.seconds

    try:
        for out in ex.run(feed(), fn):
            mid = out.job.checkpoint.model_id
            if out.job.kind == "measure":
                if out.ok and out.rows:
                    measures.put(out.job.key, {**out.rows[0], "model": mid})
                    scale[mid] = checkpoint_scale(out.job.checkpoint, measures.get(out.job.key))
                    ran += 1
                    job_seconds += out.seconds
                    for w in waiting.pop(mid, []):
                        write(w)
                else:
                    failures.append(out if not out.ok else JobOutcome(out.job, None, "measure job returned no rows"))
                    failed_models.add(mid)
                    for w in waiting.pop(mid, []):
                        failures.append(JobOutcome(w.job, None, f"dropped: measuring {mid} failed"))
            elif not out.ok:
                failures.append(out)
            elif mid in scale:
                write(out)
            elif mid in failed_models:
                failures.append(JobOutcome(out.job, None, f"dropped: measuring {mid} failed"))
            else:
                waiting.setdefault(mid, []).append(out)
            bar.update(1)
        if resume and done_eval:
            _refresh_scale(st, grid, scale)
    finally:
        job_progress.close()
        bar.close()
        if own_executor:
            ex.close()
        measures.close()

    keys = {j.key for j in grid.evals}
    df = st.to_frame()
    if not df.empty:
        df = df[df["run_key"].isin(keys)].reset_index(drop=True)
    df = df.reindex(columns=[*ROW_COLUMNS, *(c for c in df.columns if c not in ROW_COLUMNS)])  # every column, always
    wall = time.perf_counter() - t_start
    df.attrs["study"] = {"jobs": len(grid), "skipped": skipped, "ran": ran, "failed": len(failures),
                         "seconds": round(wall, 3), "job_seconds": round(job_seconds, 3), "store": str(st.path)}
    if own_store:
        st.close()
    if failures:
        log = Path(failure_log) if failure_log else st.path.with_suffix(".failures.log")
        _write_failures(log, failures)
        first = failures[0]
        raise StudyFailedError(
            f"{len(failures)} of {len(grid)} jobs failed (first: {first.job.describe()}: {first.error}); "
            f"finished jobs are stored in {st.path}; details in {log}; fix the cause and rerun to retry them",
            failures, df)
    return df


def _write_failures(path: Path, failures: list[JobOutcome]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')}: {len(failures)} failed jobs\n")
        for f in failures:
            fh.write(f"--- {f.job.key} {f.job.describe()} [{f.worker}]: {f.error}\n")
            if f.detail:
                fh.write(f.detail.rstrip() + "\n")
