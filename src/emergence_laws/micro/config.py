"""What `emergence demo` runs: the world, the ladder, the job grid, and the `--quick` variant."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace

from emergence_laws.errors import ConfigError
from emergence_laws.micro.pretrain import LadderConfig
from emergence_laws.micro.world import WorldConfig


@dataclass(frozen=True)
class DemoConfig:
    """The demo's whole design.

    `shots`: in-context examples of the few-shot evaluation. `n_train`: finetuning data amounts
    (examples), `subsets` random subsets each; finetuning by `method` ("lora": rank `lora_rank` at
    `lora_lr`; "full": at `lr`) for `epochs` passes at batch `batch_size`. `train_shots`: demonstrations
    in each finetuning prompt, drawn from the subset (None = `shots`: trained and evaluated in the
    few-shot prompt format, so that n_train → 0 is plain few-shot prompting; 0 = the paper's prompt →
    answer pairs, ~5× fewer tokens per example, the few-shot limit then carried by the D0 range alone);
    `finetuned_shots`: demonstrations when a finetuned checkpoint is evaluated (None = `train_shots`'s
    value, the format it was trained in). The finetuned checkpoints are those with between 1/`window` and 1/`k_min` of the
    compute of the first checkpoint whose few-shot accuracy is above chance (`alpha`: one-sided
    binomial level), every `finetune_every`-th of them. The other method runs on the
    `compare_n_train` amounts of the `compare_checkpoints` strongest checkpoints of the headline fit
    set, for the comparison of LoRA with full finetuning.

    The headline prediction fits only checkpoints with at most 1/`k` of that compute; `ahead` are the
    k of the sweep. The low-data limit D0 is not tuned: it is unknown in `d0_range` (multiples of
    `shots`; the paper finds the answer barely moves below 10 × shots) and its uncertainty is in the
    interval (`bootstrap` replicates).
    """

    world: WorldConfig = field(default_factory=WorldConfig)
    ladder: LadderConfig = field(default_factory=lambda: LadderConfig(
        steps=2400, checkpoints=30, first_checkpoint=40, spacing="log"))
    shots: int = 4
    n_train: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048)
    subsets: int = 2
    method: str = "full"
    lr: float = 3e-3
    epochs: int = 4
    batch_size: int = 16
    train_shots: int | None = None
    finetuned_shots: int | None = None
    lora_rank: int = 1
    lora_lr: float = 1e-2
    compare_n_train: tuple[int, ...] = (256, 2048)
    compare_checkpoints: int = 3
    bootstrap: int = 200
    alpha: float = 1e-3
    eval_batch_size: int = 64
    k: float = 4.0
    ahead: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    window: float = 16.0
    k_min: float = 1.0
    finetune_every: int = 2
    d0_range: tuple[float, float] = (1.0, 10.0)

    def __post_init__(self) -> None:
        if self.method not in ("full", "lora"):
            raise ConfigError(f"demo method {self.method!r} is unknown; use full or lora")

    @property
    def training_shots(self) -> int:
        """Demonstrations in each finetuning prompt."""
        return self.shots if self.train_shots is None else self.train_shots

    @property
    def finetuned_eval_shots(self) -> int:
        """Demonstrations when a finetuned checkpoint is evaluated."""
        return self.training_shots if self.finetuned_shots is None else self.finetuned_shots

    @property
    def compare_method(self) -> str:
        """The method run beside `method` for the LoRA-vs-full comparison."""
        return "full" if self.method == "lora" else "lora"

    @property
    def d0_examples(self) -> tuple[float, float]:
        """The D0 range in examples."""
        return (self.d0_range[0] * self.shots, self.d0_range[1] * self.shots)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["world"] = self.world.to_dict()
        d["ladder"] = self.ladder.to_dict()
        return d

    def key(self) -> str:
        """Digest of everything that determines the ladder and the results (the cache folder's name)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def ladder_key(self) -> str:
        """Digest of what determines the pretrained checkpoints alone (not the task's pool sizes: presets
        that differ only in those share a ladder)."""
        world = {k: v for k, v in self.world.to_dict().items() if k not in ("n_train", "n_test")}
        blob = {"world": world, "ladder": self.ladder.to_dict()}
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]

    def with_seed(self, seed: int) -> DemoConfig:
        """The same design with another world and initialisation seed."""
        return replace(self, world=replace(self.world, seed=seed), ladder=replace(self.ladder, seed=seed))


def default_config(seed: int = 0) -> DemoConfig:
    """The default demo (≤ 10 minutes on a 2-core CPU from a cold cache)."""
    return DemoConfig().with_seed(seed)


def quick_config(seed: int = 0) -> DemoConfig:
    """A smaller ladder and grid for tests (≤ 2 minutes); its numbers need not meet the quality bar."""
    cfg = DemoConfig(
        world=WorldConfig(record_frac=0.4, n_train=512, n_test=200),
        ladder=LadderConfig(steps=800, checkpoints=14, first_checkpoint=40, spacing="log"),
        n_train=(32, 128, 512), subsets=1, compare_n_train=(512,), compare_checkpoints=2, bootstrap=20,
        k=2.0, ahead=(1.0, 2.0), window=4.0, finetune_every=2,
    )
    return cfg.with_seed(seed)
