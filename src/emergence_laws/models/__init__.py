"""Checkpoints: load a Hugging Face causal LM, count its parameters/FLOPs, measure pretraining loss.

    from emergence_laws.models import load_model, pretraining_loss, count_params, model_flops

The names load their module on first use: the dtype names (`models.dtypes`) import without torch.
"""

from __future__ import annotations

from emergence_laws.lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "count_params": "emergence_laws.models.counting",
    "model_flops": "emergence_laws.models.counting",
    "load_model": "emergence_laws.models.checkpoints",
    "resolve_device": "emergence_laws.models.checkpoints",
    "resolve_dtype": "emergence_laws.models.checkpoints",
    "ReferenceLoss": "emergence_laws.models.loss",
    "pretraining_loss": "emergence_laws.models.loss",
    "read_reference_text": "emergence_laws.models.loss",
    "reference_loss": "emergence_laws.models.loss",
}

__all__ = list(_LAZY)
__getattr__ = lazy_getattr(__name__, _LAZY)
