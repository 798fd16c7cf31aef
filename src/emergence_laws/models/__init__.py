"""Checkpoints: load a Hugging Face causal LM, count its parameters/FLOPs, measure pretraining loss.

    from emergence_laws.models import load_model, pretraining_loss, count_params, model_flops
"""

from __future__ import annotations

from emergence_laws.models.counting import count_params, model_flops
from emergence_laws.models.loading import load_model, resolve_device, resolve_dtype
from emergence_laws.models.loss import (
           ReferenceLoss,
           pretraining_loss,
           read_reference_text,
           reference_loss,
)

__all__ = [
           "ReferenceLoss",
           "count_params",
           "load_model",
           "model_flops",
           "pretraining_loss",
           "read_reference_text",
           "reference_loss",
           "resolve_device",
           "resolve_dtype",
]
