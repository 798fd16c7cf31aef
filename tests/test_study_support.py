"""Helpers for the study tests: a study folder on disk (tiny checkpoints, task, reference text)
and a fast, deterministic job body that stands in for real evaluation where only the grid,
keys, store, resume and executors are under test. No tests here."""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
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
    from tests.tiny_models import save_tiny_model

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
    cfg.update(extra or {})
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def fake_job(job) -> list[dict]:
    """A deterministic stand-in for run_job: values derived from the job key; records its worker pid."""
    h = int(hashlib.sha256(job.key.encode()).hexdigest()[:8], 16)
    delay = float(os.environ.get("FAKE_JOB_SECONDS", "0"))
    if delay:
        time.sleep(delay)
    if job.kind == "measure":
        return [{"pretrain_loss": 2.0 + (h % 1000) / 1000, "params": 1000 + h % 97, "pid": os.getpid()}]
    acc = (h % 1000) / 1000
    base = {"model": job.checkpoint.model_id, "task": "letters", "n_train": job.n_train, "shots": job.shots,
            "seed": job.seed, "method": job.method, "n_eval": 8, "family": "tiny", "pid": os.getpid()}
    return [{**base, "metric": "accuracy", "value": acc, "chance": 0.5},
            {**base, "metric": "loglik", "value": -1.0 - acc}]  # a log-likelihood has no chance value here


def failing_job(job) -> list[dict]:
    """Fails on finetuning jobs with n_train == 4; otherwise like fake_job."""
    if job.kind == "finetune" and job.n_train == 4:
        raise RuntimeError("synthetic failure")
    return fake_job(job)


def slow_fake_job(job) -> list[dict]:
    """fake_job after 0.3 s, so that concurrent workers overlap."""
    time.sleep(0.3)
    return fake_job(job)


def crash_once_job(marker_dir: str, job) -> list[dict]:
    """Kills its own worker process the first time it runs a given job (a marker file in
    `marker_dir` remembers), then behaves like fake_job: exercises executor retries.
    Use as functools.partial(crash_once_job, marker_dir)."""
    marker = Path(marker_dir) / job.key
    if not marker.exists():
        marker.write_text("crashed")
        os._exit(1)
    return fake_job(job)


# ------------------------------------------------------------- a ladder that follows a known law
LAW = {"A": 0.6, "B": 0.25, "k": 0.3, "alpha": 1.0, "C": 2.0}  # E(D) = k*(log D)^alpha + C (nats)


def write_law_study(root: Path, losses=(4.0, 3.7, 3.4, 3.1, 2.8, 2.5, 2.2), n_train=(8, 32, 128, 512),
                    shots: int = 5) -> Path:
    """A study whose 'checkpoints' are bare folders with a config.json holding their loss; with
    `law_job` every job's accuracy follows Perf = A*ReLU(E(D) - L) + B exactly (plus seed noise)."""
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


def law_job(job) -> list[dict]:
    """Measure: the loss in the folder's config.json. Eval: accuracy from the known law."""
    import math

    loss = json.loads((Path(job.checkpoint.path) / "config.json").read_text())["fake_loss"]
    if job.kind == "measure":
        return [{"pretrain_loss": loss, "params": job.checkpoint.params}]
    d = job.n_train if job.kind == "finetune" else job.shots
    elbow = LAW["k"] * math.log(d) ** LAW["alpha"] + LAW["C"]
    noise = random.Random(job.key).gauss(0, 0.01)
    acc = min(1.0, LAW["A"] * max(0.0, elbow - loss) + LAW["B"] + noise)
    return [{"model": job.checkpoint.model_id, "task": "letters", "metric": "accuracy", "value": acc,
             "n_train": job.n_train, "shots": job.shots, "seed": job.seed, "method": job.method, "chance": 0.25,
             "n_eval": 400}]
