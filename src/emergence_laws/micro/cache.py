"""The demo's cache folder, safe for runs at the same time: one lock per ladder, atomic file writes.

Two `emergence demo` runs that share a cache (the default ``~/.cache/emergence-laws/demo``) and the
same ladder take turns: the second waits on an exclusive lock (``flock``) on
``<cache>/ladder-<key>.lock`` for as long as the first holds it, then finds the finished ladder
and jobs and reuses them. Files are written to a temporary name and renamed into place, so no run
ever reads another's half-written file; the ladder is trained into a ``.partial`` folder that is
renamed when complete. The lock is released when its process exits, however it exits.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def default_cache_dir() -> Path:
    """The demo's default cache folder: ``$XDG_CACHE_HOME/emergence-laws/demo`` (else ``~/.cache/...``)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "emergence-laws" / "demo"


@contextlib.contextmanager
def exclusive_lock(path: str | Path, *, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (created if missing) for the block; `on_wait()` is
    called once if another process holds it and this one has to wait."""
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` through a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


__all__ = ["atomic_write_text", "exclusive_lock"]
