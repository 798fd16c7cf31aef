"""Cache of per-checkpoint measurements (parameter count, pretraining loss in nats/token).

Kept in its own table, ``study_measures``, inside the study's SQLite results file, keyed by the
measure job's key, so the loss of a checkpoint is computed once and survives restarts.
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from pathlib import Path
from typing import Any

_CREATE = ("CREATE TABLE IF NOT EXISTS study_measures (key TEXT PRIMARY KEY, model TEXT, pretrain_loss REAL, "
           "params INTEGER, data TEXT, created_at TEXT)")


class MeasureCache:
    """Measure-job results in ``<store>.db``; one transaction per write, WAL mode."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        if create:
            self._conn.execute(_CREATE)
        self._ok = bool(self._conn.execute(
            "SELECT name FROM sqlite_master WHERE name='study_measures'").fetchone())

    def get(self, key: str) -> dict[str, Any] | None:
        if not self._ok:
            return None
        row = self._conn.execute("SELECT data FROM study_measures WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def keys(self) -> set[str]:
        if not self._ok:
            return set()
        return {r[0] for r in self._conn.execute("SELECT key FROM study_measures")}

    def put(self, key: str, record: dict[str, Any]) -> None:
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute("INSERT OR REPLACE INTO study_measures VALUES (?, ?, ?, ?, ?, ?)",
                               (key, record.get("model"), record.get("pretrain_loss"), record.get("params"),
                                json.dumps(record, default=str), now))
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._conn.close()
