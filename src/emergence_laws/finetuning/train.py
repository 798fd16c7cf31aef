"""`finetune`: a short, plain PyTorch training loop (nanoGPT style) over task examples."""

from __future__ import annotations

import contextlib
import copy
import math
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from emergence_laws.errors import InputError
from emergence_laws.evaluation.loglikelihood import accepts_logits_to_keep, max_length
from emergence_laws.finetuning.training_data import IGNORE, collate, tokenize_examples
from emergence_laws.finetuning.settings import FinetuneConfig
from emergence_laws.progress import Progress
from emergence_laws.tasks.spec import Example, TaskSpec


def _lora_model(model, config: FinetuneConfig):
    from peft import LoraConfig, get_peft_model

    targets = config.lora_target_modules
    if targets is None:
        try:
            from peft.utils.constants import (
                TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as known,
            )
        except ImportError:  # older peft
            known = {}
        targets = known.get(getattr(model.config, "model_type", None), "all-linear")
    lcfg = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha or 2 * config.lora_rank,
                      lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
                      target_modules=list(targets) if isinstance(targets, (list, tuple)) else targets)
    with warnings.catch_warnings():  # peft calls a transformers API deprecated in v5
        warnings.simplefilter("ignore", FutureWarning)
        return get_peft_model(model, lcfg)


def _batch_order(n: int, bs: int, lengths: list[int], gen: torch.Generator, by_length: bool) -> list[list[int]]:
    """One epoch of batches: a seeded shuffle, optionally length-sorted within mega-batches of 50 batches."""
    order = torch.randperm(n, generator=gen).tolist()
    if not by_length:
        return [order[b : b + bs] for b in range(0, n, bs)]
    mega = 50 * bs
    batches = []
    for m in range(0, n, mega):
        chunk = sorted(order[m : m + mega], key=lambda i: -lengths[i])
        batches.extend(chunk[b : b + bs] for b in range(0, len(chunk), bs))
    perm = torch.randperm(len(batches), generator=gen).tolist()
    return [batches[i] for i in perm]


