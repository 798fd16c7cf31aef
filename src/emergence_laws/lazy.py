"""Lazy re-exports for package ``__init__`` files (PEP 562): a public name imports its module on first use,
so `import emergence_laws` (and `.study`, `.models`, `.finetuning`) stays instant and torch-free.

    _LAZY = {"run_study": "emergence_laws.study.runner"}   # public name -> the module that defines it
    __getattr__ = lazy_getattr(__name__, _LAZY)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``names[name]`` and returns its attribute `name`."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
