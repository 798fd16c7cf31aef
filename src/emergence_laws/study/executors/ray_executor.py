"""Ray executor: each job is a Ray task with CPU/GPU requests and retries; the driver writes results.

`ray` is imported here only, when this executor is chosen (install the `[ray]` extra).
Retries (`max_retries`) cover lost workers and nodes; a job that raises is reported, not retried.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from emergence_laws.errors import ConfigError
from emergence_laws.study.executors.base import JobFn, JobOutcome, call_job, outcome


def _call_with_threads(threads: int, fn: JobFn, job: Any) -> tuple:
    """`call_job` with the task's torch threads set first (Ray reuses worker processes)."""
    from emergence_laws.threads import set_torch_threads

    set_torch_threads(threads)
    return call_job(fn, job)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("executor.kind: ray needs the ray package; pip install 'emergence-laws[ray]' "
                          "or use executor kind local") from None
    return ray


class RayExecutor:
    """Jobs as Ray tasks. Connects to `address` (e.g. 'auto' or 'ray://host:10001'); with no address
    and no Ray initialised in this process, starts a local Ray instance and stops it on close.
    Each task runs with `threads` torch threads (default: ``$EMERGENCE_THREADS``, else the task's
    `num_cpus` rounded down, at least 1)."""

    name = "ray"

    def __init__(self, num_cpus: float = 1.0, num_gpus: float = 0.0, max_retries: int = 2,
                 address: str | None = None, max_in_flight: int | None = None, threads: int | None = None) -> None:
        import os

        from emergence_laws.threads import ENV_VAR, resolve_threads

        self.num_cpus = num_cpus
        if threads is None and not os.environ.get(ENV_VAR, "").strip():
            threads = max(1, int(num_cpus))
        self.threads = resolve_threads(threads)
        self.num_gpus = num_gpus
        self.max_retries = max_retries
        self.address = address
        self.max_in_flight = max_in_flight
        self._owns_ray = False

    def _ensure_ray(self) -> Any:
        ray = _import_ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         ignore_reinit_error=True)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise ConfigError(f"executor.address: cannot connect to Ray at {self.address!r} ({exc}); "
                                  "start a cluster with `ray start --head` or leave address empty") from None
            self._owns_ray = True
        return ray

    def run(self, jobs: Iterable[Any], fn: JobFn) -> Iterator[JobOutcome]:
        queue = iter(jobs)  # pulled lazily: the caller may drop jobs while earlier ones run
        first = next(queue, None)
        if first is None:
            return
        ray = self._ensure_ray()
        remote = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_retries=self.max_retries,
                            retry_exceptions=False)(_call_with_threads)
        fn_ref = ray.put(fn)
        cluster_cpus = float(ray.cluster_resources().get("CPU", 1.0))
        limit = self.max_in_flight or max(2, int(2 * cluster_cpus / max(self.num_cpus, 1e-3)))
        in_flight: dict[Any, Any] = {remote.remote(self.threads, fn_ref, first): first}
        exhausted = False
        while not exhausted or in_flight:
            while not exhausted and len(in_flight) < limit:
                job = next(queue, None)
                if job is None:
                    exhausted = True
                else:
                    in_flight[remote.remote(self.threads, fn_ref, job)] = job
            if not in_flight:
                break
            done, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in done:
                job = in_flight.pop(ref)
                try:
                    yield outcome(job, ray.get(ref))
                except Exception as exc:  # noqa: BLE001 - task lost after all retries (worker/node died)
                    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    yield JobOutcome(job, None, f"ray task failed after {self.max_retries} retries: "
                                                f"{type(exc).__name__}: {msg}")

    def close(self) -> None:
        if self._owns_ray:
            ray = _import_ray()
            ray.shutdown()
            self._owns_ray = False
