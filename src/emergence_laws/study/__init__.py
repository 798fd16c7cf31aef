"""Studies: the config (YAML or dataclasses), the job grid with content-hash keys, resumable runs on local
or Ray executors, and the one job body that `emergence run`, `emergence eval` and the demo share.

    from emergence_laws.study import load_study, run_study, StudyConfig, Checkpoint, FinetuneGrid
    df = run_study(load_study("study.yaml"))   # the results table (pandas), one row per evaluation
"""

from __future__ import annotations

from emergence_laws.lazy import lazy_getattr

#: public name -> the module that defines it (imported on first use: `import emergence_laws.study` stays light)
_LAZY: dict[str, str] = {
    "run_study": "emergence_laws.study.runner",
    "StudyFailedError": "emergence_laws.study.runner",
    "build_grid": "emergence_laws.study.grid",
    "Job": "emergence_laws.study.grid",
    "Grid": "emergence_laws.study.grid",
    "grid_status": "emergence_laws.study.status",
    "load_study": "emergence_laws.study.config_yaml",
    "study_from_dict": "emergence_laws.study.config_yaml",
    **{name: "emergence_laws.study.config" for name in (
        "StudyConfig", "Checkpoint", "TaskSource", "ReferenceText", "FewshotGrid", "FinetuneGrid", "EvalSettings",
        "ExecutorSettings")},
}

__all__ = list(_LAZY)
__getattr__ = lazy_getattr(__name__, _LAZY)