def answer_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy (nats/token) over positions whose label is not IGNORE (the answer)."""
    tgt = labels[:, 1:]
    keep = tgt != IGNORE
    return F.cross_entropy(logits[:, :-1][keep].float(), tgt[keep])


def _lr_at(step: int, total: int, warmup: int, lr: float) -> float:
    if warmup and step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


def _wants_bf16(config: FinetuneConfig, device: torch.device) -> bool:
    return config.dtype == "bfloat16" or (config.dtype == "auto" and device.type == "cuda")


def _autocast(config: FinetuneConfig, device: torch.device):
    if _wants_bf16(config, device):
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def _bf16_training(model, device: torch.device, enabled: bool):
    """What makes bf16 autocast pay off, for the duration of training (undone afterwards):

    - frozen Linear weights (LoRA's base model) are held in bf16: the very values autocast would
      cast them to at every forward pass, cast once (numerics unchanged, no per-step casts; the
      fp32 tensors stay referenced and come back before LoRA is merged);
    - on CPU, eager attention instead of SDPA, whose CPU flash-attention backward in bf16 is many
      times slower than its fp32 one (same attention, computed with plain matmuls).
    """
    if not enabled:
        yield
        return
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    prev = getattr(base.config, "_attn_implementation", None)
    switch = device.type == "cpu" and prev == "sdpa" and hasattr(base, "set_attn_implementation")
    swapped = []
    for mod in model.modules():
        w = getattr(mod, "weight", None)
        if isinstance(mod, torch.nn.Linear) and w is not None and w.dtype == torch.float32 and not w.requires_grad:
            swapped.append((mod, w))
            mod.weight = torch.nn.Parameter(w.detach().to(torch.bfloat16), requires_grad=False)
    try:
        if switch:
            base.set_attn_implementation("eager")
        yield
    finally:
        for mod, w in swapped:
            mod.weight = w
        if switch:
            base.set_attn_implementation(prev)


def tied_input_embedding(model) -> torch.nn.Embedding | None:
    """The input embedding when it is a plain `nn.Embedding` being trained whose weight is also the
    output (unembedding) matrix; else None. See `_train_step`."""
    get_in = getattr(model, "get_input_embeddings", None)
    get_out = getattr(model, "get_output_embeddings", None)
    emb = get_in() if callable(get_in) else None
    out = get_out() if callable(get_out) else None
    if type(emb) is torch.nn.Embedding and out is not None and getattr(out, "weight", None) is emb.weight \
            and emb.weight.requires_grad and emb.max_norm is None:
        return emb
    return None


def _train_step(model, batch: dict, device: torch.device, config: FinetuneConfig, slice_logits: bool,
                tied: torch.nn.Embedding | None) -> tuple[torch.Tensor, int]:
    """Forward and backward of one collated batch; returns (answer-token loss, non-pad tokens).

    The batch's last column is not fed to the model: its logits predict nothing and, attention being
    causal, no earlier position sees it (the same loss and gradients, one position less per row). No
    attention mask when nothing is padded (SDPA's causal fast path); no KV cache; the vocab
    projection only where an answer token is predicted (when the model supports it). With a tied
    input/output embedding (`tied`), the lookup's gradient is added into the output matrix's dense
    gradient row by row after the backward pass, instead of autograd building a second dense
    vocab × hidden gradient for the lookup and adding the two (the same gradient, without two
    full-size temporaries per step).
    """
    full_mask = batch["attention_mask"]
    n_tokens = int(full_mask.sum())
    cut = full_mask.shape[1] - 1 if full_mask.shape[1] > 1 else None  # inputs: every position but the last
    ids = batch["input_ids"][:, :cut].to(device)
    mask = full_mask[:, :cut].to(device)
    target = batch["labels"][:, 1:].to(device)  # target[:, t] is predicted at input position t
    if cut is None:  # a one-token batch predicts nothing: keep the old (empty) loss
        target = target.new_full(ids.shape, IGNORE)
    keep = target != IGNORE
    full = bool(mask.all())
    inputs: dict = {"input_ids": ids}
    embeds = None
    if tied is not None:
        embeds = F.embedding(ids, tied.weight.detach(), tied.padding_idx).requires_grad_(True)
        inputs = {"inputs_embeds": embeds}
    with _autocast(config, device):
        if slice_logits:
            logits = model(**inputs, attention_mask=None if full else mask, use_cache=False,
                           logits_to_keep=keep).logits
        else:
            logits = model(**inputs, attention_mask=None if full else mask, use_cache=False).logits[keep]
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), target[keep])
    loss.backward()
    if embeds is not None:
        rows = ids.reshape(-1)
        grads = embeds.grad.reshape(rows.numel(), -1).to(tied.weight.dtype)
        if tied.padding_idx is not None:  # nn.Embedding gives its padding row no gradient
            grads = grads.masked_fill((rows == tied.padding_idx)[:, None], 0.0)
        if tied.weight.grad is None:
            tied.weight.grad = torch.zeros_like(tied.weight)
        tied.weight.grad.index_add_(0, rows, grads)
    return loss, n_tokens


def _optimizer(params, config: FinetuneConfig):
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    try:
        return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(0.9, 0.999), fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(0.9, 0.999))


class _ClipInStep:
    """Clipping of the gradients' global L2 norm to `max_norm`, as `torch.nn.utils.clip_grad_norm_` does it
    (per-tensor norms, then factor min(1, max_norm / (norm + 1e-6))), with one pass over the gradients
    fewer: the fused AdamW kernel applies the factor while it reads the gradients (its `grad_scale`: it
    divides by 1 / factor) instead of a separate multiply. Only with a fused AdamW (see `_optimizer`)."""

    def __init__(self, params: list[torch.nn.Parameter], max_norm: float, opt: torch.optim.Optimizer):
        self.params, self.max_norm, self.opt = params, float(max_norm), opt

    def apply(self) -> None:
        """Sets the factor for the next `opt.step()` from this step's gradients."""
        grads = [p.grad for p in self.params if p.grad is not None]
        self.opt.grad_scale = None
        if grads:
            total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
            coef = self.max_norm / (total + 1e-6)
            if float(coef) < 1.0:  # else the gradients stay as they are, as with clip_grad_norm_'s clamp
                self.opt.grad_scale = (1.0 / coef).to(torch.float32)

    def close(self) -> None:
        self.opt.grad_scale = None


def finetune(model, tokenizer, task: TaskSpec, examples: Sequence[Example], config: FinetuneConfig | None = None,
             *, save_to: str | Path | None = None, stats: dict | None = None, in_place: bool = False,
             progress: bool | None = None):
    """Finetune `model` on `examples` and return the finetuned model in eval mode.

    By default a copy is trained and the caller's model is untouched; `in_place=True` trains
    `model` itself (no second copy of the weights in memory: use it when the checkpoint can be
    reloaded from disk, as the study's jobs do).

    Each example is the zero-shot evaluation prompt followed by `target_delimiter + answer`, and
    the loss (mean cross-entropy, nats/token) is on the answer tokens only. Deterministic by
    `config.seed` (data order, LoRA init, dropout). LoRA adapters are merged into the returned
    model unless `config.merge_lora` is False (then a peft model is returned). Weights are saved
    (with the tokenizer) only if `save_to` is given. If `stats` is a dict it receives
    steps, tokens (non-pad tokens seen), seconds, tokens_per_s, final_loss and losses (the training
    loss of every step, nats/token). `progress`: steps and the mean loss of the last 10 steps as
    training goes (None: the process setting, see `emergence_laws.progress`).
    """
    config = config or FinetuneConfig()
    if not examples:
        raise InputError(f"task {task.name!r}: no finetuning examples given; pass at least one")
    append_eos = config.append_eos if config.append_eos is not None else task.kind == "generation"
    data = tokenize_examples(tokenizer, task, examples, append_eos=append_eos, max_length=max_length(model),
                             shots=config.train_shots, seed=config.seed)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    n = len(data)
    bs = min(config.batch_size, n)
    steps_per_epoch = math.ceil(n / bs)
    total = config.max_steps or config.epochs * steps_per_epoch
    warmup = int(config.warmup_frac * total)

    fork_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(config.seed)
        work = model if in_place else copy.deepcopy(model)
        if config.method == "lora":
            work = _lora_model(work, config)
        else:
            for p in work.parameters():
                p.requires_grad_(True)
        work.train()
        params = [p for p in work.parameters() if p.requires_grad]
        opt = _optimizer(params, config)
        gen = torch.Generator().manual_seed(config.seed)
        lengths = [len(ids) for ids, _ in data]
        slice_logits = accepts_logits_to_keep(work)
        tied = tied_input_embedding(work)
        clip = None
        if config.grad_clip and opt.defaults.get("fused"):
            clip = _ClipInStep(params, config.grad_clip, opt)
        step, tokens, losses = 0, 0, []
        bar = Progress(total, "finetune", "step", enabled=progress)
        start = time.perf_counter()
        with _bf16_training(work, device, _wants_bf16(config, device)), contextlib.ExitStack() as undo:
            if clip is not None:
                undo.callback(clip.close)
            while step < total:
                for idx in _batch_order(n, bs, lengths, gen, config.group_by_length):
                    if step >= total:
                        break
                    for g in opt.param_groups:
                        g["lr"] = _lr_at(step, total, warmup, config.learning_rate)
                    loss, n_tokens = _train_step(work, collate([data[i] for i in idx], pad_id), device, config,
                                                 slice_logits, tied)
                    if clip is not None:
                        clip.apply()
                    elif config.grad_clip:
                        torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
                    opt.step()
                    opt.zero_grad(set_to_none=True)  # free the gradients before the next forward pass
                    step += 1
                    tokens += n_tokens
                    losses.append(float(loss.detach()))
                    bar.update(1, loss=sum(losses[-10:]) / len(losses[-10:]))
        seconds = time.perf_counter() - start
        bar.close()
    if config.method == "lora" and config.merge_lora:
        work = work.merge_and_unload()
    work.eval()
    for p in work.parameters():
        p.requires_grad_(False)
    if save_to is not None:
        Path(save_to).mkdir(parents=True, exist_ok=True)
        work.save_pretrained(save_to)
        tokenizer.save_pretrained(save_to)
    if stats is not None:
        stats.update(steps=step, tokens=tokens, seconds=seconds, tokens_per_s=tokens / max(seconds, 1e-9),
                     final_loss=losses[-1] if losses else float("nan"), losses=losses)
    return work
