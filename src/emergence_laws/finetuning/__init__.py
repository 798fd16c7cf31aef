"""Finetuning: full or LoRA (peft) on n task examples, loss on answer tokens only, deterministic by seed.

    from emergence_laws.finetuning import finetune, FinetuneConfig

The names load their module on first use: the settings (`finetuning.settings`) import without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "DEFAULT_LR": "emergence_laws.finetuning.settings",
    "FinetuneConfig": "emergence_laws.finetuning.settings",
    "FinetuneSettings": "emergence_laws.finetuning.settings",
    "tokenize_examples": "emergence_laws.finetuning.training_data",
    "answer_loss": "emergence_laws.finetuning.train",
    "finetune": "emergence_laws.finetuning.train",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'emergence_laws.finetuning' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
