"""Finetuning: full or LoRA (peft) on n task examples, loss on answer tokens only, deterministic by seed.

    from emergence_laws.finetuning import finetune, FinetuneConfig

The names load their module on first use: the settings (`finetuning.settings`) import without torch.
"""

from __future__ import annotations

from emergence_laws.lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "DEFAULT_LR": "emergence_laws.finetuning.settings",
    "FinetuneConfig": "emergence_laws.finetuning.settings",
    "FinetuneSettings": "emergence_laws.finetuning.settings",
    "tokenize_examples": "emergence_laws.finetuning.training_data",
    "answer_loss": "emergence_laws.finetuning.train",
    "finetune": "emergence_laws.finetuning.train",
}

__all__ = list(_LAZY)
__getattr__ = lazy_getattr(__name__, _LAZY)
