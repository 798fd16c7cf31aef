"""Tokenising (context, continuation) pairs exactly as lm-evaluation-harness does for causal LMs.

Trailing whitespace of the context moves to the continuation; context+continuation is encoded
whole and the continuation is the tail after the context's own encoding. An empty context is
replaced by the prefix token (BOS, else EOS).
"""

from __future__ import annotations

from collections.abc import Sequence


def prefix_token_id(tokenizer) -> int:
    """BOS when the tokenizer has one, else EOS (lm-eval's `prefix_token_id`)."""
    if tokenizer.bos_token_id is not None:
        return int(tokenizer.bos_token_id)
    return int(tokenizer.eos_token_id)


def encode_many(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """`tokenizer.encode(text)` for each text (tokenizer-default special tokens, skipped when the
    text already starts with the BOS string), batched through the fast tokenizer."""
    out: list[list[int] | None] = [None] * len(texts)
    bos = tokenizer.bos_token
    plain = [i for i, t in enumerate(texts) if not (bos and t.startswith(bos))]
    raw = [i for i, t in enumerate(texts) if bos and t.startswith(bos)]
    for idx, special in ((plain, True), (raw, False)):
        if idx:
            enc = tokenizer([texts[i] for i in idx], add_special_tokens=special)["input_ids"]
            for i, ids in zip(idx, enc):
                out[i] = list(ids)
    return out  # type: ignore[return-value]


def encode_pairs(tokenizer, pairs: Sequence[tuple[str, str]]) -> list[tuple[list[int], list[int]]]:
    """(context_ids, continuation_ids) for each (context, continuation), the lm-eval way."""
    ctxs, wholes, empty = [], [], []
    for ctx, cont in pairs:
        if ctx == "":
            empty.append(True)
            ctxs.append("")
            wholes.append(cont)
            continue
        empty.append(False)
        n_spaces = len(ctx) - len(ctx.rstrip())
        if n_spaces:
            cont = ctx[-n_spaces:] + cont
            ctx = ctx[:-n_spaces]
        ctxs.append(ctx)
        wholes.append(ctx + cont)
    uniq = sorted({c for c, e in zip(ctxs, empty) if not e})
    ctx_ids = dict(zip(uniq, encode_many(tokenizer, uniq)))
    whole_ids = encode_many(tokenizer, [w for w, e in zip(wholes, empty) if not e])
    cont_only = [w for w, e in zip(wholes, empty) if e]
    cont_ids = tokenizer(cont_only, add_special_tokens=False)["input_ids"] if cont_only else []
    out = []
    wi = ci = 0
    prefix = prefix_token_id(tokenizer)
    for ctx, e in zip(ctxs, empty):
        if e:
            c = list(cont_ids[ci])
            ci += 1
            out.append(([prefix], c) if c and c[0] != prefix else (c[:1], c[1:]))
        else:
            ce = ctx_ids[ctx]
            w = whole_ids[wi]
            wi += 1
            out.append((list(ce), list(w[len(ce):])))
    return out
