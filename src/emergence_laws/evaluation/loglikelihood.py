"""Batched log-likelihood of continuations given contexts (lm-eval's `loglikelihood`, faster).

Requests that share a context (the choices of one multiple-choice question) are packed into one
sequence: the context once, then each continuation as its own segment that sees the context and
itself only (a 4-D attention mask and restarted position ids). Sequences are sorted by length
and right-padded. Scores equal one-forward-per-request scoring up to float rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from emergence_laws.errors import InputError
from emergence_laws.evaluation.tokenization import encode_pairs
from emergence_laws.progress import Progress

# Architectures whose attention honours a custom 4-D mask with restarted position ids (tested).
PACKABLE_MODEL_TYPES = frozenset({"llama", "gpt_neox"})


@dataclass
class ContinuationScore:
    """Sum of continuation token log-probabilities (nats), whether greedy decoding reproduces it, token count."""

    logprob: float
    is_greedy: bool
    n_tokens: int


def max_length(model) -> int:
    """The model's context length in tokens (lm-eval's fallback: 2048)."""
    cfg = model.config
    for key in ("n_positions", "max_position_embeddings", "n_ctx"):
        val = getattr(cfg, key, None)
        if isinstance(val, int) and val > 0:
            return val
    return 2048


def can_pack(model) -> bool:
    """Whether shared-context packing is known to be exact for this model."""
    impl = getattr(model.config, "_attn_implementation", None) or "sdpa"
    return getattr(model.config, "model_type", None) in PACKABLE_MODEL_TYPES and impl in ("sdpa", "eager")


def accepts_logits_to_keep(model) -> bool:
    """Whether the model's forward takes a boolean ``(batch, seq)`` `logits_to_keep` mask (vocab projection at
    chosen positions only). Older transformers releases (before ``slice_logits_to_keep``) take only an int
    or 1-D positions there; for them this is False and full logits are computed (same results, slower)."""
    import inspect
    import sys

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        takes = "logits_to_keep" in inspect.signature(type(base).forward).parameters
    except (TypeError, ValueError):
        return False
    module = sys.modules.get(type(base).__module__)
    return takes and hasattr(module, "slice_logits_to_keep")


@dataclass
class _Group:
    ctx: list[int]
    conts: list[list[int]]
    req_ids: list[int]

    @property
    def length(self) -> int:
        return len(self.ctx) + sum(len(c) - 1 for c in self.conts)


def _build_groups(encoded, pack: bool, limit: int) -> list[_Group]:
    groups: list[_Group] = []
    by_ctx: dict[tuple[int, ...], _Group] = {}
    for i, (ctx, cont) in enumerate(encoded):
        if not cont:
            raise InputError("a continuation tokenised to zero tokens; give non-empty answers/choices")
        if len(cont) > limit:
            raise InputError(f"a continuation of {len(cont)} tokens exceeds the model's context ({limit}); "
                             "shorten the answers")
        fits = len(ctx) + len(cont) - 1 <= limit
        if pack and fits:
            key = tuple(ctx)
            g = by_ctx.get(key)
            if g is None or len(ctx) + max(len(c) for c in g.conts + [cont]) - 1 > limit:
                g = _Group(list(ctx), [], [])
                by_ctx[key] = g
                groups.append(g)
            g.conts.append(list(cont))
            g.req_ids.append(i)
        else:
            if not fits:  # lm-eval: keep the last (limit + 1) tokens of context + continuation
                ctx = (ctx + cont)[-(limit + 1):][: -len(cont)]
            groups.append(_Group(list(ctx), [list(cont)], [i]))
    return groups


def _score_batch(model, batch: list[_Group], pad_id: int, device, results: list) -> None:
    width = max(g.length for g in batch)
    n = len(batch)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    pos = torch.zeros((n, width), dtype=torch.long)
    seg = torch.full((n, width), -1, dtype=torch.long)
    pred_rows, pred_cols, targets, owners = [], [], [], []
    for b, g in enumerate(batch):
        c = len(g.ctx)
        ids[b, :c] = torch.tensor(g.ctx)
        pos[b, :c] = torch.arange(c)
        seg[b, :c] = 0
        at = c
        for j, cont in enumerate(g.conts):
            body = cont[:-1]
            k = len(body)
            if k:
                ids[b, at : at + k] = torch.tensor(body)
                pos[b, at : at + k] = torch.arange(c, c + k)
                seg[b, at : at + k] = j + 1
            cols = [c - 1] + list(range(at, at + k))
            pred_rows.extend([b] * len(cont))
            pred_cols.extend(cols)
            targets.extend(cont)
            owners.extend([g.req_ids[j]] * len(cont))
            at += k
    packed = any(len(g.conts) > 1 for g in batch)
    ids, pos = ids.to(device), pos.to(device)
    rows = torch.tensor(pred_rows, device=device)
    cols = torch.tensor(pred_cols, device=device)
    extra = {}
    if accepts_logits_to_keep(model):  # project onto the vocab only where a continuation token is predicted
        keep = torch.zeros((n, width), dtype=torch.bool, device=device)
        keep[rows, cols] = True
        flat_index = keep.view(-1).cumsum(0) - 1
        extra["logits_to_keep"] = keep
    if packed:
        causal = torch.tril(torch.ones((width, width), dtype=torch.bool))
        allowed = causal & ((seg[:, :, None] == seg[:, None, :]) | (seg[:, None, :] == 0)) & (seg[:, None, :] >= 0)
        allowed |= torch.eye(width, dtype=torch.bool)
        if getattr(model.config, "_attn_implementation", "sdpa") == "sdpa":
            mask = allowed[:, None]  # SDPA takes a boolean mask (True = attend)
        else:  # eager attention adds the mask to the scores
            dtype = next(model.parameters()).dtype
            mask = torch.zeros((n, 1, width, width), dtype=dtype)
            mask.masked_fill_(~allowed[:, None], torch.finfo(dtype).min)
        logits = model(input_ids=ids, attention_mask=mask.to(device), position_ids=pos, **extra).logits
    else:
        attn = (seg >= 0).long().to(device)
        logits = model(input_ids=ids, attention_mask=attn, position_ids=pos, **extra).logits
    tgt = torch.tensor(targets, device=device)
    if extra:
        picked = logits.reshape(-1, logits.shape[-1])[flat_index[rows * width + cols]].float()
    else:
        picked = logits[rows, cols].float()
    logp = torch.log_softmax(picked, dim=-1).gather(1, tgt[:, None])[:, 0]
    greedy = picked.argmax(-1) == tgt
    logp, greedy = logp.cpu().tolist(), greedy.cpu().tolist()
    for owner, lp, gr in zip(owners, logp, greedy):
        r = results[owner]
        if r is None:
            results[owner] = ContinuationScore(lp, bool(gr), 1)
        else:
            r.logprob += lp
            r.is_greedy = r.is_greedy and bool(gr)
            r.n_tokens += 1


@torch.inference_mode()
def loglikelihood(model, tokenizer, requests: Sequence[tuple[str, str]], *, batch_size: int = 32,
                  pack: bool | None = None, progress: bool | None = None) -> list[ContinuationScore]:
    """Score each (context, continuation): sum of continuation token log-probs in nats.

    Tokenisation and truncation follow lm-eval (`encode_pairs`). `pack=None` packs shared
    contexts when `can_pack(model)`; `batch_size` counts sequences per forward pass. `progress`:
    per-batch progress (None: the process setting, see `emergence_laws.progress`).
    """
    if not requests:
        return []
    encoded = encode_pairs(tokenizer, requests)
    use_pack = can_pack(model) if pack is None else pack
    groups = _build_groups(encoded, use_pack, max_length(model))
    groups.sort(key=lambda g: -g.length)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    results: list[ContinuationScore | None] = [None] * len(requests)
    batches = [groups[i : i + batch_size] for i in range(0, len(groups), batch_size)]
    with Progress(len(batches), "loglikelihood", "batch", enabled=progress) as bar:
        for batch in batches:
            _score_batch(model, batch, pad_id, device, results)
            bar.update(1)
    return results  # type: ignore[return-value]
