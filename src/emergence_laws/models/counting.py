"""Parameter counts and the standard training-compute estimate (6·N·D FLOPs)."""

from __future__ import annotations

import torch


def count_params(model: torch.nn.Module, non_embedding: bool = False) -> int:
    """Number of parameters (shared/tied tensors counted once).

    `non_embedding=True` leaves out token/position embeddings and the output (unembedding)
    matrix, as in Kaplan et al. (2020)'s N.
    """
    seen: set[int] = set()
    skip: set[int] = set()
    if non_embedding:
        for module in model.modules():
            if isinstance(module, torch.nn.Embedding):
                skip.update(id(p) for p in module.parameters())
        get_out = getattr(model, "get_output_embeddings", None)
        out = get_out() if callable(get_out) else None
        if out is not None:
            skip.update(id(p) for p in out.parameters())
    total = 0
    for p in model.parameters():
        if id(p) in seen or id(p) in skip:
            continue
        seen.add(id(p))
        total += p.numel()
    return int(total)


def model_flops(params: float, tokens: float) -> float:
    """Training compute in FLOPs: 6 · N (parameters) · D (training tokens)."""
    return 6.0 * float(params) * float(tokens)
