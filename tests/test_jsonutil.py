"""The one JSON cleaner: every number JSON cannot hold becomes null, numpy becomes Python."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from emergence_laws.jsonutil import clean, finite_or_none


def test_clean_makes_nested_results_strict_json():
    obj = {
        "nan": float("nan"),
        "inf": float("inf"),
        "ninf": -math.inf,
        "np_float": np.float32(1.5),
        "np_nan": np.float64("nan"),
        "np_int": np.int64(7),
        "np_bool": np.bool_(True),
        "array": np.array([[1.0, np.nan], [np.inf, 2.0]]),
        "tuple": (1, (2.0, float("nan"))),
        "path": Path("/tmp/x.json"),
        "na": pd.NA,
        "nat": pd.NaT,
        3: "int key",
        "nested": [{"a": np.float64(0.25)}, None, "text", False],
    }
    out = clean(obj)
    text = json.dumps(out, allow_nan=False)  # raises on NaN/inf
    back = json.loads(text)
    assert back["nan"] is None and back["inf"] is None and back["ninf"] is None and back["np_nan"] is None
    assert back["np_float"] == 1.5 and back["np_int"] == 7 and back["np_bool"] is True
    assert back["array"] == [[1.0, None], [None, 2.0]]
    assert back["tuple"] == [1, [2.0, None]]
    assert back["path"] == "/tmp/x.json" and back["na"] is None and back["nat"] is None
    assert back["3"] == "int key"
    assert back["nested"] == [{"a": 0.25}, None, "text", False]
    assert type(out["np_int"]) is int and type(out["np_float"]) is float


def test_finite_or_none():
    assert finite_or_none(2) == 2.0 and finite_or_none(np.float32(0.5)) == 0.5
    for bad in (None, "x", float("nan"), np.inf, [1]):
        assert finite_or_none(bad) is None
