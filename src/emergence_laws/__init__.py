"""emergence-laws: predict emergent capabilities of language models by finetuning (Snell et al., 2024).

The public API, imported lazily so `import emergence_laws` stays instant and torch-free:

    from emergence_laws import load_results, fit_table, backtest_table, detect_table
    df = load_results("results.csv")             # validated results table (pandas)
    result = fit_table(df, task="arith", bootstrap=200)
    result["emergence_point"], result["interval"]  # predicted few-shot elbow, nats/token

Torch-free: `laws`, `results`, `analysis`, `report`. Needs torch: `models`, `evaluation`,
`finetuning`, `study` (`run_study`, `load_study`), `micro`.
"""

from __future__ import annotations

from emergence_laws.lazy import lazy_getattr
from emergence_laws.threads import passive_wait as _passive_wait
from emergence_laws.version import __version__

_passive_wait()  # idle OpenMP threads sleep instead of spinning (emergence_laws.threads)

from emergence_laws.errors import (
    ConfigError,
    EmergenceError,
    InputError,
    NotIdentifiableError,
)

#: public name -> module that defines it
_LAZY: dict[str, str] = {
    "load_results": "emergence_laws.results",
    "validate_table": "emergence_laws.results",
    "export_table": "emergence_laws.results",
    "ResultsStore": "emergence_laws.results",
    "fit_table": "emergence_laws.analysis.table_fit",
    "backtest_table": "emergence_laws.analysis.table_fit",
    "baseline_table": "emergence_laws.analysis.table_fit",
    "detect_table": "emergence_laws.analysis.table_detect",
    "EmergenceLaw": "emergence_laws.laws",
    "LawData": "emergence_laws.laws",
    "fit_law": "emergence_laws.laws",
    "fit_elbow": "emergence_laws.laws",
    "bootstrap_law": "emergence_laws.laws",
    "backtest": "emergence_laws.laws",
    "fit_sigmoid_baseline": "emergence_laws.laws",
    "fit_scaling_law": "emergence_laws.laws",
    "render_report": "emergence_laws.report.html",
    "load_study": "emergence_laws.study",
    "run_study": "emergence_laws.study",
}

__all__ = [
    "__version__",
    "ConfigError",
    "EmergenceError",
    "InputError",
    "NotIdentifiableError",
] + list(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
