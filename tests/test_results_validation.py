"""Malformed results tables: each rejected with one clear line, a non-zero exit, and the input untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from emergence_laws.cli import main
from emergence_laws.errors import InputError
from emergence_laws.results import load_results

HEADER = "model,task,metric,value,n_train,shots,pretrain_loss"
GOOD_ROWS = [
    "m1,arith,accuracy,0.25,0,4,3.1",
    "m2,arith,accuracy,0.30,0,4,2.9",
    "m1,arith,accuracy,0.40,16,0,3.1",
]


def csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


# (case id, file name, file content, words the one-line message must contain)
MALFORMED: list[tuple[str, str, str | bytes, tuple[str, ...]]] = [
    ("empty file", "t.csv", "", ("empty",)),
    ("whitespace only", "t.csv", "  \n\n ", ("empty",)),
    ("header only", "t.csv", HEADER + "\n", ("no rows",)),
    ("missing value column", "t.csv", csv("m1,arith,accuracy,0,4,3.1", header="model,task,metric,n_train,shots,pretrain_loss"), ("'value'",)),
    ("missing model column", "t.csv", csv("arith,accuracy,0.2,0,4,3.1", header="task,metric,value,n_train,shots,pretrain_loss"), ("'model'",)),
    ("missing several columns", "t.csv", csv("m1,0.2", header="model,value"), ("'task'", "'metric'")),
    ("no scale column", "t.csv", csv("m1,arith,accuracy,0.2,0,4", header="model,task,metric,value,n_train,shots"), ("scale",)),
    ("row without any scale value", "t.csv", csv("m1,arith,accuracy,0.2,0,4,"), ("line 2", "scale")),
    ("NaN value", "t.csv", csv("m1,arith,accuracy,NaN,0,4,3.1"), ("line 2", "'value'")),
    ("empty value", "t.csv", csv(GOOD_ROWS[0], "m2,arith,accuracy,,0,4,2.9"), ("line 3", "'value'")),
    ("string in value", "t.csv", csv("m1,arith,accuracy,high,0,4,3.1"), ("'high'", "not a number")),
    ("string in n_train", "t.csv", csv("m1,arith,accuracy,0.2,many,4,3.1"), ("'many'", "n_train")),
    ("string in pretrain_loss", "t.csv", csv("m1,arith,accuracy,0.2,0,4,3.1nats"), ("pretrain_loss",)),
    ("accuracy above 1", "t.csv", csv("m1,arith,accuracy,1.3,0,4,3.1"), ("outside [0, 1]",)),
    ("accuracy as percentage", "t.csv", csv("m1,arith,accuracy,45,0,4,3.1"), ("divide by 100",)),
    ("negative accuracy", "t.csv", csv("m1,arith,accuracy,-0.1,0,4,3.1"), ("outside",)),
    ("exact match above 1", "t.csv", csv("m1,arith,exact_match,2,0,4,3.1"), ("exact_match",)),
    ("positive log-likelihood", "t.csv", csv("m1,arith,loglik,0.5,0,4,3.1"), ("log-likelihood",)),
    ("negative n_train", "t.csv", csv("m1,arith,accuracy,0.2,-5,4,3.1"), ("n_train", "out of range")),
    ("fractional n_train", "t.csv", csv("m1,arith,accuracy,0.2,2.5,4,3.1"), ("whole number",)),
    ("negative shots", "t.csv", csv("m1,arith,accuracy,0.2,0,-1,3.1"), ("shots",)),
    ("zero pretrain loss", "t.csv", csv("m1,arith,accuracy,0.2,0,4,0"), ("pretrain_loss", "> 0")),
    ("negative pretrain loss", "t.csv", csv("m1,arith,accuracy,0.2,0,4,-2"), ("pretrain_loss",)),
    ("infinite loss", "t.csv", csv("m1,arith,accuracy,0.2,0,4,inf"), ("infinite",)),
    ("absurd pretrain loss", "t.csv", csv(GOOD_ROWS[0], "m2,arith,accuracy,0.30,0,4,4.3e300"),
     ("line 3", "4.3e+300 is out of range", "<= 100 nats/token")),
    ("absurd bits per byte", "t.csv", csv("m1,arith,accuracy,0.2,0,4,250", header="model,task,metric,value,n_train,shots,pretrain_bpb"),
     ("pretrain_bpb", "<= 100 bits/byte")),
    ("flops 0 on every checkpoint", "t.csv", csv("m1,arith,accuracy,0.2,0,4,0", "m2,arith,accuracy,0.3,0,4,0",
                                                 header="model,task,metric,value,n_train,shots,flops"),
     ("column 'flops' is 0 on every row", "random init")),
    ("tokens 0 on every checkpoint", "t.csv", csv("m1,arith,accuracy,0.2,0,4,3.1,0", "m2,arith,accuracy,0.3,0,4,2.9,0",
                                                  header=HEADER + ",tokens"), ("column 'tokens' is 0 on every row",)),
    ("zero params", "t.csv", csv("m1,arith,accuracy,0.2,0,4,0", header="model,task,metric,value,n_train,shots,params"),
     ("params", "> 0")),
    ("negative params", "t.csv", csv("m1,arith,accuracy,0.2,0,4,-1e6", header="model,task,metric,value,n_train,shots,params"), ("params",)),
    ("negative flops", "t.csv", csv("m1,arith,accuracy,0.2,0,4,-1", header="model,task,metric,value,n_train,shots,flops"), ("flops",)),
    ("chance outside the metric's range", "t.csv", csv("m1,arith,accuracy,0.2,0,4,3.1,2", header=HEADER + ",chance"), ("chance of accuracy", "[0, 1]")),
    ("negative bits per byte", "t.csv", csv("m1,arith,bpb,-0.5,0,4,3.1"), ("bpb value", ">= 0")),
    ("perplexity below 1", "t.csv", csv("m1,arith,perplexity,0.5,0,4,3.1"), ("perplexity value",)),
    ("bad higher_is_better", "t.csv", csv("m1,arith,score,0.2,0,4,3.1,maybe", header=HEADER + ",higher_is_better"), ("'maybe'", "true or false")),
    ("zero n_eval", "t.csv", csv("m1,arith,accuracy,0.2,0,4,3.1,0", header=HEADER + ",n_eval"), ("n_eval",)),
    ("negative stderr", "t.csv", csv("m1,arith,accuracy,0.2,0,4,3.1,-0.01", header=HEADER + ",stderr"), ("stderr",)),
    ("empty model name", "t.csv", csv(",arith,accuracy,0.2,0,4,3.1"), ("'model' is empty",)),
    ("empty task name", "t.csv", csv("m1,,accuracy,0.2,0,4,3.1"), ("'task' is empty",)),
    ("unknown method", "t.csv", csv("m1,arith,accuracy,0.2,16,0,3.1,adapter", header=HEADER + ",method"), ("'adapter'",)),
    ("finetuned with n_train 0", "t.csv", csv("m1,arith,accuracy,0.2,0,0,3.1,full", header=HEADER + ",method"), ("n_train=0",)),
    ("method none with n_train", "t.csv", csv("m1,arith,accuracy,0.2,16,0,3.1,none", header=HEADER + ",method"), ("method 'none'",)),
    ("exact duplicate rows", "t.csv", csv(GOOD_ROWS[0], GOOD_ROWS[0]), ("same evaluation", "line 2", "line 3")),
    ("conflicting duplicates", "t.csv", csv(GOOD_ROWS[0], "m1,arith,accuracy,0.9,0,4,3.1"), ("same evaluation",)),
    ("duplicated column", "t.csv", csv("m1,arith,accuracy,0.2,0.3,0,4,3.1", header="model,task,metric,value,value,n_train,shots,pretrain_loss"), ("value",)),
    ("ragged row", "t.csv", csv("m1,arith,accuracy,0.2,0,4,3.1,extra,fields"), ("malformed CSV",)),
    ("not UTF-8", "t.csv", HEADER.encode() + b"\n\xff\xfe,arith,accuracy,0.2,0,4,3.1\n", ("UTF-8",)),
    ("unknown file type", "t.xlsx", csv(*GOOD_ROWS), ("unknown file type",)),
    ("corrupt parquet", "t.parquet", b"PAR1 this is not parquet", ("Parquet",)),
    ("fake SQLite store", "t.db", csv(*GOOD_ROWS), ("SQLite",)),
    ("invalid JSON", "t.json", "{not json", ("not valid JSON",)),
    ("JSON without results", "t.json", json.dumps({"foo": 1}), ("'results'",)),
    ("lm-eval JSON without scales", "t.json", json.dumps({"results": {"arith": {"acc,none": 0.3}}}), ("scales.csv",)),
]


@pytest.mark.parametrize("name,filename,content,words", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_table_gets_one_line_error(tmp_path, capsys, name, filename, content, words):
    path = tmp_path / filename
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    before = path.read_bytes()

    code = main(["validate", str(path)])

    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1, err
    assert err.startswith("emergence validate: error: ")
    assert str(path) in err or path.name in err
    for word in words:
        assert word in err, f"{name}: {word!r} not in {err!r}"
    assert "Traceback" not in err
    assert path.read_bytes() == before  # nothing lost: the input is never modified


def test_flops_zero_at_random_init_only_is_a_scale():
    """0 FLOPs/tokens marks the random-init checkpoint: one such checkpoint is fine, all of them is not."""
    df = load_results_text(csv("m1,arith,accuracy,0.25,0,4,0,0", "m2,arith,accuracy,0.3,0,4,1e18,2e9",
                               header="model,task,metric,value,n_train,shots,flops,tokens"))
    assert list(df["flops"]) == [0.0, 1e18]


def test_python_api_reads_the_bundled_example_by_name():
    """The README's `load_results("example")`: the same table `emergence fit example` reads."""
    from emergence_laws import fit_table
    from emergence_laws.results.io import example_table

    df = load_results("example")
    assert len(df) == 144 and df["task"].unique().tolist() == ["mc4_reasoning"]
    assert df.equals(load_results(example_table()))
    assert fit_table(df, task="mc4_reasoning")["emergence_point"] > 0


