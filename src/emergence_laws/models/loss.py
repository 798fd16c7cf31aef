"""Pretraining loss: mean next-token cross-entropy (nats/token) on a fixed reference text."""

from __future__ import annotations

import json
import math
import os
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


@torch.inference_mode()
def pretraining_loss(model, tokenizer, text: str | Path, *, seq_len: int = 1024,
                     max_tokens: int | None = None, batch_size: int = 8) -> float:
    """Mean next-token cross-entropy in nats/token on `text` (a string, or a file: see `read_reference_text`).

    The text is tokenised once (no special tokens), cut into non-overlapping windows of
    `seq_len + 1` tokens that share one boundary token (so every token after the first is
    predicted exactly once), and the token-weighted mean is returned. `seq_len` is capped at
    the model's context length; `max_tokens` caps the number of tokens used.
    """
    body = read_reference_text(text)
    ids = tokenizer(body, add_special_tokens=False)["input_ids"]
    if max_tokens is not None:
        ids = ids[: max_tokens + 1]
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
    loss = total_nll / total_tokens
    if not math.isfinite(loss):
        raise InputError("pretraining loss is not finite; check the checkpoint's weights and dtype")
    return loss
