"""Finetuning examples → token ids with the loss on answer tokens only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import torch

from emergence_laws.evaluation.tokenization import encode_pairs
from emergence_laws.tasks.fewshot import build_contexts
from emergence_laws.tasks.spec import Example, TaskSpec

IGNORE = -100


def tokenize_examples(tokenizer, task: TaskSpec, examples: Sequence[Example], *, append_eos: bool,
                      max_length: int | None = None, shots: int = 0,
                      seed: int = 0) -> list[tuple[list[int], list[int]]]:
    """(input_ids, labels) per example: the evaluation prompt with `shots` demonstrations
    (`build_contexts`, the ``query`` sampler; the demonstrations are drawn by `seed` from `examples` themselves, never
    the example, so no data beyond `examples` is used) then `target_delimiter + answer_text`,
    tokenised like evaluation (lm-eval's pair rule); labels are IGNORE on the prompt. Long examples
    keep their last `max_length` tokens."""
    pool = replace(task, train=tuple(examples)) if shots else task
    contexts = build_contexts(pool, examples, shots=shots, seed=seed)
    pairs = [(ctx, task.target_delimiter + ex.answer_text) for ctx, ex in zip(contexts, examples)]
    out = []
    for ctx, cont in encode_pairs(tokenizer, pairs):
        if append_eos and tokenizer.eos_token_id is not None:
            cont = cont + [int(tokenizer.eos_token_id)]
        ids = ctx + cont
        labels = [IGNORE] * len(ctx) + cont
        if max_length is not None and len(ids) > max_length:
            ids, labels = ids[-max_length:], labels[-max_length:]
        out.append((ids, labels))
    return out


def collate(batch: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch: input_ids, attention_mask, labels (pad labels IGNORE)."""
    width = max(len(ids) for ids, _ in batch)
    n = len(batch)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    labels = torch.full((n, width), IGNORE, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for row, (x, y) in enumerate(batch):
        ids[row, : len(x)] = torch.tensor(x)
        labels[row, : len(y)] = torch.tensor(y)
        mask[row, : len(x)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
