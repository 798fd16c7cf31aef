"""The package's one JSON cleaner: make any result ``json.dumps``-able with ``allow_nan=False``.

Every JSON the tool writes (``prediction.json``, ``backtest.json``, ``detect.json``, ``--json``
output, the report's raw payload, the SQLite store's extra columns) goes through :func:`clean`,
so a missing or undefined number is always ``null``, never ``NaN`` (which is not JSON).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import numpy as np


def clean(obj: Any) -> Any:
    """A JSON-ready copy of ``obj``.

    NaN and ±inf -> None; numpy scalars and arrays -> Python numbers and lists; tuples and sets ->
    lists; mapping keys -> str; paths -> str; pandas' missing markers (``pd.NA``, ``NaT``) -> None.
    Strings, ints, bools and None pass through; other objects are returned as they are.
    """
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean(obj.tolist())
    if isinstance(obj, np.generic):
        return clean(obj.item())
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, PurePath):
        return str(obj)
    if type(obj).__name__ in ("NAType", "NaTType"):  # pandas' missing values, without importing pandas
        return None
    return obj


def finite_or_none(x: Any) -> float | None:
    """``float(x)`` when it is a finite number, else None."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
