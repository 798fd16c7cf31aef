"""bf16 finetuning on CPU: frozen weights held in bf16 and eager attention only while training; the
model comes back in fp32 with its attention implementation, tied weights tied, and it has learned."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from emergence_laws.evaluation import evaluate_task
from emergence_laws.finetuning import FinetuneConfig, finetune
from emergence_laws.finetuning.train import _bf16_training
from emergence_laws.tasks import Example, TaskSpec
from emergence_laws.testing.tiny_models import build_tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")

GEN = tuple(Example(prompt=f"Q: {w}\nA:", target=t) for w, t in
            [("cat", "dog"), ("tree", "apple"), ("the", "in"), ("her", "on"), ("runs", "is"), ("an", "the")])
TASK = TaskSpec("pairs", "generation", GEN, GEN)


def test_bf16_training_context_swaps_and_restores():
    model, _ = build_tiny_model("llama", seed=2)
    model.config.tie_word_embeddings = True
    model.tie_weights()
    for p in model.parameters():
        p.requires_grad_(False)
    before = {n: p for n, p in model.named_parameters()}
    impl = model.config._attn_implementation
    with _bf16_training(model, torch.device("cpu"), True):
        assert model.lm_head.weight.dtype == torch.bfloat16
        assert model.model.layers[0].mlp.up_proj.weight.dtype == torch.bfloat16
        assert model.model.embed_tokens.weight.dtype == torch.float32  # lookups stay fp32, as autocast leaves them
        if impl == "sdpa":
            assert model.config._attn_implementation == "eager"
    assert model.config._attn_implementation == impl
    assert all(p is before[n] and p.dtype == torch.float32 for n, p in model.named_parameters())
    assert model.lm_head.weight is model.model.embed_tokens.weight


@pytest.mark.parametrize("method", ["lora", "full"])
def test_bf16_finetuning_learns_and_returns_an_fp32_model(method):
    model, tok = build_tiny_model("llama", seed=3)
    tok.pad_token = tok.eos_token
    impl = model.config._attn_implementation
    cfg = FinetuneConfig(method=method, lora_rank=1, lr=3e-2 if method == "lora" else 1e-2, max_steps=30,
                         batch_size=6, warmup_frac=0.0, dtype="bfloat16")
    before = evaluate_task(model, tok, TASK).metrics["loglik"]
    stats: dict = {}
    tuned = finetune(model, tok, TASK, GEN, cfg, stats=stats)
    assert {p.dtype for p in tuned.parameters()} == {torch.float32}
    assert tuned.config._attn_implementation == impl
    assert evaluate_task(tuned, tok, TASK).metrics["loglik"] > before + 1.0
    assert stats["losses"][-1] < stats["losses"][0]
    # fp32 and bf16 runs learn the same thing, up to bf16 rounding
    ref_stats: dict = {}
    finetune(model, tok, TASK, GEN, dataclasses.replace(cfg, dtype="float32",
                                                                   lora_target_modules=None), stats=ref_stats)
    assert stats["losses"][0] == pytest.approx(ref_stats["losses"][0], rel=0.02)


@pytest.mark.parametrize("pad_is_eos", [False, True])
def test_tied_embedding_gradient_shortcut_trains_exactly_like_autograd(monkeypatch, pad_is_eos):
    from transformers import LlamaConfig, LlamaForCausalLM

    from emergence_laws.finetuning import train

    base, tok = build_tiny_model("llama", seed=5)
    tok.pad_token = tok.eos_token
    cfg = LlamaConfig(**{**base.config.to_dict(), "tie_word_embeddings": True,
                         "pad_token_id": tok.eos_token_id if pad_is_eos else None})
    torch.manual_seed(5)
    model = LlamaForCausalLM(cfg).eval()
    assert model.lm_head.weight is model.model.embed_tokens.weight
    assert (model.model.embed_tokens.padding_idx is not None) == pad_is_eos
    ft = FinetuneConfig(method="full", lr=1e-2, max_steps=4, batch_size=3, seed=1)
    assert train.tied_input_embedding(model) is model.model.embed_tokens
    model.model.embed_tokens.weight.requires_grad_(False)
    assert train.tied_input_embedding(model) is None  # frozen (as under LoRA): nothing to do
    fast = finetune(model, tok, TASK, GEN, ft)
    monkeypatch.setattr(train, "tied_input_embedding", lambda m: None)
    plain = finetune(model, tok, TASK, GEN, ft)
    assert fast.lm_head.weight is fast.model.embed_tokens.weight
    for (name, a), (_, b) in zip(fast.state_dict().items(), plain.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    assert not torch.equal(fast.model.embed_tokens.weight, model.model.embed_tokens.weight)
