"""Batched greedy decoding with stop strings: left padding, explicit attention mask and position ids."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from emergence_laws.evaluation.loglikelihood import accepts_logits_to_keep, max_length
from emergence_laws.evaluation.tokenization import encode_many
from emergence_laws.progress import Progress


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """`text` up to the first occurrence of any stop string."""
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]


def _forward_params(model) -> set[str]:
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        return set(inspect.signature(type(base).forward).parameters)
    except (TypeError, ValueError):
        return set()


def new_kv_cache(model) -> tuple[str, object]:
    """(forward keyword, empty `DynamicCache`) for incremental decoding with the current cache API:
    transformers >= 5.x takes ``cache=``, earlier releases ``past_key_values=``. The cache object is
    filled in place by each forward pass."""
    from transformers import DynamicCache

    name = "cache" if "cache" in _forward_params(model) else "past_key_values"
    try:
        cache = DynamicCache(config=model.config)
    except TypeError:  # releases whose DynamicCache takes no config
        cache = DynamicCache()
    return name, cache


@torch.inference_mode()
def greedy_generate(model, tokenizer, contexts: Sequence[str], *, stop: Sequence[str] = ("\n",),
                    max_new_tokens: int = 64, batch_size: int = 32, progress: bool | None = None) -> list[str]:
    """Greedy continuation of each context, cut at the first stop string (or EOS).

    Contexts are sorted by length, left-padded, and decoded with a KV cache; position ids count
    real tokens only, so a context's output does not depend on its batch.
    """
    if not contexts:
        return []
    limit = max_length(model)
    keep = max(1, limit - max_new_tokens)
    encoded = [ids[-keep:] for ids in encode_many(tokenizer, contexts)]
    order = sorted(range(len(contexts)), key=lambda i: -len(encoded[i]))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    eos_id = tokenizer.eos_token_id
    device = next(model.parameters()).device
    outputs: list[str] = [""] * len(contexts)
    extra = {"logits_to_keep": 1} if accepts_logits_to_keep(model) else {}
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    with Progress(len(batches), "generate", "batch", enabled=progress) as bar:
        for idx in batches:
            _generate_batch(model, tokenizer, idx, encoded, outputs, stop=stop, max_new_tokens=max_new_tokens,
                            pad_id=pad_id, eos_id=eos_id, device=device, extra=extra)
            bar.update(1)
    return outputs


def _generate_batch(model, tokenizer, idx, encoded, outputs, *, stop, max_new_tokens, pad_id, eos_id, device,
                    extra) -> None:
    """Greedy-decode the contexts `idx` (one left-padded batch) into `outputs`."""
    width = max(len(encoded[i]) for i in idx)
    n = len(idx)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for row, i in enumerate(idx):
        e = encoded[i]
        ids[row, width - len(e):] = torch.tensor(e)
        mask[row, width - len(e):] = 1
    ids, mask = ids.to(device), mask.to(device)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    generated = [[] for _ in range(n)]
    done = [False] * n
    cache_kw, cache = new_kv_cache(model)
    step_ids = ids
    step_pos = pos
    for _ in range(max_new_tokens):
        out = model(input_ids=step_ids, attention_mask=mask, position_ids=step_pos,
                    use_cache=True, **{cache_kw: cache}, **extra)
        nxt = out.logits[:, -1].argmax(-1)
        nxt_list = nxt.tolist()
        for row in range(n):
            if done[row]:
                continue
            tok = nxt_list[row]
            if eos_id is not None and tok == eos_id:
                done[row] = True
                continue
            generated[row].append(tok)
            if stop:
                text = tokenizer.decode(generated[row])
                if any(s and s in text for s in stop):
                    done[row] = True
        if all(done):
            break
        step_ids = nxt[:, None]
        step_pos = step_pos[:, -1:] + 1
        mask = torch.cat([mask, torch.ones((n, 1), dtype=mask.dtype, device=device)], dim=1)
    for row, i in enumerate(idx):
        outputs[i] = cut_at_stop(tokenizer.decode(generated[row]), stop)
