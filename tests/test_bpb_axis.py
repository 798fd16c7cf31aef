"""Bits per byte as the loss axis: `fit --x bpb` and `detect --x bpb` on a table whose pretrain_bpb is a
rescaling of pretrain_loss give the nats answer rescaled (the law and detection do not care about units)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import HANG_GUARD_S

SCALE = 1 / (math.log(2) * 3.7)  # bits/byte per nat/token at 3.7 bytes per token


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emergence_laws", *map(str, args)], capture_output=True, text=True,
                          timeout=HANG_GUARD_S, check=False)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    from importlib.resources import files

    root = tmp_path_factory.mktemp("bpb")
    df = pd.read_csv(files("emergence_laws") / "data" / "example_results.csv")
    df["pretrain_bpb"] = df["pretrain_loss"] * SCALE
    both = root / "both.csv"
    df.to_csv(both, index=False)
    return both


def test_fit_in_bits_per_byte_is_the_nats_fit_rescaled(tables):
    nats = _cli("fit", tables, "--bootstrap", 0, "--json")
    bpb = _cli("fit", tables, "--bootstrap", 0, "--json", "--x", "bpb")
    assert nats.returncode == 0 and bpb.returncode == 0, nats.stderr + bpb.stderr
    a, b = json.loads(nats.stdout), json.loads(bpb.stdout)
    assert (a["x_unit"], b["x_unit"], b["x_axis"]) == ("nats", "bits/byte", "pretrain_bpb")
    # the law is unit-free, but the optimiser's bounds and starts are set in absolute units: the two fits
    # agree to optimiser precision (well under the 0.1-nat success criterion), not to the last digit
    assert b["emergence_point"] / SCALE == pytest.approx(a["emergence_point"], abs=0.02)
    assert abs(b["emergence_point"] / SCALE - 2.812) < 0.05  # the table's true few-shot emergence point (nats)
    text = _cli("fit", tables, "--bootstrap", 0, "--x", "bpb")
    assert "bits/byte" in text.stdout and " nats" not in text.stdout.splitlines()[0]


def test_detect_reads_bpb_as_a_loss_axis(tables):
    nats = _cli("detect", tables, "--x", "pretrain_loss", "--json", "--group", "pooled")
    bpb = _cli("detect", tables, "--x", "bpb", "--json", "--group", "pooled")
    assert nats.returncode == 0 and bpb.returncode == 0, nats.stderr + bpb.stderr
    a, b = json.loads(nats.stdout), json.loads(bpb.stdout)
    assert b["x"] == "pretrain_bpb"
    la = {r["series"]: r for r in a["series"]}
    lb = {r["series"]: r for r in b["series"]}
    assert [r["label"] for r in la.values()] == [r["label"] for r in lb.values()]
    compared = [sid for sid, r in la.items() if r["emergent_scale"] is not None]
    assert compared
    for sid in compared:
        assert lb[sid]["emergent_scale"] == pytest.approx(la[sid]["emergent_scale"] * SCALE, rel=1e-3)


def test_fit_on_bpb_without_the_column_is_one_line(tmp_path):
    res = _cli("fit", "example", "--x", "bpb")
    assert res.returncode == 2 and res.stderr.strip().startswith("emergence fit: error: --x bpb: the table has no")
