"""Helpers for the study tests: fast, deterministic job bodies that stand in for real evaluation where only
the grid, keys, store, resume and executors are under test. No tests here. The study folders they run
on: `emergence_laws.testing.study_files`."""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from pathlib import Path

from emergence_laws.testing.study_files import LAW


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
