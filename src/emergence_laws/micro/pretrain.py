"""Pretrain the micro world's ladder: one tiny Llama trained on the world's corpus, with intermediate checkpoints.

Each checkpoint is an ordinary Hugging Face folder (``save_pretrained`` model + tokenizer) that
loads with ``AutoModelForCausalLM.from_pretrained``: the demo evaluates and finetunes them through
the same code path as a user's own checkpoints. ``ladder.json`` beside them records each
checkpoint's step, pretraining tokens and parameters (FLOPs = 6·N·D).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from emergence_laws.micro.tokenizer import build_tokenizer
from emergence_laws.micro.world import MicroWorld


@dataclass(frozen=True)
class LadderConfig:
    """The pretraining run. Widths/depths of a tiny Llama; `steps` optimizer steps of `batch_size`
    windows of `seq_len` tokens; AdamW at `lr` (linear warmup over `warmup` steps, then cosine to
    `final_lr_frac`·lr); checkpoints saved at `checkpoints` steps after `first_checkpoint` (the last =
    `steps`), evenly spaced (`spacing="linear"`) or evenly spaced in log step (`spacing="log"`: as many
    checkpoints per doubling of compute early as late, like the public checkpoint ladders)."""

    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    steps: int = 1200
    batch_size: int = 32
    seq_len: int = 128
    lr: float = 3e-3
    warmup: int = 30
    final_lr_frac: float = 0.1
    weight_decay: float = 0.0
    checkpoints: int = 16
    first_checkpoint: int = 0
    spacing: str = "linear"
    seed: int = 0
    threads: int = 2

    def to_dict(self) -> dict:
        return asdict(self)

    def checkpoint_steps(self) -> list[int]:
        """Steps at which a checkpoint is saved: `checkpoints` steps in (first_checkpoint, steps], spaced by `spacing`."""
        if self.spacing == "log":
            lo = max(1, self.first_checkpoint)
            ratio = (self.steps / lo) ** (1.0 / max(1, self.checkpoints - 1))
            return sorted({min(self.steps, max(1, round(lo * ratio**i))) for i in range(self.checkpoints)})
        span = self.steps - self.first_checkpoint
        return sorted({self.first_checkpoint + round(span * (i + 1) / self.checkpoints) for i in range(self.checkpoints)})


def _lr(step: int, cfg: LadderConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (cfg.final_lr_frac + (1 - cfg.final_lr_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def build_model(cfg: LadderConfig, vocab_size: int, pad_id: int):
    """A freshly initialised tiny `LlamaForCausalLM` (seeded by `cfg.seed`)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=vocab_size, hidden_size=cfg.d_model, intermediate_size=4 * cfg.d_model,
        num_hidden_layers=cfg.n_layers, num_attention_heads=cfg.n_heads, num_key_value_heads=cfg.n_heads,
        max_position_embeddings=4 * cfg.seq_len, tie_word_embeddings=True, pad_token_id=pad_id,
        bos_token_id=None, eos_token_id=None,
    )
    torch.manual_seed(cfg.seed)
    return LlamaForCausalLM(config)


def pretrain_ladder(world: MicroWorld, cfg: LadderConfig, out_dir: str | Path, *,
                    progress: Callable[[int, int, float], None] | None = None) -> list[dict]:
    """Train the ladder's model on `world`'s corpus, saving a checkpoint folder ``out_dir/step{N}`` at each
    of `cfg.checkpoint_steps()`. Returns (and writes to ``out_dir/ladder.json``) one record per
    checkpoint: path, name, step, tokens (pretraining tokens seen), params, train_loss (nats/token).
    `progress(step, total, train_loss)` is called every step. Deterministic for a fixed world, config
    and thread count."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Writing model shards" bar per checkpoint
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, cfg.threads))
    tok = build_tokenizer(world.words)
    tokens_needed = cfg.steps * cfg.batch_size * cfg.seq_len // 2 + cfg.seq_len + 1  # ~2 epochs of a fixed corpus
    words = world.corpus_words(tokens_needed, stream="train")
    vocab = tok.get_vocab()
    unk = vocab[tok.unk_token]
    ids = torch.tensor([vocab.get(w, unk) for w in words], dtype=torch.long)
    model = build_model(cfg, len(vocab), tok.pad_token_id)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    saves = set(cfg.checkpoint_steps())
    records: list[dict] = []
    model.train()
    start = time.perf_counter()
    offsets = torch.arange(cfg.seq_len + 1)
    for step in range(1, cfg.steps + 1):
        for g in opt.param_groups:
            g["lr"] = _lr(step - 1, cfg)
        ix = torch.randint(0, len(ids) - cfg.seq_len - 1, (cfg.batch_size,), generator=gen)
        window = ids[ix[:, None] + offsets]
        x, y = window[:, :-1], window[:, 1:]
        logits = model(input_ids=x).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if progress is not None:
            progress(step, cfg.steps, float(loss.detach()))
        if step in saves:
            folder = out / f"step{step}"
            model.save_pretrained(folder)
            tok.save_pretrained(folder)
            records.append({"path": str(folder), "name": f"step{step}", "step": step,
                            "tokens": float(step * cfg.batch_size * cfg.seq_len), "params": int(params),
                            "train_loss": float(loss.detach())})
    meta = {"config": cfg.to_dict(), "world": world.config.to_dict(), "params": int(params),
            "seconds": time.perf_counter() - start, "checkpoints": records}
    (out / "ladder.json").write_text(json.dumps(meta, indent=1))
    return records
