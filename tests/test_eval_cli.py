"""`emergence eval MODEL TASK` as a subprocess: a folder of tiny checkpoints, both formats, reference
loss, finetuning with kept checkpoints, results.csv + examples.jsonl + a store; one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd

from emergence_laws.models import load_model
from emergence_laws.results import ResultsStore
from emergence_laws.testing.study_files import write_task
from emergence_laws.testing.tiny_models import save_tiny_model
from tests.conftest import HANG_GUARD_S

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def emergence(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emergence_laws", *map(str, args)], capture_output=True, text=True,
                          timeout=HANG_GUARD_S, env=ENV, check=False)


def test_eval_a_folder_of_checkpoints_in_both_formats_with_finetuning(tmp_path):
    ckpts = tmp_path / "ckpts"
    for step, arch in ((2000, "llama"), (10000, "gpt_neox")):
        save_tiny_model(ckpts / f"step{step}", arch=arch, seed=step % 7)
    task = write_task(tmp_path / "task.jsonl")
    (tmp_path / "ref.txt").write_text("the cat sat on the mat. " * 30)
    out, store = tmp_path / "out", tmp_path / "eval.db"
    res = emergence("eval", ckpts, task, "--shots", 0, 1, "--format", "both", "--reference", tmp_path / "ref.txt",
                    "--finetune", 2, "--steps", 2, "--method", "full", "--keep-finetuned", tmp_path / "kept",
                    "--out", out, "--store", store, "--threads", 1, "--batch-size", 4)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "accuracy" in res.stdout and "±" in res.stdout and "[" in res.stdout  # stderr and Wilson interval shown
    df = pd.read_csv(out / "results.csv")
    assert list(dict.fromkeys(df["model"])) == ["step2000", "step10000"]  # natural order
    assert set(df["task"]) == {"task", "task:mc"} and set(df["shots"]) == {0, 1}
    assert set(df["method"]) == {"full"} and set(df["n_train"]) == {2}
    acc = df[df.metric == "accuracy"]
    assert len(acc) == 2 * 2 * 2 and acc["stderr"].notna().all() and (acc["ci_low"] <= acc["value"]).all()
    assert df["pretrain_loss"].notna().all() and df["pretrain_bpb"].notna().all()
    examples = [json.loads(line) for line in (out / "examples.jsonl").read_text().splitlines()]
    assert len(examples) == 2 * 2 * 2 * 8 and all("context" in e and "logliks" in e for e in examples)
    kept = sorted(p.name for p in (tmp_path / "kept").iterdir())
    assert len(kept) == 4 and all((tmp_path / "kept" / k / "config.json").is_file() for k in kept)
    load_model(str(tmp_path / "kept" / kept[0]), device="cpu")
    with ResultsStore(store, create=False) as st:
        assert len(st) == len(df) and len(st.examples()) == len(examples)
    val = emergence("validate", out / "results.csv")
    assert val.returncode == 0, val.stderr


def test_eval_errors_are_one_line(tmp_path):
    task = write_task(tmp_path / "task.jsonl")
    for args, message in ((("nope", task), "no such checkpoint"),
                          ((tmp_path, task), "no checkpoints inside"),
                          ((tmp_path, task, "--keep-finetuned", "x"), "needs --finetune")):
        res = emergence("eval", *args)
        assert res.returncode == 2 and "Traceback" not in res.stderr
        (line,) = res.stderr.strip().splitlines()
        assert line.startswith("emergence eval: error: ") and message in line
