"""Settings for the research probes' tests (not part of the product's suite: run them with
``python -m pytest research/tests``)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

RESEARCH = Path(__file__).resolve().parents[1]
if str(RESEARCH) not in sys.path:  # the probes import fact_worlds and each other by name
    sys.path.insert(0, str(RESEARCH))

HANG_GUARD_S = 1800
"""Timeout (s) for subprocesses: a guard against a hang, never a speed check."""


def load_script(name: str):
    """The module of ``research/<name>.py``, freshly imported."""
    spec = importlib.util.spec_from_file_location(name, RESEARCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
