"""Executors run jobs and yield their outcomes as they finish; the driver alone writes results.

    executor.run(jobs, fn) -> Iterator[JobOutcome]     # fn(job) -> list[dict]

`jobs` is consumed lazily (an executor takes the next job only when it has a free slot), so the
driver can drop jobs whose checkpoint failed to load while the grid runs.

`local`: in this process (workers=1) or a spawn process pool. `ray`: one Ray task per job with
resource requests and retries (ray is imported only when this executor is chosen).
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from emergence_laws.study.config import ExecutorSettings
from emergence_laws.errors import ConfigError, EmergenceError

JobFn = Callable[[Any], list[dict]]


@dataclass
class JobOutcome:
    """What came back from one job: its rows, or an error message (one line) and its traceback."""

    job: Any
    rows: list[dict] | None
    error: str | None = None
    detail: str | None = None
    seconds: float = 0.0
    worker: str = ""
    user_error: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


class Executor(Protocol):
    name: str

    def run(self, jobs: Iterable[Any], fn: JobFn) -> Iterator[JobOutcome]: ...

    def close(self) -> None: ...


def call_job(fn: JobFn, job: Any) -> tuple[list[dict] | None, str | None, str | None, float, str, bool]:
    """Run `fn(job)` and catch its failure: (rows, error, traceback, seconds, worker id, user error?)."""
    t0 = time.perf_counter()
    worker = f"{os.uname().nodename}:{os.getpid()}"
    try:
        rows = fn(job)
        return list(rows), None, None, time.perf_counter() - t0, worker, False
    except EmergenceError as exc:
        return None, str(exc), traceback.format_exc(), time.perf_counter() - t0, worker, True
    except Exception as exc:  # noqa: BLE001 - a job's failure must not stop the grid (logged with traceback)
        msg = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        return None, msg, traceback.format_exc(), time.perf_counter() - t0, worker, False


def outcome(job: Any, result: tuple) -> JobOutcome:
    rows, error, detail, seconds, worker, user = result
    return JobOutcome(job, rows, error, detail, seconds, worker, user)


def make_executor(spec: ExecutorSettings | str | Executor | None = None) -> Executor:
    """An executor from settings, a name ('local' | 'ray'), or pass an executor through."""
    if spec is None:
        spec = ExecutorSettings()
    if isinstance(spec, str):
        spec = ExecutorSettings(kind=spec)
    if not isinstance(spec, ExecutorSettings):
        return spec
    if spec.kind == "local":
        from emergence_laws.study.executors.local import LocalExecutor

        return LocalExecutor(workers=spec.workers, threads_per_worker=spec.threads_per_worker)
    if spec.kind == "ray":
        from emergence_laws.study.executors.ray_executor import RayExecutor

        return RayExecutor(num_cpus=spec.num_cpus, num_gpus=spec.num_gpus, max_retries=spec.max_retries,
                           address=spec.address, threads=spec.threads_per_worker)
    raise ConfigError(f"executor.kind: {spec.kind!r}; use local or ray")
