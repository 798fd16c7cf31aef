"""finetune()'s fast path (last column not fed, logits only at answer positions, tied-embedding rows,
clip factor applied inside the fused AdamW step) learns what a plain
loop learns: whole padded batch with its attention mask, full logits, `answer_loss`,
`clip_grad_norm_`, then `opt.step()`. Same examples, order, loss and steps; weights equal within
rtol 1e-5 / atol 1e-6 (float rounding only; AdamW's eps raised in both paths, see `ADAM_EPS`)."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from emergence_laws.finetuning import (
    FinetuneConfig,
    answer_loss,
    finetune,
    tokenize_examples,
    train,
)
from emergence_laws.finetuning.training_data import collate
from emergence_laws.tasks import Example, TaskSpec
from emergence_laws.testing.tiny_models import ARCHS, build_tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")

GEN = tuple(Example(prompt=f"Q: {w} {v}\nA:", target=t) for w, v, t in
            [("cat", "is", "dog"), ("tree", "", "apple"), ("the", "big red", "in"), ("her", "on", "on the"),
             ("runs", "", "is"), ("an", "old", "the cat"), ("blue", "new", "her"), ("small", "", "a")])
TASK = TaskSpec("pairs", "generation", GEN, GEN)


def plain_finetune(model, tok, cfg: FinetuneConfig) -> tuple[torch.nn.Module, list[float], list[float]]:
    """The reference: `finetune`'s schedule and batches, trained the plain way on `model` itself.
    Returns the model, the losses and the gradients' global norms before clipping (when clipping)."""
    data = tokenize_examples(tok, TASK, GEN, append_eos=True)
    params = [p.requires_grad_(True) for p in model.parameters()]
    opt = train._optimizer(params, cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    lengths = [len(ids) for ids, _ in data]
    bs = min(cfg.batch_size, len(data))
    total = cfg.max_steps
    warmup = int(cfg.warmup_frac * total)
    model.train()
    losses, norms, step = [], [], 0
    while step < total:
        for idx in train._batch_order(len(data), bs, lengths, gen, cfg.group_by_length):
            if step >= total:
                break
            for g in opt.param_groups:
                g["lr"] = train._lr_at(step, total, warmup, cfg.learning_rate)
            batch = collate([data[i] for i in idx], tok.pad_token_id)
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            loss = answer_loss(logits, batch["labels"])
            loss.backward()
            if cfg.grad_clip:
                norms.append(float(torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)))
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            step += 1
    return model.eval(), losses, norms


#: AdamW's eps in both paths here. At the default 1e-8, a weight whose gradients are zero or nearly so
#: (cancelling sums; GPT-NeoX's key biases, whose exact gradient is zero) gets steps of up to lr whose
#: sign is the rounding noise, so the two paths' weights differed by up to 74x the tolerance on an
#: AVX-512 CPU (and passed on others). With eps = 1e-2 such steps are proportional to the gradient:
#: over every weight, key biases included, the worst difference was 0.22x the tolerance under the
#: native (AVX-512), avx2 and default kernels, while a 0.1% error in the clip factor still exceeds it
#: about 10x on every clipped case.
ADAM_EPS = 1e-2


def _optimizer_with_eps(make):
    def build(params, cfg):
        opt = make(params, cfg)
        for group in opt.param_groups:
            group["eps"] = ADAM_EPS
        return opt

    return build


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("clip", [1.0, None])
def test_fast_path_learns_what_the_plain_loop_learns(arch, tied, clip, monkeypatch):
    base, tok = build_tiny_model(arch, seed=4)
    tok.pad_token = tok.eos_token
    if tied:
        cfg = type(base.config)(**{**base.config.to_dict(), "tie_word_embeddings": True})
        torch.manual_seed(4)
        base = type(base)(cfg).eval()
        assert base.get_output_embeddings().weight is base.get_input_embeddings().weight
    cfg = FinetuneConfig(method="full", lr=1e-2, max_steps=5, batch_size=3, seed=2, grad_clip=clip,
                         warmup_frac=0.2, group_by_length=False)  # unsorted batches: padded rows
    stats: dict = {}
    monkeypatch.setattr(train, "_optimizer", _optimizer_with_eps(train._optimizer))  # both paths: see ADAM_EPS
    with monkeypatch.context() as m:  # the fast path clips inside the fused AdamW step
        m.setattr(torch.nn.utils, "clip_grad_norm_", lambda *a, **k: pytest.fail("clip_grad_norm_ called"))
        fast = finetune(base, tok, TASK, GEN, cfg, stats=stats)
    trained = copy.deepcopy(base).requires_grad_(True)
    assert (train.tied_input_embedding(trained) is not None) == tied  # the tied path is exercised
    plain, losses, norms = plain_finetune(copy.deepcopy(base), tok, cfg)
    if clip:  # every step is clipped here, so the factor inside the AdamW step is exercised on each one
        assert len(norms) == cfg.max_steps and min(norms) > clip
    assert stats["losses"] == pytest.approx(losses, rel=1e-5, abs=1e-6)
    for (name, a), (_, b) in zip(fast.state_dict().items(), plain.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    assert not torch.equal(fast.get_input_embeddings().weight, base.get_input_embeddings().weight)
    assert all(math.isfinite(x) for x in losses)
