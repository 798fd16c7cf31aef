"""GGUF checkpoints: dequantised once into a cached folder, same model as transformers' own GGUF load,
and accepted as ladder entries of `emergence run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

pytest.importorskip("gguf")

from emergence_laws.study import load_study
from emergence_laws.models import gguf as gguf_mod
from emergence_laws.models import load_model
from emergence_laws.study.keys import checkpoint_fingerprint
from tests.tiny_gguf import write_tiny_gguf

pytestmark = pytest.mark.usefixtures("one_thread")

TEXT = "the cat: 12 sat on the mat"


@pytest.fixture(scope="module")
def gguf_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("gguf")
    return {q: write_tiny_gguf(root / f"tiny-q{int(q)}.gguf", seed=3, quantize=q) for q in (False, True)}


@pytest.mark.parametrize("quantized", [False, True])
def test_converted_folder_is_the_model_transformers_reads_from_the_gguf(gguf_files, tmp_path, quantized):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = gguf_files[quantized]
    ref_tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    ref = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32).eval()
    folder = gguf_mod.converted_gguf(path, tmp_path)
    model, tok = load_model(str(folder), device="cpu", dtype="float32")
    ids = ref_tok(TEXT)["input_ids"]
    assert tok(TEXT)["input_ids"] == ids
    assert tok.decode(ids, skip_special_tokens=True) == ref_tok.decode(ids, skip_special_tokens=True) == TEXT
    with torch.inference_mode():
        a = ref(torch.tensor([ids])).logits
        b = model(torch.tensor([ids])).logits
    torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


def test_conversion_runs_once_and_load_model_uses_the_cache(gguf_files, tmp_path, monkeypatch):
    monkeypatch.setenv("EMERGENCE_CACHE", str(tmp_path))
    path = gguf_files[False]
    first = gguf_mod.converted_gguf(path)
    assert first.parent == tmp_path / "gguf" and (first / gguf_mod.DONE).is_file()
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left

    def boom(*a, **k):
        raise AssertionError("converted again")

    monkeypatch.setattr(gguf_mod, "convert_gguf", boom)
    assert gguf_mod.converted_gguf(path) == first
    model, tok = load_model(str(path), device="cpu")
    assert model.config.model_type == "llama" and tok.pad_token is not None


def test_an_interrupted_conversion_is_redone(gguf_files, tmp_path):
    path = gguf_files[False]
    target = tmp_path / f"{path.stem}-{gguf_mod.gguf_fingerprint(path)}"
    target.mkdir()
    (target / "config.json").write_text("{}")  # half-written: no DONE marker
    assert gguf_mod.converted_gguf(path, tmp_path) == target
    assert (target / gguf_mod.DONE).is_file() and (target / "model.safetensors").is_file()


def test_gguf_ladder_entries_are_accepted_and_fingerprinted_by_content(gguf_files, tmp_path):
    study = tmp_path / "study.yaml"
    (tmp_path / "task.jsonl").write_text("\n".join(json.dumps(
        {"question": f"After {a} comes", "choices": [b, "z"], "answer": 0, "split": "train" if i % 2 else "test"})
        for i, (a, b) in enumerate(zip("abcdef", "bcdefg"))) + "\n")
    study.write_text(f"ladder:\n  - path: {gguf_files[False]}\n  - {gguf_files[True]}\ntask: task.jsonl\n")
    cfg = load_study(study)
    assert [ck.model_id for ck in cfg.ladder] == ["tiny-q0", "tiny-q1"]
    fps = {checkpoint_fingerprint(ck.path) for ck in cfg.ladder}
    assert len(fps) == 2 and all(len(f) == 32 for f in fps)


def test_emergence_run_on_a_gguf_ladder_converts_once(gguf_files, tmp_path):
    (tmp_path / "task.jsonl").write_text("\n".join(json.dumps(
        {"question": f"After {a} comes", "choices": [b, "z"], "answer": 0, "split": "train" if i % 2 else "test"})
        for i, (a, b) in enumerate(zip("abcdefgh", "bcdefghi"))) + "\n")
    (tmp_path / "ref.txt").write_text("the cat sat on the mat. " * 20)
    (tmp_path / "study.yaml").write_text(
        f"ladder: [{gguf_files[True]}]\ntask: task.jsonl\nreference: {{path: ref.txt, max_tokens: 64, seq_len: 32}}\n"
        "fewshot: {shots: [0, 1]}\nfinetune: {n_train: [2], seeds: 1, max_steps: 2, batch_size: 2}\n"
        "eval: {device: cpu}\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "EMERGENCE_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "emergence_laws", "run", str(tmp_path / "study.yaml"),
                           "--no-progress", "--threads", "1", "--json"], capture_output=True, text=True, env=env,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["ran"] == info["jobs"] == 4 and info["failed"] == 0
    assert len(list((tmp_path / "cache" / "gguf").iterdir())) == 1
