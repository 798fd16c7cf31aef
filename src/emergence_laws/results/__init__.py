"""The results table (one row per evaluation): schema, validation, loading, the SQLite store.

Torch-free. `load_results(path)` reads CSV/TSV, Parquet, a SQLite store or lm-eval JSON and returns
a validated, typed pandas DataFrame; `ResultsStore` keeps rows idempotently by (run_key, metric).
"""

from __future__ import annotations

from emergence_laws.metrics import is_discrete as is_discrete_metric
from emergence_laws.metrics import metric_bounds
from emergence_laws.results.export import export_table
from emergence_laws.results.io import (
    load_csv,
    load_lmeval_json,
    load_parquet,
    load_results,
)
from emergence_laws.results.schema import COLUMN_DOCS, REQUIRED, SCALE
from emergence_laws.results.store import ResultsStore, row_key
from emergence_laws.results.validate import validate_table

__all__ = [
    "COLUMN_DOCS",
    "REQUIRED",
    "SCALE",
    "ResultsStore",
    "export_table",
    "is_discrete_metric",
    "load_csv",
    "load_lmeval_json",
    "load_parquet",
    "load_results",
    "metric_bounds",
    "row_key",
    "validate_table",
]
