"""How many threads torch may use, sized from the CPUs this process can actually run on.

    from emergence_laws.threads import resolve_threads, torch_threads
    n = resolve_threads(args.threads, workers=2)      # explicit > $EMERGENCE_THREADS > CPUs // workers
    with torch_threads(n): ...                         # torch.set_num_threads(n), restored afterwards

`os.cpu_count()` counts the machine's cores, not the ones a container, `taskset` or a batch
scheduler lets this process use; oversubscribed intra-op threads spin-wait and can be several
times slower than one thread on a busy machine. Precedence of the thread count:

1. an explicit value (`--threads`, `executor.threads_per_worker`, a function argument);
2. the ``EMERGENCE_THREADS`` environment variable (the setting for every command and script);
3. the available CPUs (affinity mask, capped by a cgroup CPU quota) divided by the number of
   worker processes, at least 1.

Waiting threads sleep instead of spinning: `import emergence_laws` sets ``OMP_WAIT_POLICY=PASSIVE``
(unless the environment already sets it), which OpenMP reads when torch loads. With the default
(active) policy, an intra-op thread that reaches a parallel region's end spins until its peers
arrive; when another job shares the cores, a peer is often descheduled, and the micro world's tiny
ops make that every op. Measured on the 2-core machine beside other jobs (load ~6), one training step
of the demo's model: 1 thread 582 ms, 2 threads spinning 1996 ms (555 ms of CPU), 2 threads passive
276 ms (101 ms of CPU); `benchmarks/bench_load.py` measures the whole demo. A process that imported
torch before `emergence_laws` keeps the policy it started with.

Torch-free at import (torch is imported only when threads are set).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emergence_laws.errors import InputError

#: Environment variable that sets the thread count when no explicit value is given.
ENV_VAR = "EMERGENCE_THREADS"

#: OpenMP's wait policy for idle intra-op threads (see the module docstring).
WAIT_POLICY = ("OMP_WAIT_POLICY", "PASSIVE")


def passive_wait() -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless the environment sets a policy; True when torch is not loaded
    yet (so the setting takes effect in this process; child processes inherit it either way)."""
    import sys

    os.environ.setdefault(*WAIT_POLICY)
    return "torch" not in sys.modules

_CGROUP = Path("/sys/fs/cgroup")


def _cgroup_cpu_limit(root: Path = _CGROUP) -> float | None:
    """CPUs allowed by a cgroup quota (v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``), None when unlimited."""
    try:
        v2 = root / "cpu.max"
        if v2.is_file():
            quota, period = v2.read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        q, p = root / "cpu" / "cpu.cfs_quota_us", root / "cpu" / "cpu.cfs_period_us"
        if q.is_file() and p.is_file():
            quota_us = int(q.read_text())
            return None if quota_us <= 0 else quota_us / int(p.read_text())
    except (OSError, ValueError, ZeroDivisionError):
        return None
    return None


def available_cpus() -> int:
    """CPUs this process may run on: its affinity mask (else `os.cpu_count()`), capped by a cgroup
    CPU quota rounded down; at least 1."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    if limit is not None:
        n = min(n, max(1, math.floor(limit)))
    return max(1, n)


def _check(value: object, name: str, *, env: bool = False) -> int:
    """``value`` when it is a positive int; else InputError naming the argument ``name`` in backticks
    (the CLI says its flag, :mod:`emergence_laws.laws.terms`) or, with ``env``, the variable."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        said = f"${name}={value!r}" if env else f"`{name}={value!r}`"
        raise InputError(f"{said}: not a positive whole number of threads; give e.g. 1 or 4")
    return value


def resolve_threads(threads: int | None = None, *, workers: int = 1) -> int:
    """The torch thread count per process: `threads` if given, else ``$EMERGENCE_THREADS``, else
    `available_cpus() // workers` (at least 1). Raises InputError for a non-positive value."""
    if threads is not None:
        return _check(threads, "threads")
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            value = None
        return _check(value if value is not None else env, ENV_VAR, env=True)
    return max(1, available_cpus() // max(1, int(workers)))


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that fix the thread count of a child process before torch loads."""
    n = str(_check(threads, "threads"))
    name, policy = WAIT_POLICY
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, ENV_VAR: n, name: os.environ.get(name, policy)}


def set_torch_threads(threads: int) -> int:
    """`torch.set_num_threads(threads)`; returns the previous count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(_check(threads, "threads"))
    return before


@contextmanager
def torch_threads(threads: int) -> Iterator[int]:
    """Run a block with `threads` torch threads, restoring the previous count afterwards."""
    before = set_torch_threads(threads)
    try:
        yield threads
    finally:
        import torch

        torch.set_num_threads(before)
