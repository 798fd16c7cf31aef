"""What executors share: the job outcome, the executor protocol, and running one job with its failure caught."""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from emergence_laws.errors import EmergenceError

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