def load_results_text(text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "t.csv"
        p.write_text(text)
        return load_results(p)


def test_at_least_thirty_malformed_cases():
    assert len(MALFORMED) >= 30


def test_missing_file_via_real_cli(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "emergence_laws", "validate", str(tmp_path / "nope.csv")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"emergence validate: error: {tmp_path / 'nope.csv'}: no such file or folder; check the path"]
    assert proc.stdout == ""


def test_bad_value_via_real_cli(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(csv(GOOD_ROWS[0], "m2,arith,accuracy,1.7,0,4,2.9"))
    proc = subprocess.run(
        [sys.executable, "-m", "emergence_laws", "validate", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        f"emergence validate: error: {path}, line 3: accuracy value 1.7 is outside [0, 1]; "
        "if it is a percentage, divide by 100"
    )


def test_good_table_types_and_passthrough(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(csv(*GOOD_ROWS, header=HEADER).replace(HEADER, HEADER, 1))
    path.write_text(
        "\n".join([HEADER + ",note,width", *(r + f",row{i},{i * 64}" for i, r in enumerate(GOOD_ROWS))]) + "\n"
    )
    df = load_results(path)
    assert list(df["value"]) == [0.25, 0.30, 0.40]
    assert df["n_train"].dtype.kind == "i" and df["shots"].dtype.kind == "i"
    assert df["pretrain_loss"].dtype.kind == "f"
    assert list(df["note"]) == ["row0", "row1", "row2"]  # unknown text column passes through
    assert df["width"].dtype.kind == "f"  # unknown numeric column becomes numeric


def test_rows_without_loss_but_with_params_are_fine(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(
        "model,task,metric,value,n_train,shots,pretrain_loss,params\n"
        "a,t,accuracy,0.2,0,3,3.0,\n"
        "b,t,accuracy,0.3,0,3,,1e9\n"
    )
    df = load_results(path)
    assert df["pretrain_loss"].isna().sum() == 1
    assert df["params"].isna().sum() == 1


def test_unknown_metric_values_are_not_range_checked(tmp_path):
    path = tmp_path / "bleu.csv"
    path.write_text(csv("m1,mt,bleu,34.5,0,2,3.0"))
    assert load_results(path)["value"].iloc[0] == 34.5


def test_parquet_round_trip(tmp_path):
    df = pd.DataFrame(
        {
            "model": ["a", "b"],
            "task": ["t", "t"],
            "metric": ["accuracy", "accuracy"],
            "value": [0.1, 0.9],
            "n_train": [0, 0],
            "shots": [2, 2],
            "flops": [1e18, 1e19],
        }
    )
    path = tmp_path / "t.parquet"
    df.to_parquet(path)
    back = load_results(path)
    assert back["value"].tolist() == [0.1, 0.9]
    bad = df.assign(value=[0.1, 1.5])
    bad.to_parquet(path)
    with pytest.raises(InputError, match="row 1: accuracy value 1.5"):
        load_results(path)


def test_real_public_tables_load():
    root = Path(__file__).resolve().parents[1] / "data" / "public"
    obs = load_results(root / "obsscaling_evals.csv")
    openlm = load_results(root / "openlm_scaling_evals.csv")
    assert len(obs) == 11487 and len(openlm) == 4784
    assert openlm["pretrain_loss"].notna().all()
    assert obs["flops"].isna().sum() > 0  # known quirk: ~6% of rows lack FLOPs, kept as NaN
