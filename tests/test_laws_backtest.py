"""Table-level fit and backtest on the bundled example table (known truth: E(D0) = 2.8124 nats)."""

from __future__ import annotations

import json
from importlib.resources import files

import numpy as np
import pytest

from emergence_laws.analysis.table_fit import backtest_table, fit_table
from emergence_laws.errors import InputError, NotIdentifiableError
from emergence_laws.results import load_results

TRUE_E = 0.12 * np.log(5.0) ** 1.2 + 2.6  # scripts/make_example_table.py


@pytest.fixture(scope="module")
def example():
    return load_results(files("emergence_laws") / "data" / "example_results.csv")


def test_fit_table_is_json_ready_and_close_to_the_truth(example):
    res = fit_table(example, bootstrap=100)
    out = json.loads(json.dumps(res.to_json()))
    for key in ("task", "metric", "emergence_point", "interval", "law", "n_rows", "warnings", "scale"):
        assert key in out
    assert out["task"] == "mc4_reasoning" and out["n_rows"] == len(example)
    assert abs(out["emergence_point"] - TRUE_E) < 0.05
    lo, hi = out["interval"]
    assert lo < out["emergence_point"] < hi
    assert out["law"]["form"] == "logpower" and set(out["law"]["params"]) >= {"k", "alpha", "C", "A", "B", "delta"}
    assert out["scale"]["params"]["at_loss"] > 0 and out["scale"]["flops"]["at_loss"] > 0
    # the result is a typed object: the law and the rows for plots, the JSON for files; a law reads it back
    from emergence_laws.laws.law import EmergenceLaw

    assert res.task == "mc4_reasoning" and res.law.d0_range == (5.0, 50.0) and res.data.n_rows == len(example)
    assert EmergenceLaw.from_json(res) == EmergenceLaw.from_json(out) and dict(res)["task"] == "mc4_reasoning"


def test_backtest_table_predicts_from_weaker_models(example):
    # the example table was drawn with D0 = shots = 5: told so, the backtest lands within the paper's bar
    res = backtest_table(example, "mc4_reasoning", 2.9, d0=5, bootstrap=50)
    assert res["n_checkpoints_fit"] == int((example.pretrain_loss.unique() > 2.9).sum())
    assert res["strongest_fit_loss"] > 2.9
    assert res["error_nats"] == pytest.approx(abs(res["predicted"] - res["actual"]))
    assert res["success"] and res["error_nats"] <= 0.1
    assert res["d0_range"] == [5.0, 5.0] and res["interval_includes"][0].startswith("D0 fixed at 5")
    assert res["compute_ahead"] > 1.0  # the first post-emergence model is bigger than any used
    sb = res["sigmoid_baseline"]
    assert not sb["identified"] and sb["error_nats"] > res["error_nats"]
    # by default D0 is unknown in [5, 50]: the prediction moves up the range, and its interval still holds the truth
    wide = backtest_table(example, "mc4_reasoning", 2.9, bootstrap=50)
    assert wide["d0_range"] == [5.0, 50.0] and wide["interval_includes"][0].startswith("D0 unknown in [5, 50]")
    lo, hi = wide["interval"]
    assert lo <= wide["actual"] <= hi and wide["predicted"] > res["predicted"]


def test_backtest_and_fit_refuse_clearly(example):
    # a cutoff above every checkpoint leaves nothing to fit: lower it (not "raise")
    with pytest.raises(InputError, match=r"0 checkpoint\(s\) have a higher loss .* lower the cutoff"):
        backtest_table(example, "mc4_reasoning", 9.0)
    # a cutoff below every emergent checkpoint holds nothing emergent out: no "success" by hindsight
    with pytest.raises(InputError, match="nothing emergent is held out to predict; raise the cutoff"):
        backtest_table(example, "mc4_reasoning", -1.0)
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(InputError, match="not a finite number"):
            backtest_table(example, "mc4_reasoning", bad)
    weak = example[example.pretrain_loss > 3.0]
    with pytest.raises(NotIdentifiableError, match="never leaves its floor"):
        backtest_table(weak, "mc4_reasoning", 3.5)
    with pytest.raises(InputError, match="task 'nope' is not in the table"):
        fit_table(example, task="nope")
    with pytest.raises(InputError, match="metric 'brier' not found"):
        fit_table(example, metric="brier")
    mixed = example.copy()
    mixed.loc[mixed.index[:10], "method"] = "lora"
    mixed = mixed[(mixed.n_train > 0) | (mixed.index >= 10)]
    with pytest.raises(InputError, match="mix methods"):
        fit_table(mixed)


def test_backtest_warns_when_the_fit_already_saw_emergence(example):
    """A cutoff below the first post-emergence checkpoint is allowed but is no prediction in advance: say so."""
    ahead = backtest_table(example, "mc4_reasoning", 2.9)
    assert not any("already past the actual emergence point" in w for w in ahead["warnings"])
    late = backtest_table(example, "mc4_reasoning", 2.5)
    assert late["first_post_emergence_loss"] > 2.5
    assert any("checkpoint(s) already past the actual emergence point" in w for w in late["warnings"])
