"""The job grid of a study: content-hash keys, resumable runs, local and Ray executors.

    from emergence_laws.study import run_study, build_grid, grid_status
    df = run_study(cfg)   # cfg: emergence_laws.config.StudyConfig (load_study("study.yaml"))
"""

from __future__ import annotations

from typing import Any

__all__ = ["Grid", "Job", "StudyFailedError", "build_grid", "grid_status", "run_study"]


def __getattr__(name: str) -> Any:  # lazy: `import emergence_laws.study` stays light
    if name in ("run_study", "StudyFailedError"):
        from emergence_laws.study import runner

        return getattr(runner, name)
    if name in ("build_grid", "Job", "Grid"):
        from emergence_laws.study import grid

        return getattr(grid, name)
    if name == "grid_status":
        from emergence_laws.study.status import grid_status

        return grid_status
    raise AttributeError(name)
