"""The SQLite results store and the lm-eval JSON import, on real SQLite files and real JSON layouts."""

from __future__ import annotations

import json
import multiprocessing as mp
import sqlite3

import pandas as pd
import pytest

from emergence_laws.cli import main
from emergence_laws.errors import InputError
from emergence_laws.results import ResultsStore, load_results


def job_rows(job: str, model: str, n_train: int, seed: int, acc: float) -> list[dict]:
    base = {"model": model, "task": "arith", "n_train": n_train, "shots": 0, "seed": seed, "pretrain_loss": 3.0,
            "method": "full" if n_train else "none", "run_key": job, "n_eval": 100}
    return [dict(base, metric="accuracy", value=acc), dict(base, metric="loglik", value=-1.5)]


def test_insert_is_idempotent_by_run_key(tmp_path):
    store = ResultsStore(tmp_path / "r.db")
    assert store.insert(job_rows("j1", "m1", 16, 0, 0.4)) == 2
    assert store.insert(job_rows("j1", "m1", 16, 0, 0.9)) == 0  # same job again: skipped
    assert len(store) == 2
    assert store.has("j1") and not store.has("j2")
    assert store.to_frame().query("metric == 'accuracy'")["value"].tolist() == [0.4]
    assert store.insert(job_rows("j1", "m1", 16, 0, 0.9), replace=True) == 2
    assert store.to_frame().query("metric == 'accuracy'")["value"].tolist() == [0.9]
    store.insert(job_rows("j2", "m2", 0, 0, 0.25))
    assert store.run_keys() == {"j1", "j2"}


def test_rows_without_run_key_get_a_stable_one(tmp_path):
    store = ResultsStore(tmp_path / "r.db")
    row = {"model": "m", "task": "t", "metric": "accuracy", "value": 0.3, "n_train": 0, "shots": 2, "params": 1e8}
    store.insert([row])
    store.insert([dict(row)])
    assert len(store) == 1


def test_extra_columns_round_trip_and_export(tmp_path):
    store = ResultsStore(tmp_path / "r.db")
    rows = job_rows("j1", "m1", 16, 0, 0.4)
    for r in rows:
        r["lr"] = 3e-4
        r["prompt_method"] = "cot"
    store.insert(rows)
    df = store.to_frame()
    assert df["lr"].tolist() == [3e-4, 3e-4] and df["prompt_method"].tolist() == ["cot", "cot"]
    out = store.export(tmp_path / "out.csv")
    back = load_results(out)
    assert set(back["metric"]) == {"accuracy", "loglik"}
    store.export(tmp_path / "out.parquet")
    assert len(load_results(tmp_path / "out.parquet")) == 2


def test_store_loads_as_results_and_reopens(tmp_path):
    path = tmp_path / "r.db"
    with ResultsStore(path) as store:
        for i, (m, loss) in enumerate([("a", 3.5), ("b", 3.0), ("c", 2.5)]):
            rows = job_rows(f"j{i}", m, 0, 0, 0.25 + 0.1 * i)
            for r in rows:
                r["pretrain_loss"] = loss
            store.insert(rows)
    df = load_results(path)
    assert len(df) == 6 and sorted(df["pretrain_loss"].unique()) == [2.5, 3.0, 3.5]
    assert ResultsStore(path).run_keys() == {"j0", "j1", "j2"}


def test_a_failed_insert_leaves_nothing(tmp_path):
    store = ResultsStore(tmp_path / "r.db")
    rows = job_rows("j1", "m1", 16, 0, 0.4)
    rows[1]["value"] = None
    with pytest.raises(InputError):
        store.insert(rows)
    assert len(store) == 0


def _writer(path: str, start: int) -> None:
    store = ResultsStore(path)
    for i in range(start, start + 40):
        store.insert(job_rows(f"j{i}", f"m{i}", 8, 0, 0.5))


def test_concurrent_writers_neither_lose_nor_duplicate(tmp_path):
    path = str(tmp_path / "r.db")
    ResultsStore(path).close()
    procs = [mp.get_context("spawn").Process(target=_writer, args=(path, s)) for s in (0, 20)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = ResultsStore(path)
    assert len(store) == 2 * 60  # jobs 0..59, two rows each, overlap 20..39 written once
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_not_a_store(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(InputError, match="no results table"):
        load_results(path)


def lmeval_doc(model: str, acc: float, em: float) -> dict:
    """The layout lm-evaluation-harness 0.4 writes (results, n-shot, n-samples, config)."""
    return {
        "results": {
            "arith_mc": {"alias": "arith_mc", "acc,none": acc, "acc_stderr,none": 0.02,
                         "acc_norm,none": acc, "acc_norm_stderr,none": 0.02},
            "arith_gen": {"alias": "arith_gen", "exact_match,strict-match": em,
                          "exact_match_stderr,strict-match": 0.01},
        },
        "n-shot": {"arith_mc": 3, "arith_gen": 5},
        "n-samples": {"arith_mc": {"original": 500, "effective": 200}, "arith_gen": {"original": 100, "effective": 100}},
        "config": {"model": "hf", "model_args": f"pretrained={model},dtype=float32"},
    }


def test_lmeval_json_folder_with_scales_sidecar(tmp_path):
    for model, acc in [("ckpt/a", 0.26), ("ckpt/b", 0.31)]:
        sub = tmp_path / model.replace("/", "_")
        sub.mkdir()
        (sub / "results_2026.json").write_text(json.dumps(lmeval_doc(model, acc, 0.0)))
    pd.DataFrame({"model": ["ckpt/a", "ckpt/b"], "pretrain_loss": [3.2, 2.9], "params": [1e8, 3e8]}).to_csv(
        tmp_path / "scales.csv", index=False
    )
    df = load_results(tmp_path)
    acc = df[df["metric"] == "accuracy"].sort_values("model")
    assert acc["value"].tolist() == [0.26, 0.31]
    assert acc["shots"].tolist() == [3, 3] and acc["n_eval"].tolist() == [200, 200]
    assert acc["stderr"].tolist() == [0.02, 0.02]
    assert set(df["metric"]) == {"accuracy", "acc_norm", "exact_match[strict-match]"}
    assert acc["pretrain_loss"].tolist() == [3.2, 2.9]


def test_lmeval_json_unknown_model_in_scales(tmp_path, capsys):
    (tmp_path / "r.json").write_text(json.dumps(lmeval_doc("ckpt/z", 0.3, 0.1)))
    (tmp_path / "scales.csv").write_text("model,params\nckpt/a,1e8\n")
    assert main(["validate", str(tmp_path / "r.json")]) == 2
    assert "'ckpt/z' has no row in the scales table" in capsys.readouterr().err
