"""`emergence fit / backtest / predict` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

import pytest

import emergence_laws
from tests.conftest import HANG_GUARD_S, PUBLIC_DATA

EXAMPLE = str(files("emergence_laws") / "data" / "example_results.csv")
TRUE_E = 2.8124  # scripts/make_example_table.py


def emergence(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emergence_laws", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
        cwd=cwd,
    )


def test_fit_json_prints_one_object_with_the_contract_keys():
    r = emergence("fit", EXAMPLE, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)  # the whole of stdout is one JSON object
    for key in ("task", "emergence_point", "interval", "law", "n_rows", "warnings"):
        assert key in out
    assert abs(out["emergence_point"] - TRUE_E) < 0.05
    assert len(out["interval"]) == 2 and out["interval"][0] < out["interval"][1]
    assert out["law"]["form"] == "logpower" and isinstance(out["warnings"], list)


def test_fit_out_writes_prediction_and_plots_then_predict_reads_it(tmp_path):
    r = emergence("fit", EXAMPLE, "--out", str(tmp_path), "--bootstrap", "50", "--form", "power")
    assert r.returncode == 0, r.stderr
    assert "few-shot emergence predicted at pretraining loss" in r.stdout
    pred = json.loads((tmp_path / "prediction.json").read_text())
    assert pred["law"]["form"] == "power"
    for png in ("law_fit.png", "emergence_shift.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    e = pred["law"]["few_shot_emergence_point"]  # the law at its D0 (emergence_point is the replicates' median)
    r = emergence("predict", "--law", str(tmp_path / "prediction.json"), "--loss", str(e + 0.3), str(e - 0.3), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    floor = pred["law"]["params"]["B"] + pred["law"]["params"]["delta"]
    assert out["law_predicted"][0] == pytest.approx(floor)  # before emergence: the few-shot floor
    assert out["law_predicted"][1] == pytest.approx(floor + 0.3 * pred["law"]["params"]["A"])
    # the medians over the fit's 50 replicates, inside their 90% intervals; the emergence point is fit's
    assert out["n_draws"] == 50 and out["d0_range"] == pred["d0_range"]
    for v, (lo, hi) in zip(out["predicted"], out["interval"]):
        assert lo <= v <= hi
    assert out["emergence_point"] == pytest.approx(pred["emergence_point"], abs=1e-4)
    assert out["emergence_interval"] == pytest.approx(pred["interval"], abs=1e-4)
    # the report states the interval, what it includes and the D0 range at the top
    r = emergence("report", str(tmp_path))
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "report.html").read_text()
    top = html[html.index('<section class="summary">'):html.index("</section>", html.index('<section class="summary">'))]
    assert "90% interval [" in top and "unknown in [5, 50]" in top and "The interval includes" in top


def test_fit_out_records_provenance_data_path_version_and_options(tmp_path):
    (tmp_path / "table.csv").write_bytes(Path(EXAMPLE).read_bytes())
    args = ("fit", "table.csv", "--task", "mc4_reasoning", "--d0", "4", "--form", "power", "--bootstrap", "0")
    r = emergence(*args, "--out", "out", cwd=tmp_path)  # relative paths, recorded as given
    assert r.returncode == 0, r.stderr
    prov = json.loads((tmp_path / "out" / "prediction.json").read_text())["provenance"]
    assert prov["data"] == "table.csv"
    assert prov["data_resolved"] == str((tmp_path / "table.csv").resolve())
    assert prov["version"] == emergence_laws.__version__ == version("emergence-laws")
    opts = prov["options"]
    assert (opts["task"], opts["metric"], opts["d0"], opts["form"], opts["bootstrap"]) == (
        "mc4_reasoning",
        None,  # not given: the default metric was used
        4.0,
        "power",
        0,
    )
    # the recorded command reproduces the result
    again = emergence(*shlex.split(prov["command"])[1:], "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["emergence_point"] == json.loads((tmp_path / "out" / "prediction.json").read_text())[
        "emergence_point"
    ]


def test_backtest_json_and_plot(tmp_path):
    # `example` names the bundled example table
    # the example table was drawn with D0 = shots = 5: given that, the backtest is within the 0.1-nat bar
    r = emergence(
        "backtest", "example", "--task", "mc4_reasoning", "--cutoff-loss", "2.9", "--d0", "5", "--json",
        "--out", str(tmp_path),
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for key in ("predicted", "actual", "error_nats", "compute_ahead"):
        assert out[key] is not None
    assert out["error_nats"] <= 0.1 and out["compute_ahead"] > 1
    assert (tmp_path / "backtest.png").read_bytes()[:4] == b"\x89PNG"
    prov = json.loads((tmp_path / "backtest.json").read_text())["provenance"]
    assert prov["data"] == "example" and prov["version"] == emergence_laws.__version__
    assert prov["options"]["task"] == "mc4_reasoning" and prov["options"]["cutoff_loss"] == 2.9
    assert prov["data_resolved"] == str(Path(EXAMPLE).resolve())


def test_real_few_shot_table_says_what_is_missing_and_the_baseline_runs():
    table = str(PUBLIC_DATA / "openlm_scaling_evals.csv")
    r = emergence("fit", table, "--task", "squad")
    assert r.returncode == 3
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emergence fit: error: task 'squad': no finetuned rows")
    assert "Traceback" not in r.stderr and r.stdout == ""
    r = emergence("fit", table, "--task", "squad", "--baseline", "sigmoid", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["baseline"] == "sigmoid" and out["scale"]["flops"]["at_loss"] > 0


def test_the_python_api_names_the_argument_and_the_command_its_flag():
    """The science core speaks Python (`d0_range`, `task`); `emergence fit` says the same as its flags."""
    import pandas as pd

    from emergence_laws.analysis.table_fit import fit_table
    from emergence_laws.errors import InputError, NotIdentifiableError
    from emergence_laws.results import load_results

    df = load_results(EXAMPLE)
    with pytest.raises(InputError) as err:
        fit_table(df, d0_range=(50, 5))
    assert str(err.value).startswith("`d0_range=(50, 5)`: not a range of examples") and "--" not in str(err.value)
    assert str(err.value).endswith("pass e.g. `d0_range=(5, 50)`")
    r = emergence("fit", EXAMPLE, "--d0-range", "50", "5")
    assert r.returncode == 2 and r.stderr.strip() == (
        "emergence fit: error: --d0-range 50 5: not a range of examples (0 <= LO <= HI); pass e.g. --d0-range 5 50")
    both = df.assign(task="other")
    with pytest.raises(InputError, match="choose one with `task`$"):
        fit_table(pd.concat([df, both], ignore_index=True))
    few = df[df["n_train"] == 0]
    with pytest.raises(NotIdentifiableError) as err:
        fit_table(few)
    assert "(`baseline_table`)" in str(err.value) and "--baseline" not in str(err.value)
