"""Finetuning: full or LoRA (peft) on n task examples, loss on answer tokens only, deterministic by seed.

    from emergence_laws.finetuning import finetune, FinetuneConfig
"""

from __future__ import annotations

from emergence_laws.finetuning.config import FinetuneConfig
from emergence_laws.finetuning.data import tokenize_examples
from emergence_laws.finetuning.train import answer_loss, finetune

__all__ = ["FinetuneConfig", "answer_loss", "finetune", "tokenize_examples"]
