"""Write a results table as CSV/TSV or Parquet, with the path checked before any work.

The suffixes of each file type are here; `results.io` reads the same ones.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from emergence_laws.errors import InputError

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")


def check_export_path(path: str | Path, flag: str = "export") -> Path:
    """Check, before any work, that `export_table` can write `path`: a known suffix, pyarrow for
    Parquet, a writable place. Raises a one-line InputError naming `flag`."""
    from importlib.util import find_spec

    from emergence_laws.paths import check_output_file

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in PARQUET_SUFFIXES + CSV_SUFFIXES:
        raise InputError(f"{flag} {p}: unknown file type {suffix!r}; export as .csv, .tsv or .parquet")
    if suffix in PARQUET_SUFFIXES and find_spec("pyarrow") is None:
        raise InputError(f"{flag} {p}: writing Parquet needs pyarrow (pip install pyarrow); or export .csv")
    return check_output_file(p, flag)


def export_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a results table as CSV or Parquet (by suffix)."""
    p = check_export_path(path)
    if p.suffix.lower() in PARQUET_SUFFIXES:
        df.to_parquet(p, index=False)
    else:
        df.to_csv(p, index=False, sep="\t" if p.suffix.lower() == ".tsv" else ",")
    return p
