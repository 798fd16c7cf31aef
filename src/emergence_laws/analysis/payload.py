"""A table-level result that reads as its JSON payload: ``res["interval"]``, ``dict(res)``, ``res.to_json()``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class PayloadResult(Mapping[str, Any]):
    """A read-only mapping of ``self.payload`` (a JSON-ready dict), with the Python objects beside it.

    Subclasses are frozen dataclasses with a ``payload`` field (:class:`~emergence_laws.analysis.table_fit.FitResult`,
    :class:`~emergence_laws.analysis.table_compare.Comparison`).
    """

    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """A copy of ``payload`` to extend (e.g. with provenance) and ``json.dumps``."""
        return dict(self.payload)

    def __getitem__(self, key: str) -> Any:
        return self.payload[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.payload)

    def __len__(self) -> int:
        return len(self.payload)
