"""Greedy generation through the current KV-cache API: equals `model.generate`, and warns of nothing deprecated."""

from __future__ import annotations

import warnings

import pytest
import torch

from emergence_laws.evaluation.generation import greedy_generate, new_kv_cache
from emergence_laws.testing.tiny_models import ARCHS, build_tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")

CONTEXTS = ["Q: the cat\nA:", "Q: an apple tree is big\nA:", "12 + 12 ="]


@pytest.mark.parametrize("arch", ARCHS)
def test_greedy_generate_equals_hf_generate_without_deprecation_warnings(arch):
    model, tok = build_tiny_model(arch, seed=4)
    tok.pad_token = tok.eos_token
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        ours = greedy_generate(model, tok, CONTEXTS, stop=(), max_new_tokens=8, batch_size=2)
    for ctx, got in zip(CONTEXTS, ours):
        ids = torch.tensor([tok(ctx)["input_ids"]])
        with torch.inference_mode():
            ref = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=8,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        new = ref[0, ids.shape[1]:].tolist()
        if tok.eos_token_id in new:
            new = new[: new.index(tok.eos_token_id)]
        assert got == tok.decode(new)


def test_new_kv_cache_names_the_keyword_this_transformers_takes():
    model, _ = build_tiny_model("llama")
    name, cache = new_kv_cache(model)
    import inspect

    assert name in inspect.signature(type(model).forward).parameters
    assert type(cache).__name__ == "DynamicCache"
