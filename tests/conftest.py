"""Shared test settings: headless plotting, quiet tokenizers, no hub access."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


REPO = Path(__file__).resolve().parents[1]
PUBLIC_DATA = REPO / "data" / "public"

HANG_GUARD_S = 1800
"""Timeout (s) for subprocesses in tests: a guard against a hang, far above any normal run (the
slowest, the demo's --quick, takes ~1.5 min on 2 idle cores). Never a speed check: a slow but
working machine must pass; speed lives in benchmarks/."""


def load_script(name: str):
    """The module of ``scripts/<name>.py`` (the scripts are not a package), freshly imported."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def one_thread():
    """One torch intra-op thread for the module: tiny models gain nothing from more, and spin-waiting
    threads crawl on a busy 2-core box. Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def model_loads(monkeypatch) -> list:
    """The paths `emergence_laws.models.load_model` is called with during the test (it still loads)."""
    from emergence_laws import models

    loads: list = []
    real_load = models.load_model

    def counting_load(path, **kw):
        loads.append(path)
        return real_load(path, **kw)

    monkeypatch.setattr(models, "load_model", counting_load)
    return loads
