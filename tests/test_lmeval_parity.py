"""Parity with lm-evaluation-harness: same tiny checkpoint on disk, same local task YAML, same numbers."""

from __future__ import annotations

import json
import random

import pytest
import torch
from tiny_models import save_tiny_model

from emergence_laws.evaluation import evaluate_task, loglikelihood
from emergence_laws.models import load_model
from emergence_laws.tasks import load_task


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models gain nothing from intra-op threads, and spin-waiting threads crawl on a busy 2-core box."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


WORDS = ["the", "cat", "dog", "is", "an", "apple", "tree", "runs", "in", "on", "her"]

YAML = """task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    train: {dir}/train.jsonl
    test: {dir}/test.jsonl
training_split: train
test_split: test
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: choices
doc_to_target: answer
num_fewshot: {shots}
metric_list:
  - metric: acc
  - metric: acc_norm
"""


def _write_task(d):
    rng = random.Random(0)

    def sent(n):
        return " ".join(rng.choice(WORDS) for _ in range(n))

    for split, n in (("train", 10), ("test", 16)):
        with open(d / f"{split}.jsonl", "w") as fh:
            for _ in range(n):
                k = rng.randint(2, 4)
                row = {"question": sent(rng.randint(1, 12)), "choices": [sent(rng.randint(1, 3)) for _ in range(k)],
                       "answer": rng.randrange(k)}
                fh.write(json.dumps(row) + "\n")
    (d / "tiny_mc.yaml").write_text(YAML.format(name="tiny_mc", dir=d, shots=0))
    (d / "tiny_mc_2shot.yaml").write_text(YAML.format(name="tiny_mc_2shot", dir=d, shots=2))


@pytest.mark.lmeval
@pytest.mark.parametrize("arch", ["llama", "gpt_neox"])
def test_loglikelihoods_and_accuracy_match_lm_eval(tmp_path, arch):
    lm_eval = pytest.importorskip("lm_eval")
    from lm_eval.tasks import TaskManager

    model_dir = save_tiny_model(tmp_path / arch, arch=arch)
    task_dir = tmp_path / "tasks"
    task_dir.mkdir()
    _write_task(task_dir)

    out = lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={model_dir},dtype=float32", tasks=["tiny_mc", "tiny_mc_2shot"],
        task_manager=TaskManager(include_path=str(task_dir), include_defaults=False), log_samples=True, batch_size=4, device="cpu",
    )

    model, tok = load_model(str(model_dir), device="cpu", dtype="float32")

    # 0-shot: our whole pipeline (YAML loading, prompts, tokenisation, scoring, metrics) vs lm-eval's.
    task = load_task(task_dir / "tiny_mc.yaml")
    ours = evaluate_task(model, tok, task, shots=0, batch_size=5)
    samples = sorted(out["samples"]["tiny_mc"], key=lambda s: s["doc_id"])
    assert len(samples) == ours.n_eval == 16
    for s, mine in zip(samples, ours.per_example):
        theirs = [float(r[0]) for r in s["filtered_resps"]]
        assert mine["context"] == s["arguments"][0][0]
        assert mine["logliks"] == pytest.approx(theirs, abs=1e-4)
        assert mine["is_greedy"] == [bool(r[1]) for r in s["filtered_resps"]]
        assert mine["accuracy"] == s["acc"]
        assert mine["acc_norm"] == s["acc_norm"]
    res = out["results"]["tiny_mc"]
    assert ours.metrics["accuracy"] == pytest.approx(res["acc,none"], abs=1e-12)
    assert ours.metrics["acc_norm"] == pytest.approx(res["acc_norm,none"], abs=1e-12)
    assert ours.stderr["accuracy"] == pytest.approx(res["acc_stderr,none"], abs=1e-9)

    # 2-shot: lm-eval's own (longer) requests through our packed, batched scorer.
    requests, theirs = [], []
    for s in out["samples"]["tiny_mc_2shot"]:
        for args, r in zip(s["arguments"], s["filtered_resps"]):
            requests.append(tuple(args))
            theirs.append(float(r[0]))
    assert len(requests) > 30
    mine = loglikelihood(model, tok, requests, batch_size=3)
    assert [m.logprob for m in mine] == pytest.approx(theirs, abs=1e-4)
