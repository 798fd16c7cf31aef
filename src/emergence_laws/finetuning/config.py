"""Finetuning hyperparameters."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from emergence_laws.errors import ConfigError


@dataclass(frozen=True)
class FinetuneConfig:
    """How to finetune. `method`: "full" (all weights) or "lora" (peft adapters of rank
    `lora_rank`, scaling `lora_alpha / lora_rank`; alpha defaults to 2·rank; merged into the
    weights afterwards unless `merge_lora=False`). `lr` defaults to 1e-4 (full) / 1e-3 (lora);
    AdamW with linear warmup over `warmup_frac` of the steps then cosine decay to 10%.
    Training runs `epochs` passes over the examples, or exactly `max_steps` optimizer steps
    when given. `dtype`: "auto" (bf16 autocast on CUDA, fp32 on CPU), "float32" or "bfloat16"
    (autocast). `append_eos`: end each answer with EOS so generation learns to stop (default: on
    for generation tasks, off for multiple choice). `group_by_length`: batches are drawn from
    seeded random mega-batches of 50 batches sorted by length (less padding, same data per
    epoch; like Trainer's `group_by_length`). `shots`: demonstrations in each training prompt, drawn
    by `seed` from the finetuning examples themselves (0 = the zero-shot prompt): train in the format
    the model is evaluated in."""

    method: str = "full"
    lora_rank: int = 8
    lora_alpha: float | None = None
    lora_target_modules: tuple[str, ...] | str | None = None
    merge_lora: bool = True
    lr: float | None = None
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 8
    seed: int = 0
    weight_decay: float = 0.0
    warmup_frac: float = 0.1
    grad_clip: float | None = 1.0
    dtype: str = "auto"
    append_eos: bool | None = None
    group_by_length: bool = True
    shots: int = 0

    def __post_init__(self) -> None:
        if self.method not in ("full", "lora"):
            raise ConfigError(f"finetuning method {self.method!r} is unknown; use 'full' or 'lora'")
        if self.method == "lora" and self.lora_rank < 1:
            raise ConfigError(f"lora_rank must be >= 1, got {self.lora_rank}")
        if self.batch_size < 1:
            raise ConfigError(f"finetuning batch_size must be >= 1, got {self.batch_size}")
        if self.max_steps is None and self.epochs < 1:
            raise ConfigError(f"finetuning epochs must be >= 1 (or set max_steps), got {self.epochs}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"finetuning max_steps must be >= 1, got {self.max_steps}")
        if not 0.0 <= self.warmup_frac < 1.0:
            raise ConfigError(f"warmup_frac must be in [0, 1), got {self.warmup_frac}")
        if self.lr is not None and not self.lr > 0:
            raise ConfigError(f"finetuning lr must be > 0, got {self.lr}")
        if self.shots < 0:
            raise ConfigError(f"finetuning shots must be >= 0, got {self.shots}")
        if self.dtype not in ("auto", "float32", "bfloat16"):
            raise ConfigError(f"finetuning dtype {self.dtype!r} is unknown; use auto, float32 or bfloat16")

    @property
    def learning_rate(self) -> float:
        """The effective learning rate."""
        if self.lr is not None:
            return float(self.lr)
        return 1e-4 if self.method == "full" else 1e-3

    def to_dict(self) -> dict:
        """JSON-ready dict (for job keys)."""
        d = asdict(self)
        if isinstance(d["lora_target_modules"], tuple):
            d["lora_target_modules"] = list(d["lora_target_modules"])
        return d
