"""Process memory for the benchmarks (Linux /proc; NaN elsewhere), in MB (2**20 bytes)."""

from __future__ import annotations

import os


def peak_rss_mb() -> float:
    """This process's peak resident set size (MB): VmHWM, which starts afresh at exec (ru_maxrss would
    carry over the parent's peak at fork)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def rss_mb() -> float:
    """This process's resident set size now (MB)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")
