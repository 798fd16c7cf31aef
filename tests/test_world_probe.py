"""`scripts/world_probe.py`: the in-format knowledge, and finetuned models scored on their own questions
with demonstrations that never state the asked fact; the whole script as a subprocess on a tiny ladder."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from emergence_laws.micro.pretrain import LadderConfig
from emergence_laws.micro.world import MicroWorld, WorldConfig
from emergence_laws.tasks.fewshot import build_fewshot_context
from tests.conftest import HANG_GUARD_S

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "world_probe.py"


def _probe_module():
    spec = importlib.util.spec_from_file_location("world_probe", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_own_questions_are_asked_with_demonstrations_about_other_entities():
    probe = _probe_module()
    world = MicroWorld(WorldConfig(seed=3, n_test=40, n_train=120))
    task = world.task()
    own = probe.own_questions_task(task, task.train)
    assert own.test == task.train[:400] and own.train == task.test
    for ex in own.test:
        asked = " ".join(ex.prompt.split()[1:4])  # "A C N" of "the A C N verb the"
        context = build_fewshot_context(own, ex, shots=4, seed=0)
        demos = context[: context.rindex(ex.prompt)]
        assert demos.count(" the ") >= 4 and asked not in demos  # four demonstrations, none about the asked entity


def test_in_format_task_keeps_the_shouted_prompts_and_asks_for_the_plain_noun():
    probe = _probe_module()
    world = MicroWorld(WorldConfig(seed=4, n_test=30, n_train=60))
    task = world.task()
    plain = probe.in_format_task(task)
    assert plain.train == task.train and plain.metadata == task.metadata  # shouted demonstrations, "shout : "
    for coded, ex in zip(task.test, plain.test):
        assert ex.prompt == coded.prompt and ex.answer == coded.answer
        assert all(c in world.nouns for c in ex.choices)
        assert world.facts[tuple(ex.prompt.split()[1:4])][1] == ex.choices[ex.answer]


def test_probe_script_on_a_tiny_ladder(tmp_path):
    out = tmp_path / "probe.json"
    world = {"task": "fact-code", "code_frac": 0.01, "n_test": 12, "n_train": 40, "reference_tokens": 600}
    ladder = {"steps": 12, "checkpoints": 2, "first_checkpoint": 6, "spacing": "linear", "d_model": 16,
              "n_layers": 1, "n_heads": 2, "batch_size": 4, "seq_len": 32}
    settings = [{"method": "full", "lr": 1e-3, "epochs": 1, "batch_size": 8},
                {"method": "full", "lr": 1e-2, "epochs": 1, "batch_size": 8}]
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--world", json.dumps(world), "--ladder", json.dumps(ladder), "--shots", "2",
         "--finetune-at", "1", "--amounts", "16", "--finetune", json.dumps(settings), "--threads", "1",
         "--cache", str(tmp_path / "cache"), "--out", str(out)],
        capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert [r["step"] for r in res["rows"]] == LadderConfig(**ladder).checkpoint_steps() == [9, 12]
    for row in res["rows"]:
        assert {"loss", "fewshot", "zeroshot", "cloze", "in_format"} <= set(row)
        assert all(0.0 <= row[k] <= 1.0 for k in ("fewshot", "zeroshot", "cloze", "in_format"))
    cell = res["rows"][1]["finetuned"]
    assert set(cell) == {"full lr 0.001", "full lr 0.01"}  # two settings of one method kept apart
    for by_n in cell.values():
        assert set(by_n) == {"16"} and set(by_n["16"]) == {"test", "train"}
        assert all(0.0 <= v <= 1.0 for v in by_n["16"].values())
