"""`emergence demo --quick` end to end as a subprocess: files, fields, and the report."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from emergence_laws.micro.config import default_config, quick_config
from emergence_laws.micro.pipeline import first_above_chance
from emergence_laws.micro.world import MicroWorld, WorldConfig
from tests.conftest import HANG_GUARD_S


def test_world_is_deterministic_and_task_is_clean():
    a, b = MicroWorld(WorldConfig(seed=3)), MicroWorld(WorldConfig(seed=3))
    assert a.corpus_words(500) == b.corpus_words(500)
    assert a.reference_text() == b.reference_text()
    assert MicroWorld(WorldConfig(seed=4)).corpus_words(500) != a.corpus_words(500)
    task = a.task()
    assert len(task.train) == a.config.n_train and len(task.test) == a.config.n_test
    assert not {e.prompt for e in task.train} & {e.prompt for e in task.test}
    for ex in task.test:
        assert len(ex.choices) == 4 and len(set(ex.choices)) == 4
        key = ex.prompt.split()[-1]
        pairs = {tok[0]: tok[1:] for tok in ex.prompt.split()[:-2]}  # fused key+value tokens
        assert pairs[key] == ex.choices[ex.answer]  # the answer is the key's value in the record
        assert all(c in pairs.values() for c in ex.choices)  # every choice is in the prompt: chance = 1/4


def test_configs_have_distinct_cache_keys():
    assert default_config(0).key() != default_config(1).key() != quick_config(0).key()
    assert default_config(0).key() == default_config(0).key()


def test_first_above_chance_uses_a_binomial_test():
    curve = pd.DataFrame({"value": [0.25, 0.27, 0.3, 0.45, 0.9], "n_eval": 200, "chance": 0.25})
    assert first_above_chance(curve, 1e-3) == 3
    assert first_above_chance(curve.iloc[:3], 1e-3) is None


@pytest.mark.slow
def test_demo_quick_writes_prediction_results_and_report(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    cmd = [sys.executable, "-m", "emergence_laws", "demo", "--quick", "--no-progress",
           "--out", str(out), "--cache", str(cache)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=HANG_GUARD_S, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "prediction: few-shot emergence at" in proc.stdout
    pred = json.loads((out / "prediction.json").read_text())
    for key in ("predicted_emergence_point", "interval", "true_emergence_point", "error_nats", "compute_ahead"):
        assert key in pred
    assert pred["error_nats"] == pytest.approx(abs(pred["predicted_emergence_point"] - pred["true_emergence_point"]))
    assert pred["n_checkpoints_fit"] >= 3
    assert pred["cutoff_loss"] > pred["true_emergence_point"] - 0.5
    table = pd.read_csv(out / "results.csv")
    assert {"model", "task", "metric", "value", "n_train", "shots", "pretrain_loss", "flops"} <= set(table.columns)
    assert (table["n_train"] > 0).any() and (table["n_train"] == 0).any()
    assert set(table["method"].dropna().astype(str)) >= {"full", "lora"}
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 4
    for png in ("backtest.png", "law_fit.png", "emergence_shift.png", "lora_vs_full.png"):
        assert (out / png).stat().st_size > 1000
    # a second run reuses the cached ladder and jobs
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=HANG_GUARD_S, check=False)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "ladder: reusing" in again.stdout
    assert json.loads((out / "prediction.json").read_text())["true_emergence_point"] == pred["true_emergence_point"]


def test_demo_bad_seed_is_a_one_line_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "emergence_laws", "demo", "--seed", "-1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=HANG_GUARD_S, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("emergence demo: error:") and len(proc.stderr.strip().splitlines()) == 1
