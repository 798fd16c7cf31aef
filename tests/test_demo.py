"""The micro world, the demo's cache and `emergence demo --quick` end to end as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from emergence_laws.micro.analysis import (
    farthest_identifiable,
    first_above_chance,
    fit_set,
    is_monotone,
)
from emergence_laws.micro.cache import atomic_write_text
from emergence_laws.micro.config import default_config, quick_config
from emergence_laws.micro.world import MicroWorld, WorldConfig
from tests.conftest import HANG_GUARD_S


def test_world_is_deterministic():
    a, b = MicroWorld(WorldConfig(seed=3)), MicroWorld(WorldConfig(seed=3))
    assert a.corpus_words(2000) == b.corpus_words(2000)
    assert a.reference_text() == b.reference_text()
    assert a.task() == b.task()
    assert MicroWorld(WorldConfig(seed=4)).corpus_words(2000) != a.corpus_words(2000)


def test_kv_recall_asks_a_look_up_in_a_fresh_record():
    world = MicroWorld(WorldConfig(seed=3))
    assert WorldConfig().task == "kv-recall" and default_config(0).world == WorldConfig(seed=0)  # the demo's world
    docs = [d.split() for d in " ".join(world.corpus_words(20_000)).split("\n") if d.strip()]
    records = [d for d in docs if d[0] != "the"]
    assert 0.1 < len(records) / len(docs) < 0.3  # records in about record_frac = 0.2 of the documents
    task = world.task()
    assert not {e.prompt for e in task.train} & {e.prompt for e in task.test}
    for ex in task.test:
        key = ex.prompt.split()[-1]
        pairs = {tok[0]: tok[1:] for tok in ex.prompt.split()[:-2]}  # fused key+value tokens
        assert pairs[key] == ex.choices[ex.answer]
        assert all(c in pairs.values() for c in ex.choices)  # every choice is in the prompt: chance = 1/4


def test_world_config_refuses_nonsense():
    from emergence_laws.errors import ConfigError

    for bad in ({"task": "nope"}, {"task": "fact-code"}, {"record_frac": 1.0}, {"record_frac": -0.1},
                {"pairs": (3, 6)}, {"pairs": (6, 4)}, {"n_train": 0}):
        with pytest.raises(ConfigError):
            WorldConfig(**bad)


def test_demo_config_refuses_an_unknown_method():
    from emergence_laws.errors import ConfigError
    from emergence_laws.micro.config import DemoConfig

    assert DemoConfig(method="lora").compare_method == "full" and DemoConfig().compare_method == "lora"
    with pytest.raises(ConfigError, match="unknown"):
        DemoConfig(method="qlora")


def test_configs_have_distinct_cache_keys():
    assert default_config(0).key() != default_config(1).key() != quick_config(0).key()
    assert default_config(0).key() == default_config(0).key()
    assert default_config(0).ladder_key() != default_config(1).ladder_key()


def test_first_above_chance_and_fit_sets():
    curve = pd.DataFrame({"model": list("abcde"), "value": [0.25, 0.27, 0.3, 0.45, 0.9], "n_eval": 200,
                          "chance": 0.25, "flops": [1.0, 2.0, 4.0, 8.0, 16.0]})
    assert first_above_chance(curve, 1e-3) == 3
    assert first_above_chance(curve.iloc[:3], 1e-3) is None
    assert fit_set(curve, 8.0, 4.0) == ["a", "b"]  # at most 1/4 of the first above-chance compute
    assert fit_set(curve, 8.0, 1.0) == list("abc")  # never the first checkpoint above chance itself
    assert is_monotone([{"n_train": 8, "emerged": True, "elbow_nats": 1.0},
                        {"n_train": 32, "emerged": True, "elbow_nats": 1.2}])
    assert not is_monotone([{"n_train": 8, "emerged": True, "elbow_nats": 1.3},
                            {"n_train": 32, "emerged": True, "elbow_nats": 1.2}])


def test_headline_falls_back_to_the_farthest_k_where_the_law_can_be_fitted():
    class Fits:  # the law can be fitted on fit sets of at least 1/2 of the emergence compute
        def run(self, k):
            return {"k": k, "not_identifiable": "every finetuned curve is at chance"} if k > 2 else {"k": k}

    got = farthest_identifiable(Fits(), 4.0, (1.0, 2.0, 4.0, 8.0))
    assert got["k"] == 2.0 and got["k_requested"] == 4.0 and "at chance" in got["fallback_reason"]
    assert farthest_identifiable(Fits(), 2.0, (1.0, 2.0)) == {"k": 2.0, "k_requested": 2.0}
    assert "not_identifiable" in farthest_identifiable(Fits(), 4.0, (4.0, 8.0))


def test_atomic_write_leaves_no_partial_file(tmp_path):
    path = atomic_write_text(tmp_path / "sub" / "a.txt", "hello")
    assert path.read_text() == "hello"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.txt"]


def test_cache_lock_makes_a_second_run_wait_for_the_first(tmp_path):
    """Two processes on one cache lock: the second waits (and says so) until the first is done."""
    lock, log = tmp_path / "ladder.lock", tmp_path / "log.txt"
    script = textwrap.dedent("""
        import sys, time
        from emergence_laws.micro.cache import exclusive_lock
        name, lock, log, hold = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
        def note(msg):
            with open(log, "a") as fh:
                fh.write(msg + "\\n")
        with exclusive_lock(lock, on_wait=lambda: note(name + " waits")):
            note(name + " in")
            time.sleep(hold)
            note(name + " out")
    """)
    first = subprocess.Popen([sys.executable, "-c", script, "A", str(lock), str(log), "3"])
    for _ in range(HANG_GUARD_S * 10):  # until A holds the lock
        if log.exists() and "A in" in log.read_text():
            break
        time.sleep(0.1)
    second = subprocess.run([sys.executable, "-c", script, "B", str(lock), str(log), "0"], timeout=HANG_GUARD_S,
                            check=True)
    assert first.wait(timeout=HANG_GUARD_S) == 0 and second.returncode == 0
    assert log.read_text().splitlines() == ["A in", "B waits", "A out", "B in", "B out"]


@pytest.mark.slow
def test_demo_quick_writes_prediction_results_and_report(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    cmd = [sys.executable, "-m", "emergence_laws", "demo", "--quick", "--no-progress", "--threads", "1",
           "--out", str(out), "--cache", str(cache)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=HANG_GUARD_S, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "prediction: few-shot emergence at" in proc.stdout and "ahead in compute" in proc.stdout
    pred = json.loads((out / "prediction.json").read_text())
    for key in ("predicted_emergence_point", "interval", "true_emergence_point", "error_nats", "compute_ahead",
                "ahead_sweep", "shift_by_amount", "ablations", "law_forms", "lora_vs_full", "d0_range"):
        assert key in pred, key
    assert pred["error_nats"] == pytest.approx(abs(pred["predicted_emergence_point"] - pred["true_emergence_point"]))
    assert pred["n_checkpoints_fit"] >= 3
    assert pred["compute_ahead"] >= pred["k"]  # the fit saw at most 1/k of the emergence compute
    assert pred["k"] <= pred["k_requested"] == 2.0
    assert (pred["k_fallback_reason"] is None) == (pred["k"] == pred["k_requested"])
    assert [e["k"] for e in pred["ahead_sweep"]] == [1.0, 2.0]
    assert {a["design"].split(" (")[0] for a in pred["ablations"]} == {
        "full design", "without the smallest amounts", "without the late checkpoints", "one subset per amount"}
    assert [f["form"] for f in pred["law_forms"]] == ["logpower", "power"]
    table = pd.read_csv(out / "results.csv")
    assert {"model", "task", "metric", "value", "n_train", "shots", "pretrain_loss", "flops"} <= set(table.columns)
    assert (table["n_train"] > 0).any() and (table["n_train"] == 0).any()
    assert set(table["method"].dropna().astype(str)) >= {"full", "lora"}
    assert set(table.loc[table["n_train"] > 0, "shots"]) == {4}  # finetuned in the few-shot format
    html = (out / "report.html").read_text()
    pngs = ("backtest", "law_fit", "emergence_shift", "ahead_sweep", "shift_by_amount", "ablations", "lora_vs_full")
    assert html.count("data:image/png;base64,") >= len(pngs)
    for png in pngs:
        assert (out / f"{png}.png").stat().st_size > 1000, png
    # a second run reuses the cached ladder and jobs and gives the same numbers
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=HANG_GUARD_S, check=False)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "ladder: reusing" in again.stdout
    pred2 = json.loads((out / "prediction.json").read_text())
    assert pred2["true_emergence_point"] == pred["true_emergence_point"]
    assert pred2["predicted_emergence_point"] == pred["predicted_emergence_point"]


def test_demo_bad_seed_is_a_one_line_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "emergence_laws", "demo", "--seed", "-1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=HANG_GUARD_S, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("emergence demo: error:") and len(proc.stderr.strip().splitlines()) == 1
