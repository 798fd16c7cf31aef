"""Study folders on disk for tests, benchmarks and trying the tool: a small multiple-choice task, tiny
checkpoints with a reference text and a study YAML, and a ladder whose accuracy follows a known law.

    from emergence_laws.testing.study_files import write_study
    cfg = load_study(write_study(tmp_path))    # two tiny checkpoints, few-shot and finetuning jobs
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import yaml

LETTERS = "abcdefgh"


def write_task(path: Path, n: int = 24, seed: int = 0) -> Path:
    """A multiple-choice JSONL task: which letter comes after X? (split fields: 2/3 train)."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        k = rng.randrange(len(LETTERS) - 1)
        choices = [LETTERS[k + 1], LETTERS[(k + 3) % len(LETTERS)]]
        rng.shuffle(choices)
        lines.append(json.dumps({"question": f"After {LETTERS[k]} comes", "choices": choices,
                                 "answer": choices.index(LETTERS[k + 1]),
                                 "split": "train" if i % 3 else "test"}))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_study(root: Path, *, archs=("llama", "gpt_neox"), n_train=(2, 4), seeds=2, shots=(0, 1),
                executor: dict | None = None, extra: dict | None = None, method: str = "full") -> Path:
    """Tiny checkpoints + task + reference text + study.yaml under `root`; returns the YAML path."""
    from emergence_laws.testing.tiny_models import save_tiny_model

    root.mkdir(parents=True, exist_ok=True)
    ladder = []
    for i, arch in enumerate(archs):
        name = f"tiny-{i}-{arch}"
        if not (root / "models" / name / "config.json").exists():
            save_tiny_model(root / "models" / name, arch=arch, seed=i, hidden=16 + 16 * i)
        ladder.append({"path": f"models/{name}", "tokens": 1e6 * (i + 1)})
    write_task(root / "task.jsonl")
    (root / "reference.txt").write_text("the cat sat on the mat. " * 40)
    cfg = {
        "name": "tiny",
        "ladder": ladder,
        "reference": {"path": "reference.txt", "max_tokens": 256, "seq_len": 64},
        "task": {"path": "task.jsonl"},
        "fewshot": {"shots": list(shots), "seeds": 1},
        "finetune": {"n_train": list(n_train), "seeds": seeds, "method": method, "lr": 1e-3, "max_steps": 2,
                     "batch_size": 2},
        "eval": {"batch_size": 8, "device": "cpu", "dtype": "float32"},
        "executor": executor or {"kind": "local", "workers": 1},
    }
    if not n_train:  # a few-shot-only study has no finetune section (an empty n_train is refused)
        del cfg["finetune"]
    cfg.update(extra or {})
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


# ------------------------------------------------------------- a ladder that follows a known law
LAW = {"A": 0.6, "B": 0.25, "k": 0.3, "alpha": 1.0, "C": 2.0}  # E(D) = k*(log D)^alpha + C (nats)


def write_law_study(root: Path, losses=(4.0, 3.7, 3.4, 3.1, 2.8, 2.5, 2.2), n_train=(8, 32, 128, 512),
                    shots: int = 5) -> Path:
    """A study whose 'checkpoints' are bare folders with a config.json holding their loss; with a job body
    that reads it (tests/study_support.py's `law_job`) every job's accuracy follows Perf = A*ReLU(E(D) - L) + B
    exactly (plus seed noise), `LAW` holding the parameters."""
    root.mkdir(parents=True, exist_ok=True)
    ladder = []
    for i, loss in enumerate(losses):
        d = root / "ckpts" / f"m{i}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "config.json").write_text(json.dumps({"fake_loss": loss}))
        ladder.append({"path": f"ckpts/m{i}", "params": int(1e6 * 2 ** i)})
    write_task(root / "task.jsonl", n=1200)
    (root / "ref.txt").write_text("reference text " * 10)
    cfg = {"name": "law", "ladder": ladder, "reference": "ref.txt", "task": "task.jsonl",
           "fewshot": {"shots": [shots]}, "finetune": {"n_train": list(n_train), "seeds": 2}}
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path
