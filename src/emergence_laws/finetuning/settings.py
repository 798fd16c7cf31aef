"""How a model is finetuned: the hyperparameters, declared once with their constraints.

`FinetuneSettings` holds them; `FinetuneConfig` adds the run's seed (one call of `finetune`), and the
study's `FinetuneGrid` adds its axes (data amounts, seeds, evaluation shots): the study YAML's
``finetune:`` keys, the `eval` command's flags and the Python API all read these fields and the one
`_parameter_constraints` table.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from emergence_laws.constraints import Check, Constraints, Interval, Options, check_fields
from emergence_laws.models.dtypes import TRAIN_DTYPES

#: The default peak learning rate of each method (`FinetuneSettings.lr` = None).
DEFAULT_LR: dict[str, float] = {"full": 1e-4, "lora": 1e-3}

_BOOL = Options((True, False))


def _module_names(value: Any, key: str) -> str | None:
    if isinstance(value, str) or (isinstance(value, (tuple, list)) and value and all(isinstance(v, str) for v in value)):
        return None
    return f"{value!r}; give a module name or a list of them (e.g. [q_proj, v_proj]), or leave it unset"


@dataclass(frozen=True, kw_only=True)
class FinetuneSettings:
    """Finetuning hyperparameters.

    Attributes:
        method: "full" (all weights) or "lora" (peft adapters; merged into the weights after training).
        lora_rank: rank of the LoRA adapters.
        lora_alpha: LoRA scaling numerator (scaling `lora_alpha / lora_rank`); None = 2 x rank.
        lora_target_modules: the modules that get adapters; None = peft's default for the architecture.
        lr: peak learning rate (AdamW, linear warmup over `warmup_frac` of the steps, then cosine decay
            to 10%); None = `DEFAULT_LR` of the method (1e-4 full, 1e-3 LoRA).
        epochs: passes over the examples (when `max_steps` is None).
        max_steps: exactly this many optimizer steps (overrides `epochs`).
        batch_size: examples per optimizer step.
        weight_decay: AdamW weight decay (not on biases and norms).
        warmup_frac: share of the steps with a rising learning rate, in [0, 1).
        grad_clip: gradient norm clip; None = no clipping.
        dtype: "auto" (bf16 autocast on CUDA, float32 on CPU), "float32" or "bfloat16" (autocast).
        append_eos: end each answer with EOS so generation learns to stop; None = on for generation tasks,
            off for multiple choice.
        group_by_length: draw batches from seeded mega-batches of 50 batches sorted by length (less padding).
        train_shots: demonstrations in each training prompt, drawn from the finetuning examples themselves
            (0 = the zero-shot prompt): train in the format the model is evaluated in. Not the evaluation's
            `shots`.
    """

    method: str = "full"
    lora_rank: int = 8
    lora_alpha: float | None = None
    lora_target_modules: tuple[str, ...] | str | None = None
    lr: float | None = None
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 8
    weight_decay: float = 0.0
    warmup_frac: float = 0.1
    grad_clip: float | None = 1.0
    dtype: str = "auto"
    append_eos: bool | None = None
    group_by_length: bool = True
    train_shots: int = 0

    _parameter_constraints: ClassVar[Constraints] = {
        "method": [Options(tuple(DEFAULT_LR), note=" is not supported")],
        "lora_rank": [Interval(int, 1)],
        "lora_alpha": [Interval(float, 0, closed="neither", example="16"), None],
        "lora_target_modules": [Check(_module_names, "a module name or a list of them"), None],
        "lr": [Interval(float, 0, closed="neither", example="1e-4"), None],
        "epochs": [Interval(int, 1)],
        "max_steps": [Interval(int, 1), None],
        "batch_size": [Interval(int, 1)],
        "weight_decay": [Interval(float, 0, closed="left", example="0.01")],
        "warmup_frac": [Interval(float, 0, 1, closed="left", example="0.1")],
        "grad_clip": [Interval(float, 0, closed="neither", example="1.0"), None],
        "dtype": [Options(TRAIN_DTYPES)],
        "append_eos": [_BOOL, None],
        "group_by_length": [_BOOL],
        "train_shots": [Interval(int, 0)],
    }

    #: Fields that matter only to LoRA (left out of a full finetuning's job key).
    _LORA_ONLY: ClassVar[tuple[str, ...]] = ("lora_rank", "lora_alpha", "lora_target_modules")
    #: Fields always in the job key (the others only when they differ from their default).
    _ALWAYS_KEYED: ClassVar[tuple[str, ...]] = ("method", "epochs", "max_steps", "batch_size")

    @property
    def learning_rate(self) -> float:
        """The effective peak learning rate: `lr`, else the method's `DEFAULT_LR`."""
        return float(self.lr) if self.lr is not None else DEFAULT_LR[self.method]

    def hyperparameters(self) -> dict[str, Any]:
        """What a finetuning job's key must include: method, learning rate, epochs, max_steps, batch size,
        the LoRA rank (LoRA), and every other setting that differs from its default."""
        hp: dict[str, Any] = {k: getattr(self, k) for k in self._ALWAYS_KEYED}
        hp["lr"] = self.learning_rate
        if self.method == "lora":
            hp["lora_rank"] = self.lora_rank
        for f in fields(FinetuneSettings):
            if f.name in hp or f.name == "lr" or (f.name in self._LORA_ONLY and self.method != "lora"):
                continue
            value = getattr(self, f.name)
            if value != f.default:
                hp[f.name] = list(value) if isinstance(value, tuple) else value
        return hp

    def settings(self) -> dict[str, Any]:
        """The hyperparameters as keyword arguments of `FinetuneSettings` (or `FinetuneConfig`)."""
        return {f.name: getattr(self, f.name) for f in fields(FinetuneSettings)}

    def config_for(self, seed: int) -> FinetuneConfig:
        """One finetuning run with these hyperparameters and `seed`."""
        return FinetuneConfig(**self.settings(), seed=seed)


@dataclass(frozen=True, kw_only=True)
class FinetuneConfig(FinetuneSettings):
    """How `finetune` trains: the hyperparameters (`FinetuneSettings`), the run's `seed` (data order, LoRA
    init, dropout, the training prompts' demonstrations) and `merge_lora` (False: return the peft model
    with its adapters unmerged). Checked on construction (SettingError naming the field)."""

    seed: int = 0
    merge_lora: bool = True

    _parameter_constraints: ClassVar[Constraints] = {
        **FinetuneSettings._parameter_constraints,
        "seed": [Interval(int, 0)],
        "merge_lora": [_BOOL],
    }

    def __post_init__(self) -> None:
        check_fields(self, section="finetune")
