"""Local executor: jobs in this process, one after another, or in a pool of spawned processes."""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from emergence_laws.study.executors.base import JobFn, JobOutcome, call_job, outcome
from emergence_laws.threads import resolve_threads, thread_env, torch_threads

_PARENT: int | None = None

#: seconds between a pool worker's checks that the driver is still alive
PARENT_CHECK_S = 0.5


def _exit_when_orphaned(parent: int) -> None:
    """Exit this worker as soon as the driver `parent` is gone (killed with -9, say): no orphans that
    keep computing, and no orphaned resource tracker (it exits once every worker has)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


def _init_pool_worker(threads: int, parent: int) -> None:
    """The pool's initializer: thread settings, then a watch that exits when the driver dies."""
    _init_worker(threads, parent)
    if parent != os.getpid():  # in a child of `parent`, as a pool worker is
        threading.Thread(target=_exit_when_orphaned, args=(parent,), name="parent-watch", daemon=True).start()


def _init_worker(threads: int, parent: int) -> None:
    global _PARENT
    _PARENT = parent
    os.environ.update(thread_env(threads))  # read by torch when a job first imports it
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _pool_call(fn: JobFn, job: Any) -> tuple:
    if _PARENT is not None and os.getppid() != _PARENT:  # the driver died: do not start new work
        os._exit(1)
    return call_job(fn, job)


class LocalExecutor:
    """`workers=1`: run each job in this process (checkpoints stay loaded between jobs).
    `workers>1`: a spawn process pool; at most `workers` jobs in flight, in the given order, so each
    worker mostly sees consecutive jobs of one checkpoint. `threads_per_worker` sets the torch threads
    of each worker, this process included when `workers=1` (default: `resolve_threads`, i.e.
    ``$EMERGENCE_THREADS`` or the available CPUs // workers)."""

    name = "local"

    def __init__(self, workers: int = 1, threads_per_worker: int | None = None) -> None:
        self.workers = max(1, int(workers))
        self.threads = threads_per_worker
        self._pool: ProcessPoolExecutor | None = None

    def run(self, jobs: Iterable[Any], fn: JobFn) -> Iterator[JobOutcome]:
        threads = resolve_threads(self.threads, workers=self.workers)
        if self.workers == 1:
            with torch_threads(threads):
                for job in jobs:
                    yield outcome(job, call_job(fn, job))
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                             initializer=_init_pool_worker, initargs=(threads, os.getpid()))
        queue = iter(jobs)  # pulled lazily: the caller may drop jobs while earlier ones run
        exhausted = False
        in_flight: dict[Future, Any] = {}
        while not exhausted or in_flight:
            while not exhausted and len(in_flight) < self.workers:
                job = next(queue, None)
                if job is None:
                    exhausted = True
                else:
                    in_flight[self._pool.submit(_pool_call, fn, job)] = job
            if not in_flight:
                break
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for fut in done:
                job = in_flight.pop(fut)
                try:
                    yield outcome(job, fut.result())
                except Exception as exc:  # noqa: BLE001 - the worker process died (e.g. out of memory)
                    yield JobOutcome(job, None, f"worker process failed: {type(exc).__name__}: {exc}")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
