"""Finetuning without a second copy of the weights: `in_place=True`, and study jobs that hand the
loaded checkpoint over to training (the next job reloads it) without one job's training leaking
into another's result."""

from __future__ import annotations

import pytest
import torch

from emergence_laws.study import load_study
from emergence_laws.finetuning import FinetuneConfig, finetune
from emergence_laws.study import jobs, run_study
from emergence_laws.study.grid import build_grid
from emergence_laws.tasks import Example, TaskSpec
from emergence_laws.testing.study_files import write_study
from emergence_laws.testing.tiny_models import build_tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")

GEN = tuple(Example(prompt=f"Q: {w}\nA:", target=t) for w, t in
            [("cat", "dog"), ("tree", "apple"), ("the", "in"), ("her", "on")])
TASK = TaskSpec("pairs", "generation", GEN, GEN)


@pytest.mark.parametrize("method", ["full", "lora"])
def test_in_place_trains_the_given_model_like_the_copying_path(method):
    cfg = FinetuneConfig(method=method, lora_rank=1, lr=1e-2, max_steps=3, batch_size=2, seed=5)
    model, tok = build_tiny_model("llama", seed=2)
    tok.pad_token = tok.eos_token
    copied = finetune(model, tok, TASK, GEN, cfg)
    ids = id(model.model.embed_tokens.weight)
    tuned = finetune(model, tok, TASK, GEN, cfg, in_place=True)
    if method == "full":
        assert tuned is model  # the very same module: no copy of the weights was made
    assert id(tuned.model.embed_tokens.weight) == ids
    ref, got = copied.state_dict(), tuned.state_dict()
    assert ref.keys() == got.keys()
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], rtol=1e-5, atol=1e-6)


def test_a_finetune_job_hands_its_model_over_and_the_next_job_reloads(tmp_path, model_loads):
    loads = model_loads
    cfg = load_study(write_study(tmp_path, archs=("llama",), n_train=(2,), seeds=2, shots=(0,), method="full"))
    jobs.clear_caches()
    try:
        whole = run_study(cfg, store=tmp_path / "whole.db", progress=False)
        # each finetuning job alone, in a fresh worker: same rows as inside the whole grid
        grid = build_grid(cfg)
        alone = {}
        for job in grid.evals:
            if job.kind == "finetune":
                jobs.clear_caches()
                alone[job.key] = {r["metric"]: r["value"] for r in jobs.run_job(job)}
    finally:
        jobs.clear_caches()
    # measure + few-shot share one load; each of the 2 finetuning jobs trains a loaded model in place,
    # so the second one reloads (then 2 more loads for the jobs run alone)
    assert len(loads) == 2 + 2
    ft = whole[whole.method == "full"]
    assert set(ft["run_key"]) == set(alone)
    for row in ft.itertuples():
        assert row.value == pytest.approx(alone[row.run_key][row.metric], rel=1e-6, abs=1e-6)
