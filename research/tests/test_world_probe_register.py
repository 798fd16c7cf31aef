"""`research/world_probe_register.py`: header-less register documents, the 8-way register task, and the
whole script as a subprocess on a tiny ladder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emergence_laws.micro.pretrain import LadderConfig
from conftest import HANG_GUARD_S, load_script

SCRIPT = Path(__file__).resolve().parents[1] / "world_probe_register.py"


def _statements(words: list[str]) -> list[list[str]]:
    out, cur = [], []
    for w in words:
        cur.append(w)
        if w == ".":
            out.append(cur)
            cur = []
    return out


@pytest.mark.parametrize("variant", ["code", "mark"])
def test_register_documents_have_no_header_and_state_only_shown_facts(variant):
    probe = load_script("world_probe_register")
    world = probe.register_world(variant, 0.5, seed=2, n_test=20, n_train=40)
    shown = set(world.shown)
    lines = " ".join(world.corpus_words(4000)).split("\n")
    registered = 0
    for line in lines:
        words = line.split()
        assert "shout" not in words  # no header: the register is read from the document's own facts
        facts = _statements(words)
        forms = {probe.in_register(world, world.statement(tuple(f[1:4])), variant) == f for f in facts if len(f) > 4}
        assert len(forms) <= 1  # one register per document
        if forms == {True}:
            registered += 1
            for f in facts:
                assert tuple(f[1:4]) in shown
                obj = world.facts[tuple(f[1:4])][1]
                assert (f[-2] == world.code[obj]) if variant == "code" else (f[-3:-1] == [":", obj])
    assert registered > 10


@pytest.mark.parametrize("variant", ["code", "mark"])
def test_register_task_offers_each_noun_in_both_registers(variant):
    probe = load_script("world_probe_register")
    world = probe.register_world(variant, 0.02, seed=1, n_test=30, n_train=40)
    task, inside, cloze = probe.register_tasks(world, variant)
    assert len(task.test) == 30 and len(task.train) == 40
    for ex, ins, cl in zip(task.test, inside.test, cloze.test):
        entity = tuple(ex.prompt.split()[1:4])
        obj = world.facts[entity][1]
        assert ex.prompt == ins.prompt == cl.prompt and ex.prompt.split()[0] == "the"
        assert len(ex.choices) == 8 and len(set(ex.choices)) == 8
        nouns = [c for c in ex.choices if c in world.nouns]
        assert len(nouns) == 4 and obj in nouns  # the plain answer is a choice: 0 for a model that ignores the register
        assert ex.choices[ex.answer] == probe._form(obj, variant, world)
        assert sorted(probe._form(n, variant, world) for n in nouns) == sorted(set(ex.choices) - set(nouns))
        assert ins.choices[ins.answer] == probe._form(obj, variant, world) and len(ins.choices) == 4
        assert cl.choices[cl.answer] == obj and set(cl.choices) == set(nouns)
    assert task.metadata["description"] == ""


def test_register_probe_script_on_a_tiny_ladder(tmp_path):
    out, md = tmp_path / "reg.json", tmp_path / "reg.md"
    ladder = {"steps": 12, "checkpoints": 2, "first_checkpoint": 6, "spacing": "linear", "d_model": 16,
              "n_layers": 1, "n_heads": 2, "batch_size": 4, "seq_len": 32}
    cmd = [sys.executable, str(SCRIPT), "--variant", "mark", "--frac", "0.2", "--seed", "3",
           "--world", json.dumps({"n_test": 16, "n_train": 40, "reference_tokens": 600}), "--ladder", json.dumps(ladder),
           "--finetune-at", "12", "--amounts", "8", "--lrs", "1e-3", "1e-2", "--min-step", "0", "--threads", "1",
           "--cache", str(tmp_path / "cache"), "--out", str(out), "--md", str(md)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert [r["step"] for r in res["curve"]] == LadderConfig(**ladder).checkpoint_steps() == [9, 12]
    for row in res["curve"]:
        assert row["loss"] > 0 and all(0.0 <= row[k] <= 1.0 for k in ("fewshot", "in_register", "cloze"))
    assert [(r["step"], r["lr"]) for r in res["finetuned"]] == [(12, 1e-3), (12, 1e-2)]
    assert all(set(r["accuracy"]) == {"8"} and 0.0 <= r["accuracy"]["8"] <= 1.0 for r in res["finetuned"])
    assert res["world"]["n_test"] == 16 and res["command"].startswith("python research/world_probe_register.py ")
    text = md.read_text()
    assert "| 12 | 0.01 | " in text and text.count("\n| ") == 3 + 3  # curve and finetuning: header and 2 rows each
    bad = subprocess.run(cmd[:-4] + ["--amounts", "4", "--out", str(out)], capture_output=True, text=True,
                         timeout=HANG_GUARD_S)
    assert bad.returncode == 2 and "--amounts must be >= 5" in bad.stderr
