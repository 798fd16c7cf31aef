"""`emergence compare` as a user runs it (real subprocesses on generated tables): the JSON contract,
groups that cannot be compared, exit codes, one-line errors, the figure and the report."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from emergence_laws.laws.synthetic import Misspecification
from emergence_laws.laws.synthetic_runs import draw_runs, runs_frame
from tests.conftest import HANG_GUARD_S

SPEC = Misspecification(checkpoint_sd=0.01, run_sd=0.01, floor_shift=0.02, n_eval=500)
BOOT = "50"  # replicates per group in these tests (the default, 200, is what the benchmark measures)


def emergence(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emergence_laws", *map(str, args)], capture_output=True, text=True,
                          timeout=HANG_GUARD_S, check=False)


def one_error_line(r: subprocess.CompletedProcess) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("emergence compare: error: "), r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, str]:
    """CSV tables: two runs; the two runs plus a run whose finetuned rows never rise (law not identified);
    variants with a group of one checkpoint, a group without finetuned rows, no compute column."""
    d = tmp_path_factory.mktemp("compare")
    df = runs_frame(draw_runs(2, SPEC, 2024))
    rng = np.random.default_rng(5)
    flat = df[df["family"] == "run-b"].copy()
    flat["family"] = "flat"
    flat["model"] = flat["model"].str.replace("run-b", "flat")
    flat["value"] = rng.binomial(500, flat["chance"].to_numpy()) / 500  # at chance everywhere
    b = df[df["family"] == "run-b"]
    one = b[b["model"] == b["model"].iloc[0]].assign(family="one")
    out = {
        "two": df,
        "three_flat": pd.concat([df, flat]),
        "two_flat": pd.concat([df[df["family"] == "run-a"], flat]),
        "three_one": pd.concat([df, one]),
        "two_one": pd.concat([df[df["family"] == "run-a"], one]),
        "two_noft": pd.concat([df[df["family"] == "run-a"], b[b["n_train"] == 0]]),
        "no_compute": df.drop(columns=["flops"]),
        "tokenizers": df.assign(tokenizer=np.where(df["family"] == "run-a", "gpt2", "llama")),
    }
    paths = {}
    for name, frame in out.items():
        paths[name] = str(d / f"{name}.csv")
        frame.to_csv(paths[name], index=False)
    return paths


def test_json_contract(tables):
    r = emergence("compare", tables["two"], "--task", "synthetic", "--by", "family", "--bootstrap", BOOT, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)  # the whole of stdout is one JSON object
    assert [g["group"] for g in out["groups"]] == ["run-a", "run-b"]
    for g in out["groups"]:
        assert g["identified"] is True and g["reason"] is None
        lo, hi = g["interval"]
        assert lo <= g["emergence_point"] <= hi  # nats
        assert g["flops"] > 0
        flo, fhi = g["flops_interval"]
        assert flo <= g["flops"] and (fhi is None or g["flops"] <= fhi)
        assert g["ahead"] == pytest.approx(g["flops"] / g["last_checkpoint_flops"])
    (pair,) = out["pairs"]
    assert {pair["first"], pair["second"]} == {"run-a", "run-b"}
    assert 0.5 <= pair["p_first"] <= 1.0
    lo, hi = pair["ratio_interval"]
    assert lo <= pair["ratio"] and (hi is None or pair["ratio"] <= hi)  # None: some replicates never get there
    assert pair["ratio"] >= 1.0  # second / first: first is the cheaper
    first = next(g for g in out["groups"] if g["group"] == pair["first"])
    second = next(g for g in out["groups"] if g["group"] == pair["second"])
    assert first["flops"] <= second["flops"]
    assert out["compute_axis"] == "flops" and out["by"] == "family" and out["task"] == "synthetic"
    assert out["provenance"]["command"].startswith("emergence compare")


def test_text_table_figure_and_report_section(tables, tmp_path):
    out = tmp_path / "cmp"
    r = emergence("compare", tables["two"], "--bootstrap", BOOT, "--out", out)
    assert r.returncode == 0, r.stderr
    assert "E(D0) nats [90%]" in r.stdout and "FLOPs [90%]" in r.stdout and "x past last checkpoint" in r.stdout
    assert "P(first gets there on less compute)" in r.stdout
    assert (out / "compare.png").stat().st_size > 10_000
    saved = json.loads((out / "compare.json").read_text())
    assert saved["kind"] == "compare" and len(saved["pairs"]) == 1
    rep = emergence("report", out)
    assert rep.returncode == 0, rep.stderr
    html = (out / "report.html").read_text()
    assert "compare report" in html and "data:image/png;base64," in html
    assert "gets there on less compute than" in html  # the summary's verdict


def test_a_group_whose_law_is_not_identified_is_reported_and_the_others_compared(tables):
    r = emergence("compare", tables["three_flat"], "--bootstrap", BOOT, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    groups = {g["group"]: g for g in out["groups"]}
    assert groups["flat"]["identified"] is False and "not identified" in groups["flat"]["reason"]
    assert groups["flat"]["flops"] is None
    assert groups["run-a"]["identified"] and groups["run-b"]["identified"]
    assert [{p["first"], p["second"]} for p in out["pairs"]] == [{"run-a", "run-b"}]


def test_a_group_of_one_checkpoint_among_three_is_not_compared(tables):
    r = emergence("compare", tables["three_one"], "--bootstrap", BOOT, "--json")
    assert r.returncode == 0, r.stderr
    groups = {g["group"]: g for g in json.loads(r.stdout)["groups"]}
    assert groups["one"]["identified"] is False and "1 checkpoint" in groups["one"]["reason"]


def test_fewer_than_two_identified_exits_3_with_one_line(tables):
    r = emergence("compare", tables["two_flat"], "--bootstrap", BOOT)
    assert r.returncode == 3
    line = one_error_line(r)
    assert "1 of 2 groups" in line and "'flat'" in line
    j = emergence("compare", tables["two_flat"], "--bootstrap", BOOT, "--json")
    assert j.returncode == 3
    assert json.loads(j.stdout)["n_compared"] == 1  # a script still gets what was found


@pytest.mark.parametrize(
    ("table", "extra", "words"),
    [
        ("two", ["--by", "mix"], "no column 'mix'"),
        ("two", ["--by", "task"], "needs 2+ groups"),
        ("two_one", [], "1 checkpoint(s)"),
        ("two_noft", [], "no finetuned rows"),
        ("no_compute", [], "no compute column"),
        ("two", ["--bootstrap", "5"], "20+ replicates"),
        ("two", ["--task", "nope"], "task 'nope' is not in the table"),
    ],
)
def test_bad_input_exits_2_with_one_line(tables, table, extra, words):
    args = ["compare", tables[table], *extra]
    if "--bootstrap" not in extra:
        args += ["--bootstrap", BOOT]
    r = emergence(*args)
    assert r.returncode == 2, r.stderr
    assert words in one_error_line(r)
    assert "Traceback" not in r.stderr


def test_warns_when_losses_come_from_different_tokenizers(tables):
    r = emergence("compare", tables["tokenizers"], "--bootstrap", BOOT)
    assert r.returncode == 0, r.stderr
    assert "warning: the groups' pretraining losses were measured with different tokenizers" in r.stderr


CHECK = """
import sys, contextlib, io
from emergence_laws.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["compare", {path!r}, "--bootstrap", "20", "--json"])
print(code, sorted(m for m in ("torch", "transformers", "peft") if m in sys.modules))
"""


def test_compare_runs_without_torch(tables):
    proc = subprocess.run([sys.executable, "-c", CHECK.format(path=tables["two"])], capture_output=True, text=True,
                          timeout=HANG_GUARD_S, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "0 []"
