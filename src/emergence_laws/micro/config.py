"""What `emergence demo` runs: the world, the ladder, the job grid, and the `--quick` variant."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace

from emergence_laws.micro.pretrain import LadderConfig
from emergence_laws.micro.world import WorldConfig


@dataclass(frozen=True)
class DemoConfig:
    """The demo's whole design. `shots`: in-context examples of the few-shot evaluation (and `D_0`
    of the law); `n_train`: finetuning data amounts (examples), `subsets` random subsets each;
    full finetuning at `lr` for `epochs` passes; LoRA (rank `lora_rank`, `lora_lr`) on the
    `lora_n_train` amounts for the comparison; `bootstrap` replicates for the interval;
    `alpha`: one-sided binomial level at which a checkpoint's few-shot accuracy counts as
    above chance (the first such checkpoint ends the fit set); `finetune_last`: how many of the
    strongest pre-emergence checkpoints are finetuned (weaker ones stay at chance whatever the data);
    `d0_multiple`: the low-data limit `D_0 = d0_multiple × shots` at which the law is read off (the
    brief's "a multiple of the number of in-context examples"; fixed at 10 on seed 0, then checked on
    other seeds); `ahead`: extra backtests that keep only checkpoints with at most 1/k of the compute
    of the first above-chance one, for each k (how far ahead the law still predicts)."""

    world: WorldConfig = field(default_factory=lambda: WorldConfig(record_frac=0.2))
    ladder: LadderConfig = field(default_factory=lambda: LadderConfig(steps=1800, checkpoints=24))
    shots: int = 4
    n_train: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048)
    subsets: int = 2
    lr: float = 3e-3
    epochs: int = 6
    batch_size: int = 16
    lora_rank: int = 8
    lora_lr: float = 1e-2
    lora_n_train: tuple[int, ...] = (512, 2048)
    bootstrap: int = 200
    alpha: float = 1e-3
    eval_batch_size: int = 64
    finetune_last: int = 6
    d0_multiple: float = 10.0
    ahead: tuple[float, ...] = (1.5, 2.0, 3.0)

    @property
    def d0(self) -> float:
        """The law's low-data limit D_0 (examples)."""
        return self.d0_multiple * self.shots

    def to_dict(self) -> dict:
        d = asdict(self)
        d["world"] = self.world.to_dict()
        d["ladder"] = self.ladder.to_dict()
        return d

    def key(self) -> str:
        """Digest of everything that determines the ladder and the results (the cache folder's name)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def ladder_key(self) -> str:
        """Digest of what determines the pretrained checkpoints alone."""
        blob = {"world": self.world.to_dict(), "ladder": self.ladder.to_dict()}
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
        world=WorldConfig(record_frac=0.4, n_train=512, n_test=100),
        ladder=LadderConfig(steps=800, checkpoints=10),
        n_train=(64, 256, 512), subsets=1, epochs=4, lora_n_train=(512,), bootstrap=20, finetune_last=3,
    )
    return cfg.with_seed(seed)
