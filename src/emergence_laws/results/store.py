"""A SQLite store for the results table: idempotent inserts keyed by (run_key, metric), crash-safe.

Each `insert` is one transaction, so a job's rows land all together or not at all; the database
runs in WAL mode, so a process killed mid-write leaves the store readable and uncorrupted.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from emergence_laws.errors import InputError
from emergence_laws.jsonutil import clean
from emergence_laws.results.export import export_table
from emergence_laws.results.schema import INTEGER, NUMERIC, OPTIONAL, REQUIRED, SCALE

if TYPE_CHECKING:
    from typing_extensions import Self

#: Columns stored as their own SQL columns; anything else goes into the JSON `extra` column.
COLUMNS: tuple[str, ...] = tuple(dict.fromkeys((*REQUIRED, *SCALE, *OPTIONAL)))

_SQL_TYPES = {c: ("INTEGER" if c in INTEGER else "REAL") for c in NUMERIC}

_CREATE = (
    "CREATE TABLE IF NOT EXISTS results ("
    + ", ".join(f"{c} {_SQL_TYPES.get(c, 'TEXT')}" + (" NOT NULL" if c in ("run_key", "metric") else "") for c in COLUMNS)
    + ", extra TEXT, PRIMARY KEY (run_key, metric))"
)

_CREATE_EXAMPLES = ("CREATE TABLE IF NOT EXISTS examples (run_key TEXT NOT NULL, idx INTEGER NOT NULL, "
                    "data TEXT, PRIMARY KEY (run_key, idx))")

_IDENTITY = ("model", "task", "n_train", "shots", "seed", "method", "family")


def row_key(row: Mapping) -> str:
    """A run key for a row that has none: a hash of what identifies the evaluation (not its value)."""
    ident = {c: row.get(c) for c in _IDENTITY}
    blob = json.dumps(ident, sort_keys=True, default=str)
    return "row-" + hashlib.sha256(blob.encode()).hexdigest()[:20]


class ResultsStore:
    """Results rows in one SQLite file. Safe to read while another process writes."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise InputError(f"{self.path}: no such store; run `emergence run` first or give a CSV")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot create the store's folder ({exc.strerror}); "
                             "choose a writable path") from None
        try:
            self._conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            if create:
                self._conn.execute(_CREATE)
                self._conn.execute(_CREATE_EXAMPLES)
            elif not self._conn.execute("SELECT name FROM sqlite_master WHERE name='results'").fetchone():
                raise InputError(f"{self.path}: SQLite file has no results table; it was not written by this tool")
            self._add_new_columns()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path}: cannot open as a results store ({exc})") from None

    def _add_new_columns(self) -> None:
        """Stores written by an older version lack columns added since (e.g. pretrain_bpb): add them."""
        have = {r[1] for r in self._conn.execute("PRAGMA table_info(results)")}
        for c in COLUMNS:
            if c not in have:
                try:
                    self._conn.execute(f"ALTER TABLE results ADD COLUMN {c} {_SQL_TYPES.get(c, 'TEXT')}")
                except sqlite3.OperationalError:  # read-only file: read what is there
                    break
        self._have = {r[1] for r in self._conn.execute("PRAGMA table_info(results)")}

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def insert(self, rows: Iterable[Mapping] | pd.DataFrame, *, replace: bool = False,
               examples: Mapping[str, list[dict]] | None = None) -> int:
        """Insert rows in one transaction; rows whose (run_key, metric) exists are skipped
        (or overwritten with `replace=True`). `examples` (run_key -> per-example records: exact
        context, log-likelihoods, generation, ...) go into the ``examples`` table in the same
        transaction. Returns the number of rows written."""
        records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else [dict(r) for r in rows]
        if not records:
            return 0
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        values = []
        for i, rec in enumerate(records):
            missing = [c for c in ("model", "task", "metric", "value") if clean(rec.get(c)) is None]
            if missing:
                raise InputError(f"row {i} to insert lacks {', '.join(missing)}")
            rec.setdefault("n_train", 0)
            rec.setdefault("shots", 0)
            if clean(rec.get("run_key")) is None:
                rec["run_key"] = row_key(rec)
            if clean(rec.get("created_at")) is None:
                rec["created_at"] = now
            extra = {k: clean(v) for k, v in rec.items() if k not in COLUMNS and clean(v) is not None}
            values.append([clean(rec.get(c)) for c in COLUMNS] + [json.dumps(extra, default=str) if extra else None])
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        sql = f"{verb} INTO results ({', '.join(COLUMNS)}, extra) VALUES ({', '.join('?' * (len(COLUMNS) + 1))})"
        ex_values = [(key, i, json.dumps(rec, default=str)) for key, recs in (examples or {}).items()
                     for i, rec in enumerate(recs)]
        before = self._conn.total_changes
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany(sql, values)
            changed = self._conn.total_changes - before
            if ex_values:
                self._conn.execute(_CREATE_EXAMPLES)
                self._conn.executemany(f"{verb} INTO examples (run_key, idx, data) VALUES (?, ?, ?)", ex_values)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return changed

    def examples(self, run_key: str | None = None) -> list[dict]:
        """Stored per-example records (each with its ``run_key`` and ``idx``), of one job or all."""
        if not self._conn.execute("SELECT name FROM sqlite_master WHERE name='examples'").fetchone():
            return []
        sql = "SELECT run_key, idx, data FROM examples"
        args: tuple = ()
        if run_key is not None:
            sql += " WHERE run_key=?"
            args = (run_key,)
        return [{"run_key": k, "idx": i, **json.loads(d)}
                for k, i, d in self._conn.execute(sql + " ORDER BY run_key, idx", args)]

    def has(self, run_key: str) -> bool:
        """Whether any row with this run key is stored."""
        return self._conn.execute("SELECT 1 FROM results WHERE run_key=? LIMIT 1", (run_key,)).fetchone() is not None

    def run_keys(self) -> set[str]:
        return {r[0] for r in self._conn.execute("SELECT DISTINCT run_key FROM results")}

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def to_frame(self) -> pd.DataFrame:
        """All rows as a results-table DataFrame (extra columns expanded; empty columns dropped)."""
        cols = [c for c in COLUMNS if c in self._have]
        cur = self._conn.execute(f"SELECT {', '.join(cols)}, extra FROM results ORDER BY rowid")
        data = cur.fetchall()
        df = pd.DataFrame(data, columns=[*cols, "extra"])
        extras = [json.loads(e) if e else {} for e in df.pop("extra")]
        if any(extras):
            df = pd.concat([df, pd.DataFrame(extras, index=df.index)], axis=1)
        keep = [c for c in df.columns if c in REQUIRED or c in SCALE or df[c].notna().any()]
        return df[keep]

    def export(self, path: str | Path) -> Path:
        """Write every row to CSV or Parquet (by suffix)."""
        return export_table(self.to_frame(), path)
