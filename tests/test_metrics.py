"""The metric registry: one place for direction, bounds, chance and discrete/continuous."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from emergence_laws.errors import InputError
from emergence_laws.metrics import (
    chance_of,
    base_name,
    declared_directions,
    higher_is_better,
    is_discrete,
    lookup,
    metric_bounds,
    resolve,
)


@pytest.mark.parametrize(
    "name,higher",
    [
        ("accuracy", True), ("acc", True), ("acc,none", True), ("acc_norm", True), ("acc_norm,none", True),
        ("exact_match", True), ("exact_match,strict-match", True), ("exact_match[flexible-extract]", True),
        ("loglik", True), ("pass@1", True), ("mc2", True), ("bleu", True),
        ("bpb", False), ("bits_per_byte", False), ("correct_bpb", False), ("ppl", False), ("perplexity", False),
        ("word_perplexity", False), ("loss", False), ("pile_loss", False), ("nll", False), ("brier", False),
        ("error", False), ("ece", False),
    ],
)
def test_direction_of_known_metrics(name, higher):
    assert lookup(name) is not None, name
    assert higher_is_better(name) is higher


def test_bounds_and_discreteness():
    assert metric_bounds("accuracy") == (0.0, 1.0)
    assert metric_bounds("loglik") == (-math.inf, 0.0)
    assert metric_bounds("brier") == (0.0, 2.0)  # multi-class Brier: sum over choices
    assert metric_bounds("perplexity")[0] == 1.0
    assert metric_bounds("score") is None
    assert is_discrete("acc,none") and is_discrete("exact_match[strict-match]")
    assert not is_discrete("bpb") and not is_discrete("loglik") and not is_discrete("brier")
    assert lookup("exact_match").chance == 0.0 and lookup("accuracy").chance is None


def test_names_are_normalised():
    assert base_name(" ACC_NORM,none ") == "acc_norm"
    assert base_name("pass@10") == "pass@k"
    assert lookup("acc_stderr") is None  # a standard error is not the metric


def test_unknown_metric_is_assumed_higher_and_says_so_unless_declared():
    info = resolve("score")
    assert info.higher_is_better and info.assumed and not info.known
    declared = resolve("score", {"score": False})
    assert not declared.higher_is_better and not declared.assumed
    # a declaration by base name reaches suffixed names
    assert resolve("score,none", {"score": False}).higher_is_better is False


def test_declared_directions_from_flags_and_column():
    df = pd.DataFrame({"metric": ["score", "score", "other"], "higher_is_better": [False, False, None]})
    assert declared_directions(df) == {"score": False}
    assert declared_directions(df, higher=["score"]) == {"score": True}  # a flag wins over the column
    with pytest.raises(InputError, match="both"):
        declared_directions(None, higher=["x"], lower=["x"])
    clash = pd.DataFrame({"metric": ["s", "s"], "higher_is_better": [True, False]})
    with pytest.raises(InputError, match="both true and false"):
        declared_directions(clash)


def test_fit_reads_lower_is_better_metrics_the_right_way_round():
    """The bundled table's accuracy rewritten as an error rate (1 - accuracy) gives the same law, and a
    name the registry does not know gives it too once declared lower-is-better."""
    from importlib.resources import files

    from emergence_laws.analysis.table_fit import fit_table
    from emergence_laws.results import load_results

    df = load_results(files("emergence_laws") / "data" / "example_results.csv")
    acc = fit_table(df, bootstrap=0)
    err = df.assign(metric="error", value=1 - df["value"], chance=1 - df["chance"])
    by_error = fit_table(err, bootstrap=0)
    assert by_error["higher_is_better"] is False
    assert any("fitted as 1 - error" in w for w in by_error["warnings"])
    assert by_error["emergence_point"] == pytest.approx(acc["emergence_point"], abs=1e-3)  # nats
    custom = fit_table(err.assign(metric="miss_rate"), bootstrap=0, directions={"miss_rate": False})
    assert custom["emergence_point"] == pytest.approx(by_error["emergence_point"], abs=0.05)


@pytest.mark.parametrize(("name", "expected"), [
    ("accuracy", 0.25), ("acc", 0.25), ("acc_norm", 0.25), ("mc1", 0.25), ("acc,none", 0.25),
    ("exact_match", 0.0), ("exact_match_extracted", 0.0), ("em", 0.0), ("pass@1", 0.0), ("pass@10", 0.0),
    ("error", 0.75), ("loglik", None), ("brier", None), ("answer_bpb", None), ("bleu", None), ("my_score", None),
])
def test_chance_comes_from_the_registry(name, expected):
    """The random-guess value a job writes into `chance`, for a 4-way multiple-choice task (chance accuracy 1/4):
    right/wrong fractions take the task's chance (an error rate its complement), exact match and pass@k their
    registry value, continuous and unknown metrics none."""
    assert chance_of(name, 0.25) == expected
