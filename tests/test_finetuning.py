"""finetuning/: full and LoRA (rank 1) on both architectures; answer-only loss; determinism; no mutation."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from emergence_laws.errors import ConfigError, InputError
from emergence_laws.evaluation import evaluate_task
from emergence_laws.evaluation.tokenization import encode_pairs
from emergence_laws.finetuning import (
    FinetuneConfig,
    answer_loss,
    finetune,
    tokenize_examples,
)
from emergence_laws.finetuning.training_data import IGNORE, collate
from emergence_laws.models import load_model
from emergence_laws.tasks import Example, TaskSpec, build_fewshot_context
from emergence_laws.testing.tiny_models import ARCHS, build_tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")


GEN = tuple(Example(prompt=f"Q: {w}\nA:", target=t) for w, t in
            [("cat", "dog"), ("tree", "apple"), ("the", "in"), ("her", "on"), ("runs", "is"), ("an", "the")])
GEN_TASK = TaskSpec("pairs", "generation", GEN, GEN, target_delimiter=" ", stop=("\n",))
MC = tuple(Example(prompt=f"Which is {w}?", choices=("the cat", "a dog", "her"), answer=i % 3)
           for i, w in enumerate(["big", "small", "red", "blue", "old", "new"]))
MC_TASK = TaskSpec("mc", "multiple_choice", MC, MC)


@pytest.fixture(scope="module", params=ARCHS)
def lm(request):
    model, tok = build_tiny_model(request.param, seed=3)
    tok.pad_token = tok.eos_token
    return model, tok


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_labels_cover_answer_tokens_only_and_equal_the_tokens_evaluation_scores(lm):
    _, tok = lm
    for task, eos in ((GEN_TASK, True), (MC_TASK, False)):
        data = tokenize_examples(tok, task, task.train, append_eos=eos)
        pairs = [(build_fewshot_context(task, ex, shots=0), task.target_delimiter + ex.answer_text) for ex in task.train]
        for ex, (ids, labels), (ctx_ids, cont_ids) in zip(task.train, data, encode_pairs(tok, pairs)):
            n_prompt = sum(1 for y in labels if y == IGNORE)
            assert labels[:n_prompt] == [IGNORE] * n_prompt and IGNORE not in labels[n_prompt:]
            assert ids[:n_prompt] == ctx_ids and tok.decode(ctx_ids) == build_fewshot_context(task, ex, shots=0)
            assert labels[n_prompt:] == ids[n_prompt:] == cont_ids + ([tok.eos_token_id] if eos else [])
            if task is MC_TASK:  # no merge across the prompt/answer boundary here: the answer decodes whole
                assert tok.decode(cont_ids) == " " + ex.answer_text


def test_answer_loss_ignores_prompt_and_padding_positions():
    data = [([5, 6, 7, 8], [IGNORE, IGNORE, 7, 8]), ([5, 9], [IGNORE, 9])]
    batch = collate(data, pad_id=0)
    assert batch["labels"].tolist() == [[IGNORE, IGNORE, 7, 8], [IGNORE, 9, IGNORE, IGNORE]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 12)
    base = answer_loss(logits, batch["labels"])
    changed = logits.clone()
    changed[0, 1, 7] += 3.0       # raises the answer token 7's logit where it is predicted
    assert answer_loss(changed, batch["labels"]) != base
    only_prompt = logits.clone()
    only_prompt[0, 0] += 3.0 * torch.randn(12)  # predicts token 6 (prompt)
    only_prompt[0, 3] += 3.0 * torch.randn(12)  # predicts nothing (last position)
    only_prompt[1, 1:] += 3.0 * torch.randn(3, 12)  # predict padding
    assert torch.equal(answer_loss(only_prompt, batch["labels"]), base)
    want = -(torch.log_softmax(logits[0, 1], -1)[7] + torch.log_softmax(logits[0, 2], -1)[8]
             + torch.log_softmax(logits[1, 0], -1)[9]) / 3
    assert base == pytest.approx(float(want), abs=1e-6)


@pytest.mark.parametrize("method", ["full", "lora"])
def test_finetune_is_deterministic_and_leaves_the_callers_model_alone(lm, method):
    model, tok = lm
    before = _state(model)
    cfg = FinetuneConfig(method=method, lora_rank=1, lr=1e-2, epochs=2, batch_size=4, seed=7)
    stats = {}
    a = finetune(model, tok, GEN_TASK, GEN, cfg, stats=stats)
    b = finetune(model, tok, GEN_TASK, GEN, cfg)
    c = finetune(model, tok, GEN_TASK, GEN, dataclasses.replace(cfg, seed=8))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    sa, sb, sc = _state(a), _state(b), _state(c)
    assert sa.keys() == before.keys()  # LoRA merged back: a plain model of the same architecture
    assert type(a) is type(model) and not a.training
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)
    assert any(not torch.equal(sa[k], before[k]) for k in sa)
    assert stats["steps"] == 4 and stats["tokens"] > 0 and stats["tokens_per_s"] > 0
    if method == "lora":  # rank-1 adapters on the attention projections only
        changed = [k for k in sa if not torch.equal(sa[k], before[k])]
        assert changed and all("attn" in k or "attention" in k for k in changed)


@pytest.mark.parametrize("method, lr, steps", [("full", 1e-2, 40), ("lora", 3e-2, 40)])
def test_finetuning_learns_the_answers(lm, method, lr, steps):
    model, tok = lm
    cfg = FinetuneConfig(method=method, lora_rank=1, lr=lr, max_steps=steps, batch_size=6, warmup_frac=0.0)
    before = evaluate_task(model, tok, GEN_TASK, shots=0)
    tuned = finetune(model, tok, GEN_TASK, GEN, cfg)
    after = evaluate_task(tuned, tok, GEN_TASK, shots=0)
    assert after.metrics["loglik"] > before.metrics["loglik"] + 2.0
    if method == "full":  # learns the answers and, via the appended EOS, to stop after them
        assert before.metrics["exact_match"] == 0.0 and after.metrics["exact_match"] == 1.0
    mc_before = evaluate_task(model, tok, MC_TASK, shots=0)
    mc_after = evaluate_task(finetune(model, tok, MC_TASK, MC, cfg), tok, MC_TASK, shots=0)
    assert mc_after.metrics["loglik"] > mc_before.metrics["loglik"]


def test_save_to_writes_a_loadable_checkpoint(lm, tmp_path):
    model, tok = lm
    tuned = finetune(model, tok, GEN_TASK, GEN[:3], FinetuneConfig(method="lora", lora_rank=1, max_steps=2),
                     save_to=tmp_path / "ft")
    loaded, _ = load_model(str(tmp_path / "ft"), device="cpu", dtype="float32")
    x = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        assert torch.allclose(loaded(x).logits, tuned(x).logits, atol=1e-5)


def test_config_and_input_errors(lm):
    model, tok = lm
    with pytest.raises(ConfigError, match="method"):
        FinetuneConfig(method="prefix")
    with pytest.raises(ConfigError, match="lora_rank"):
        FinetuneConfig(method="lora", lora_rank=0)
    with pytest.raises(InputError, match="no finetuning examples"):
        finetune(model, tok, GEN_TASK, [], FinetuneConfig())
    assert FinetuneConfig(method="lora").learning_rate == 1e-3 and FinetuneConfig().learning_rate == 1e-4


def test_length_grouped_epochs_cover_every_example_once_and_sliced_logits_give_the_same_loss(lm):
    from emergence_laws.finetuning.train import _batch_order

    lengths = (torch.arange(237) * 7919 % 97).tolist()
    batches = _batch_order(237, 8, lengths, torch.Generator().manual_seed(0), by_length=True)
    assert sorted(i for b in batches for i in b) == list(range(237)) and max(map(len, batches)) == 8
    assert batches == _batch_order(237, 8, lengths, torch.Generator().manual_seed(0), by_length=True)
    # the vocab projection only at answer-predicting positions gives the same loss as full logits
    model, tok = lm
    from emergence_laws.evaluation.loglikelihood import accepts_logits_to_keep

    if not accepts_logits_to_keep(model):
        pytest.skip("this transformers release has no boolean logits_to_keep masks (finetune() uses full logits)")
    batch = collate(tokenize_examples(tok, GEN_TASK, GEN, append_eos=True), tok.pad_token_id)
    keep = torch.zeros_like(batch["labels"], dtype=torch.bool)
    keep[:, :-1] = batch["labels"][:, 1:] != IGNORE
    with torch.no_grad():
        full = answer_loss(model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits,
                           batch["labels"])
        sliced = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], logits_to_keep=keep).logits
    loss = torch.nn.functional.cross_entropy(sliced, batch["labels"][:, 1:][keep[:, :-1]])
    assert float(loss) == pytest.approx(float(full), abs=1e-5)


def test_training_prompts_with_shots_draw_demonstrations_from_the_subset_only():
    """`shots` > 0: each training prompt is the few-shot evaluation format, its demonstrations drawn from
    the finetuning examples themselves (never the example being trained on), deterministic by seed."""
    _, tok = build_tiny_model("llama", seed=3)
    subset = GEN[:4]
    outside = {ex.prompt for ex in GEN[4:]}
    a = tokenize_examples(tok, GEN_TASK, subset, append_eos=False, shots=2, seed=5)
    b = tokenize_examples(tok, GEN_TASK, subset, append_eos=False, shots=2, seed=5)
    zero = tokenize_examples(tok, GEN_TASK, subset, append_eos=False)
    assert a == b
    for (ids, labels), (ids0, labels0), ex in zip(a, zero, subset):
        prompt = tok.decode([i for i, lab in zip(ids, labels) if lab == IGNORE])
        assert prompt.endswith(build_fewshot_context(GEN_TASK, ex, shots=0).strip()[-5:])
        assert prompt.count("Q:") == 3  # two demonstrations and the example
        assert not any(o in prompt for o in outside)
        assert prompt.count(ex.prompt) == 1  # the example is not its own demonstration
        assert [t for t in labels if t != IGNORE] == [t for t in labels0 if t != IGNORE]  # same answer tokens
    with pytest.raises(ConfigError, match="shots"):
        FinetuneConfig(train_shots=-1)


def test_train_shots_enter_the_job_key_only_when_set():
    from emergence_laws.study import FinetuneGrid

    ft = FinetuneGrid(n_train=(4, 8), train_shots=2, shots=2)
    assert ft.hyperparameters()["train_shots"] == 2
    assert "train_shots" not in FinetuneGrid(n_train=(8,)).hyperparameters()  # keys of existing studies unchanged
