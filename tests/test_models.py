"""models/: loading HF checkpoints from disk, pretraining loss, parameter and FLOP counts."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from emergence_laws.errors import InputError
from emergence_laws.models import (
    count_params,
    load_model,
    model_flops,
    pretraining_loss,
)
from emergence_laws.testing.tiny_models import ARCHS, save_tiny_model

TEXT = ("the cat is on the tree and the dog runs in the apple garden. " * 6).strip()


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module", params=ARCHS)
def checkpoint(request, tmp_path_factory):
    path = save_tiny_model(tmp_path_factory.mktemp(request.param), arch=request.param)
    model, tok = load_model(str(path), device="cpu", dtype="float32")
    return path, model, tok


def test_load_model_sets_pad_token_eval_mode_and_fp32_on_cpu(checkpoint):
    path, model, tok = checkpoint
    assert tok.pad_token is not None and tok.pad_token == tok.eos_token
    assert not model.training
    assert next(model.parameters()).dtype == torch.float32
    assert next(model.parameters()).device.type == "cpu"
    m2, _ = load_model(path, device="cpu", dtype="bfloat16")
    assert next(m2.parameters()).dtype == torch.bfloat16


def test_load_model_errors_name_the_path_and_fix(tmp_path):
    with pytest.raises(InputError, match="no such checkpoint folder"):
        load_model(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no config.json"):
        load_model(str(tmp_path / "empty"))
    with pytest.raises(InputError, match="dtype"):
        load_model(str(tmp_path / "empty"), dtype="int3")


def _manual_loss(model, ids: list[int], seq_len: int) -> float:
    nll, n = 0.0, 0
    for i in range(0, len(ids) - 1, seq_len):
        w = torch.tensor(ids[i : i + seq_len + 1])
        if len(w) < 2:
            continue
        with torch.no_grad():
            logits = model(w[None, :-1]).logits[0]
        nll += float(F.cross_entropy(logits, w[1:], reduction="sum"))
        n += len(w) - 1
    return nll / n


def test_pretraining_loss_is_token_weighted_mean_over_windows_and_batch_invariant(checkpoint, tmp_path):
    _, model, tok = checkpoint
    ids = tok(TEXT, add_special_tokens=False)["input_ids"]
    want = _manual_loss(model, ids, seq_len=50)
    got1 = pretraining_loss(model, tok, TEXT, seq_len=50, batch_size=1)
    got4 = pretraining_loss(model, tok, TEXT, seq_len=50, batch_size=4)
    assert got1 == pytest.approx(want, abs=1e-5)
    assert got4 == pytest.approx(want, abs=1e-5)
    assert 0 < want < 2 * math.log(len(tok))
    # files: plain text (as Path or str) and JSONL with a "text" field
    (tmp_path / "ref.txt").write_text(TEXT)
    assert pretraining_loss(model, tok, tmp_path / "ref.txt", seq_len=50) == pytest.approx(want, abs=1e-5)
    assert pretraining_loss(model, tok, str(tmp_path / "ref.txt"), seq_len=50) == pytest.approx(want, abs=1e-5)
    (tmp_path / "ref.jsonl").write_text(json.dumps({"text": TEXT}) + "\n")
    assert pretraining_loss(model, tok, tmp_path / "ref.jsonl", seq_len=50) == pytest.approx(want, abs=1e-5)
    short = pretraining_loss(model, tok, TEXT, seq_len=50, max_tokens=60)
    assert short == pytest.approx(_manual_loss(model, ids[:61], seq_len=50), abs=1e-5)
    with pytest.raises(InputError, match="fewer than 2 tokens"):
        pretraining_loss(model, tok, "a")


def test_count_params_and_flops(checkpoint):
    _, model, _ = checkpoint
    total = sum(p.numel() for p in model.parameters())
    assert count_params(model) == total
    emb = model.get_input_embeddings().weight.numel() + model.get_output_embeddings().weight.numel()
    assert count_params(model, non_embedding=True) == total - emb
    assert model_flops(1e6, 2e9) == 6 * 1e6 * 2e9
