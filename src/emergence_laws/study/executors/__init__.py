"""Executors run jobs and yield their outcomes as they finish; the driver alone writes results.

    executor.run(jobs, fn) -> Iterator[JobOutcome]     # fn(job) -> list[dict]

`jobs` is consumed lazily (an executor takes the next job only when it has a free slot), so the
driver can drop jobs whose checkpoint failed to load while the grid runs.

`local`: in this process (workers=1) or a spawn process pool. `ray`: one Ray task per job with
resource requests and retries (ray is imported only when this executor is chosen).
"""

from __future__ import annotations

from emergence_laws.errors import ConfigError
from emergence_laws.study.config import ExecutorSettings
from emergence_laws.study.executors.base import Executor, JobFn, JobOutcome, call_job, outcome

__all__ = ["Executor", "JobFn", "JobOutcome", "call_job", "make_executor", "outcome"]


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
