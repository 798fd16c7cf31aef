"""evaluation/: batched scoring equals one-at-a-time scoring; greedy generation is batch-independent."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from emergence_laws.evaluation import (
    evaluate_task,
    greedy_generate,
    loglikelihood,
    tie_argmax,
)
from emergence_laws.evaluation.tokenization import encode_pairs
from emergence_laws.tasks import Example, TaskSpec, build_fewshot_context
from emergence_laws.testing.tiny_models import ARCHS, build_tiny_model

WORDS = ["the", "cat", "dog", "is", "an", "apple", "tree", "runs", "in", "on", "her", "12", "7"]


pytestmark = pytest.mark.usefixtures("one_thread")


def _sent(rng, lo, hi):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def _mc_task(n_train=12, n_test=14, seed=0):
    rng = random.Random(seed)
    ex = [Example(prompt="Q: " + _sent(rng, 1, 14) + "\nA:",
                  choices=tuple(_sent(rng, 1, 4) for _ in range(rng.randint(2, 5))), answer=0)
          for _ in range(n_train + n_test)]
    ex = [Example(e.prompt, choices=e.choices, answer=rng.randrange(len(e.choices))) for e in ex]
    return TaskSpec("mc", "multiple_choice", tuple(ex[:n_train]), tuple(ex[n_train:]))


def _gen_task(n_train=10, n_test=12, seed=1):
    rng = random.Random(seed)
    ex = [Example(prompt=_sent(rng, 1, 12) + " =", target=_sent(rng, 1, 2)) for _ in range(n_train + n_test)]
    return TaskSpec("gen", "generation", tuple(ex[:n_train]), tuple(ex[n_train:]), stop=("\n", "."))


@pytest.fixture(scope="module", params=ARCHS)
def lm(request):
    model, tok = build_tiny_model(request.param)
    tok.pad_token = tok.eos_token
    return model, tok


def _reference_logprob(model, ctx_ids, cont_ids):
    """One unpadded forward of context+continuation: sum of continuation token log-probs."""
    ids = torch.tensor(ctx_ids + cont_ids)[None, :-1]
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0].float(), -1)
    pos = range(len(ctx_ids) - 1, len(ctx_ids) + len(cont_ids) - 1)
    return float(sum(logp[p, t] for p, t in zip(pos, cont_ids)))


def test_multiple_choice_scores_equal_unbatched_reference_for_any_batching(lm):
    model, tok = lm
    task = _mc_task()
    requests = [(build_fewshot_context(task, ex, shots=2, seed=3), " " + c) for ex in task.test for c in ex.choices]
    ref = [_reference_logprob(model, c, k) for c, k in encode_pairs(tok, requests)]
    for bs, pack in [(1, False), (5, False), (64, False), (1, True), (3, True), (64, True)]:
        got = [s.logprob for s in loglikelihood(model, tok, requests, batch_size=bs, pack=pack)]
        assert got == pytest.approx(ref, abs=2e-5), (bs, pack)
    r1 = evaluate_task(model, tok, task, shots=2, seed=3, batch_size=1)
    r2 = evaluate_task(model, tok, task, shots=2, seed=3, batch_size=7)
    assert r1.metrics == pytest.approx(r2.metrics, abs=1e-6)
    assert [p["pred"] for p in r1.per_example] == [p["pred"] for p in r2.per_example]


def test_multiple_choice_metrics_follow_their_definitions(lm):
    model, tok = lm
    task = _mc_task()
    res = evaluate_task(model, tok, task, shots=1, limit=9)
    assert res.n_eval == 9 == len(res.per_example)
    acc, norm, ll, brier = [], [], [], []
    for p, ex in zip(res.per_example, task.test):
        lls = np.array(p["logliks"])
        assert p["pred"] == tie_argmax(lls)  # near-ties resolve to the first choice (evaluation/ties.py)
        acc.append(float(tie_argmax(lls) == ex.answer))
        norm.append(float(tie_argmax(lls / np.array([len(c) for c in ex.choices])) == ex.answer))
        ll.append(lls[ex.answer])
        probs = np.exp(lls) / np.exp(lls).sum()
        brier.append(float(((probs - np.eye(len(lls))[ex.answer]) ** 2).sum()))
    assert res.metrics["accuracy"] == pytest.approx(np.mean(acc))
    assert res.metrics["acc_norm"] == pytest.approx(np.mean(norm))
    assert res.metrics["loglik"] == pytest.approx(np.mean(ll)) and res.metrics["loglik"] < 0
    assert res.metrics["brier"] == pytest.approx(np.mean(brier)) and 0 <= res.metrics["brier"] <= 2
    assert set(res.metrics) == set(res.stderr) == {"accuracy", "acc_norm", "loglik", "brier", "answer_bpb"}
    assert res.shots == 1 and set(res.intervals) == {"accuracy", "acc_norm"}  # Wilson intervals: right/wrong only


GREEDY_MARGIN = 1e-4
"""Top-2 logit gap below which a greedy step is a near-tie: its winner may differ between code paths
(padding, cache, batch) and CPUs by float32 noise, so such examples are not compared token for token."""


def _reference_greedy(model, tok, ctx, stop, n):
    """Greedy decoding of one unpadded context without a cache (a full forward per token).
    Returns the text and the smallest top-2 logit gap over the steps taken."""
    ids = tok(ctx)["input_ids"]
    out = []
    margin = float("inf")
    for _ in range(n):
        with torch.no_grad():
            logits = model(torch.tensor([ids + out])).logits[0, -1]
        top2 = torch.topk(logits, 2).values
        margin = min(margin, float(top2[0] - top2[1]))
        nxt = int(logits.argmax())
        if nxt == tok.eos_token_id:
            break
        out.append(nxt)
        text = tok.decode(out)
        if any(s in text for s in stop):
            break
    text = tok.decode(out)
    for s in stop:
        text = text.split(s)[0]
    return text, margin


def _clear(refs) -> list[int]:
    """Indices of the reference decodings with no near-tie step (see GREEDY_MARGIN)."""
    keep = [i for i, (_, m) in enumerate(refs) if m > GREEDY_MARGIN]
    assert len(keep) >= 0.75 * len(refs)  # near-ties are rare: most examples are compared
    return keep


def test_greedy_generation_with_left_padding_equals_unbatched_reference(lm):
    model, tok = lm
    task = _gen_task()
    contexts = [build_fewshot_context(task, ex, shots=1, seed=0) for ex in task.test]
    assert len({len(tok(c)["input_ids"]) for c in contexts}) > 3  # mixed lengths -> real left padding
    ref = [_reference_greedy(model, tok, c, task.stop, 12) for c in contexts]
    keep = _clear(ref)
    for bs in (1, 5, 32):
        got = greedy_generate(model, tok, contexts, stop=task.stop, max_new_tokens=12, batch_size=bs)
        assert [got[i] for i in keep] == [ref[i][0] for i in keep], bs


def test_generation_metrics(lm):
    model, tok = lm
    task = _gen_task()
    r1 = evaluate_task(model, tok, task, shots=2, batch_size=1, max_new_tokens=8)
    r2 = evaluate_task(model, tok, task, shots=2, batch_size=6, max_new_tokens=8)
    assert set(r1.metrics) == {"exact_match", "loglik", "answer_bpb"}  # no extractor declared: strict only
    keep = _clear([_reference_greedy(model, tok, p["context"], task.stop, 8) for p in r1.per_example])
    assert [r1.per_example[i]["generated"] for i in keep] == [r2.per_example[i]["generated"] for i in keep]
    assert r1.metrics["loglik"] == pytest.approx(r2.metrics["loglik"], abs=1e-5) and r1.metrics["loglik"] < 0
    for p in r1.per_example:
        assert p["exact_match"] == float(p["generated"].strip() == p["target"].strip())
        assert "\n" not in p["generated"] and "." not in p["generated"]
    # a task whose target is what the model generates scores exact match 1
    echo = TaskSpec("echo", "generation", task.train,
                    tuple(Example(prompt=p["context"], target=p["generated"].strip()) for p in
                          (r1.per_example[i] for i in keep) if p["generated"].strip()), stop=task.stop)
    if echo.test:
        assert evaluate_task(model, tok, echo, shots=0, max_new_tokens=8).metrics["exact_match"] == 1.0


def test_packed_scoring_with_eager_attention_equals_reference():
    model, tok = build_tiny_model("llama", seed=1, attn_implementation="eager")
    tok.pad_token = tok.eos_token
    assert model.config._attn_implementation == "eager"
    task = _mc_task(n_test=6)
    requests = [(build_fewshot_context(task, ex, shots=1), " " + c) for ex in task.test for c in ex.choices]
    ref = [_reference_logprob(model, c, k) for c, k in encode_pairs(tok, requests)]
    got = [s.logprob for s in loglikelihood(model, tok, requests, batch_size=4, pack=True)]
    assert got == pytest.approx(ref, abs=2e-5)


def test_evaluate_task_input_errors(lm):
    from emergence_laws.errors import InputError

    model, tok = lm
    with pytest.raises(InputError, match="no test examples"):
        evaluate_task(model, tok, _mc_task(), limit=0)
    with pytest.raises(InputError, match="only 12 training examples"):
        evaluate_task(model, tok, _mc_task(), shots=13)


def test_transformers_without_logits_mask_support_get_full_logits_and_same_scores(lm, monkeypatch):
    """Older transformers (before `slice_logits_to_keep`) take no boolean `logits_to_keep` mask: the
    check says so for a model whose module lacks that helper, and the full-logits path gives the same scores."""
    import importlib

    ll = importlib.import_module("emergence_laws.evaluation.loglikelihood")  # the package exports a same-named function

    model, tok = lm

    class OldStyle(type(model)):  # defined here: its module has no `slice_logits_to_keep`
        pass

    if not ll.accepts_logits_to_keep(model):
        pytest.skip("this transformers release has no boolean logits_to_keep masks: the full-logits path is all there is")
    assert not ll.accepts_logits_to_keep(OldStyle(model.config))
    task = _mc_task(seed=5)
    requests = [(build_fewshot_context(task, ex, shots=1, seed=1), " " + c) for ex in task.test for c in ex.choices]
    fast = [s.logprob for s in loglikelihood(model, tok, requests, batch_size=8)]
    monkeypatch.setattr(ll, "accepts_logits_to_keep", lambda m: False)
    slow = [s.logprob for s in loglikelihood(model, tok, requests, batch_size=8)]
    assert slow == pytest.approx(fast, abs=2e-5)
