"""Where a figure was measured: the CPU, its load and the code, to stamp benchmark and research results.

    from emergence_laws.provenance import stamp
    stamp()   # {"commit": "ca039f2", "cpu": "Intel(R) Xeon(R) Processor", "cpus": 2, "load_1min": 0.4, ...}

Torch-free; reads /proc/cpuinfo and asks git, and never fails: "unknown" where a fact cannot be had.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what `platform` knows, else "unknown"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def git_commit(folder: str | os.PathLike[str] | None = None, *, dirty_under: str | None = None) -> str:
    """The short commit of the checkout holding `folder` (default: this package's), "unknown" outside one;
    with `dirty_under` (a path inside the checkout, e.g. "src"), `` + uncommitted changes to N files in
    <path>`` when tracked files there differ from the commit."""
    cwd = Path(folder) if folder is not None else _HERE
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cwd, capture_output=True, text=True,
                                check=True).stdout.strip()
        if dirty_under is None:
            return commit or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", dirty_under], cwd=cwd,
                               capture_output=True, text=True, check=False).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = [ln for ln in dirty.splitlines() if ln.strip()]
    return commit + (f" + uncommitted changes to {len(changed)} files in {dirty_under}" if changed else "")


def stamp(folder: str | os.PathLike[str] | None = None) -> dict[str, object]:
    """commit, cpu, cpus (cores this machine has), load_1min and python: the stamp of a measured figure."""
    try:
        load = round(os.getloadavg()[0], 2)
    except OSError:
        load = None
    return {"commit": git_commit(folder), "cpu": cpu_model(), "cpus": os.cpu_count(), "load_1min": load,
            "python": platform.python_version()}
