"""reference_loss: what was measured (tokens, bytes) and bits per byte; the measure job stores them."""

from __future__ import annotations

import math

import pytest

from emergence_laws.study import load_study
from emergence_laws.models import pretraining_loss, reference_loss
from emergence_laws.study import jobs
from emergence_laws.study.grid import build_grid
from emergence_laws.testing.study_files import write_study
from emergence_laws.testing.tiny_models import build_tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")

TEXT = "the cat is on the tree; the dog runs in the apple garden. Ünïcödé bytes: 12 + 12 = 24. " * 4


@pytest.fixture(scope="module")
def lm():
    model, tok = build_tiny_model("llama", seed=1)
    return model, tok


def test_tokens_bytes_and_bits_per_byte(lm):
    model, tok = lm
    ids = tok(TEXT, add_special_tokens=False)["input_ids"]
    full = reference_loss(model, tok, TEXT, seq_len=40)
    assert full.tokens == len(ids) - 1  # every token after the first, once
    first = len(tok.decode(ids[:1]).encode("utf-8"))
    assert TEXT.startswith(tok.decode(ids[:1]))
    assert full.bytes == len(TEXT.encode("utf-8")) - first  # non-ASCII characters count 2 bytes (here: <unk> tokens)
    assert full.nats_per_token == pytest.approx(pretraining_loss(model, tok, TEXT, seq_len=40), rel=1e-9)
    assert full.bits_per_byte == pytest.approx(full.nats / math.log(2) / full.bytes, rel=1e-12)
    # capped: the record says what was scored, not what was asked for
    short = reference_loss(model, tok, TEXT, seq_len=40, max_tokens=20)
    spelled = tok.decode(ids[:21])
    assert "<unk>" not in spelled and TEXT.startswith(spelled)
    assert short.tokens == 20 and short.bytes == len(spelled.encode("utf-8")) - first
    huge = reference_loss(model, tok, TEXT, seq_len=40, max_tokens=10**6)
    assert huge.tokens == full.tokens and huge.nats == pytest.approx(full.nats, rel=1e-6)


def test_measure_job_records_scored_tokens_and_bpb(tmp_path):
    cfg = load_study(write_study(tmp_path, archs=("llama",), n_train=(2,), seeds=1, shots=(0,),
                                 extra={"reference": {"path": "reference.txt", "max_tokens": 5000, "seq_len": 64}}))
    job = build_grid(cfg).measure[0]
    jobs.clear_caches()
    try:
        (row,) = jobs.run_job(job)
        _, tok = jobs._load_checkpoint(job)
    finally:
        jobs.clear_caches()
    text = (tmp_path / "reference.txt").read_text()
    n = len(tok(text, add_special_tokens=False)["input_ids"])
    assert n - 1 < 5000 and row["reference_tokens"] == n - 1  # not the max_tokens setting
    assert row["reference_bytes"] > 0
    assert row["pretrain_bpb"] == pytest.approx(
        row["pretrain_loss"] * row["reference_tokens"] / math.log(2) / row["reference_bytes"], rel=1e-9)


def test_a_store_written_before_pretrain_bpb_existed_gains_the_column(tmp_path):
    import sqlite3

    from emergence_laws.results import ResultsStore

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:  # the schema of earlier versions: no pretrain_bpb column
        conn.execute("CREATE TABLE results (model TEXT, task TEXT, metric TEXT NOT NULL, value REAL, n_train INTEGER, "
                     "shots INTEGER, pretrain_loss REAL, flops REAL, params REAL, run_key TEXT NOT NULL, "
                     "extra TEXT, PRIMARY KEY (run_key, metric))")
        conn.execute("INSERT INTO results VALUES ('m', 't', 'accuracy', 0.5, 0, 0, 3.0, NULL, NULL, 'k0', NULL)")
    with ResultsStore(db, create=False) as st:
        assert st.to_frame()["pretrain_loss"].tolist() == [3.0]
        st.insert([{"model": "m2", "task": "t", "metric": "accuracy", "value": 0.6, "pretrain_loss": 2.5,
                    "pretrain_bpb": 1.1, "run_key": "k1"}])
        df = st.to_frame()
    assert df.set_index("run_key")["pretrain_bpb"].to_dict()["k1"] == 1.1
