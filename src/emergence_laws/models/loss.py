"""Pretraining loss on a fixed reference text: nats/token, and bits per UTF-8 byte (tokenizer-independent)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from emergence_laws.errors import InputError


def read_reference_text(text: str | Path) -> str:
    """The reference text itself. A `Path` (or a string naming an existing file) is read:
    `.jsonl` files contribute each row's "text" field, joined by blank lines; others are read as UTF-8."""
    is_file = isinstance(text, Path) or (
        isinstance(text, str) and "\n" not in text and len(text) < 4096 and os.path.isfile(text))
    if not is_file:
        return str(text)
    path = Path(text)
    if not path.exists():
        raise InputError(f"{path}: reference text file not found; check the path")
    if path.suffix == ".jsonl":
        parts = []
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{lineno}: not valid JSON ({exc.msg}); write one JSON object per line") from exc
                if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                    raise InputError(f"{path}:{lineno}: expected an object with a string \"text\" field")
                parts.append(row["text"])
        return "\n\n".join(parts)
    return path.read_text(encoding="utf-8")


def _max_positions(model) -> int | None:
    cfg = getattr(model, "config", None)
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        val = getattr(cfg, key, None)
        if isinstance(val, int) and val > 0:
            return val
    return None


@dataclass(frozen=True)
class ReferenceLoss:
    """What a pretraining-loss measurement scored: `tokens` predicted tokens spelling `bytes` UTF-8
    bytes of the reference text, with `nats` total negative log-likelihood."""

    nats: float
    tokens: int
    bytes: int

    @property
    def nats_per_token(self) -> float:
        """Mean next-token cross-entropy, nats/token (the study's `pretrain_loss`)."""
        return self.nats / self.tokens

    @property
    def bits_per_byte(self) -> float:
        """Total NLL in bits per UTF-8 byte of the scored text: comparable across tokenizers."""
        return self.nats / math.log(2) / self.bytes


def _tokenize_with_bytes(tokenizer, body: str, max_tokens: int | None) -> tuple[list[int], int]:
    """(token ids used, UTF-8 bytes of the text spelled by ids[1:], the predicted tokens).

    Bytes come from the fast tokenizer's character offsets: the text after the first token's end,
    up to the last used token's end (the whole text when nothing is cut). Tokenizers without
    offsets fall back to decoding (exact unless tokens decode lossily, e.g. to <unk>)."""
    try:
        enc = tokenizer(body, add_special_tokens=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
    except (NotImplementedError, ValueError, TypeError, KeyError):
        enc, offsets = tokenizer(body, add_special_tokens=False), None
    all_ids = list(enc["input_ids"])
    ids = all_ids[: max_tokens + 1] if max_tokens is not None else all_ids
    if len(ids) < 2:
        return ids, 0
    if offsets is not None:
        end = len(body) if len(ids) == len(all_ids) else offsets[len(ids) - 1][1]
        return ids, len(body[offsets[0][1]: end].encode("utf-8"))

    def nbytes(x: list[int]) -> int:
        return len(tokenizer.decode(x, skip_special_tokens=False, clean_up_tokenization_spaces=False).encode("utf-8"))

    return ids, max(1, nbytes(ids) - nbytes(ids[:1]))


@torch.inference_mode()
def reference_loss(model, tokenizer, text: str | Path, *, seq_len: int = 1024,
                   max_tokens: int | None = None, batch_size: int = 8) -> ReferenceLoss:
    """Next-token cross-entropy of `model` on `text` (a string, or a file: see `read_reference_text`).

    The text is tokenised once (no special tokens), cut into non-overlapping windows of
    `seq_len + 1` tokens that share one boundary token (so every token after the first is
    predicted exactly once). `seq_len` is capped at the model's context length; `max_tokens`
    caps the number of tokens used. Returns the total NLL (nats), the number of tokens predicted
    and the UTF-8 bytes they spell (what was measured, whatever `max_tokens` asked for).
    """
    body = read_reference_text(text)
    ids, n_bytes = _tokenize_with_bytes(tokenizer, body, max_tokens)
    if len(ids) < 2:
        raise InputError("reference text has fewer than 2 tokens; give a longer text for pretraining loss")
    cap = _max_positions(model)
    if cap is not None:
        seq_len = min(seq_len, cap)
    windows = [ids[i : i + seq_len + 1] for i in range(0, len(ids) - 1, seq_len)]
    windows = [w for w in windows if len(w) >= 2]
    device = next(model.parameters()).device
    total_nll = 0.0
    total_tokens = 0
    for start in range(0, len(windows), batch_size):
        chunk = windows[start : start + batch_size]
        width = max(len(w) for w in chunk)
        inp = torch.zeros((len(chunk), width - 1), dtype=torch.long)
        tgt = torch.full((len(chunk), width - 1), -100, dtype=torch.long)
        mask = torch.zeros((len(chunk), width - 1), dtype=torch.long)
        for row, w in enumerate(chunk):
            n = len(w) - 1
            inp[row, :n] = torch.tensor(w[:-1])
            tgt[row, :n] = torch.tensor(w[1:])
            mask[row, :n] = 1
        inp, tgt, mask = inp.to(device), tgt.to(device), mask.to(device)
        logits = model(input_ids=inp, attention_mask=mask).logits.float()
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1),
                              ignore_index=-100, reduction="sum")
        total_nll += float(nll)
        total_tokens += int((tgt != -100).sum())
    if not math.isfinite(total_nll):
        raise InputError("pretraining loss is not finite; check the checkpoint's weights and dtype")
    return ReferenceLoss(nats=total_nll, tokens=total_tokens, bytes=max(1, n_bytes))


def pretraining_loss(model, tokenizer, text: str | Path, *, seq_len: int = 1024,
                     max_tokens: int | None = None, batch_size: int = 8) -> float:
    """Mean next-token cross-entropy in nats/token on `text` (see `reference_loss`, which also gives
    the tokens scored and bits per byte)."""
    return reference_loss(model, tokenizer, text, seq_len=seq_len, max_tokens=max_tokens,
                          batch_size=batch_size).nats_per_token
