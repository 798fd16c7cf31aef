"""Torch-free task features: Wilson/binomial intervals, answer extraction (lm-eval filters, BIG-bench
output_regex), mc vs cloze formats, lm-eval's few-shot sampler, BIG-bench task.json loading."""

from __future__ import annotations

import json
import math
import random

import pytest

from emergence_laws.errors import InputError
from emergence_laws.results.binomial import binomial_stderr, wilson_interval
from emergence_laws.tasks import Example, TaskSpec, load_task
from emergence_laws.tasks.extract import INVALID, Extractor, from_lmeval_filter_list
from emergence_laws.tasks.fewshot import (
    build_contexts,
    build_fewshot_context,
    lmeval_demonstrations,
)
from emergence_laws.tasks.formats import format_names, task_in_format


def test_binomial_stderr_and_wilson_interval():
    assert binomial_stderr(0.4, 100) == pytest.approx(math.sqrt(0.24 / 100))
    lo, hi = wilson_interval(0.4, 100)
    assert (lo, hi) == pytest.approx((0.3094, 0.4980), abs=5e-4)  # textbook values
    assert wilson_interval(0.0, 10) == pytest.approx((0.0, 0.2775), abs=5e-4)  # not a point at p = 0
    assert wilson_interval(1.0, 10) == pytest.approx((0.7225, 1.0), abs=5e-4)
    for p, n in ((0.03, 40), (0.5, 7), (0.97, 1000)):
        lo, hi = wilson_interval(p, n)
        assert 0.0 <= lo < p < hi <= 1.0
        assert hi - lo < 2 * 1.96 * binomial_stderr(p, n) + 2 / n  # about as wide as the normal interval
    with pytest.raises(ValueError):
        wilson_interval(0.5, 0)


def test_extractor_regex_select_groups_and_fallback():
    last_number = Extractor(regex=r"[-+]?\d+", select=-1)
    assert last_number("50 + 54 = 104") == "104"
    assert Extractor(regex=r"[-+]?\d+")("50 + 54 = 104") == "50"  # BIG-bench's rule: the first match
    assert Extractor(regex=r"answer is (\w+)")("so the answer is Paris.") == "Paris"  # a group
    assert Extractor(regex=r"\d+")("no digits") == INVALID
    assert Extractor(regex=r"\d+", fallback="")("no digits") == ""
    assert Extractor(lowercase=True)("  Paris ") == "paris"
    with pytest.raises(InputError, match="does not compile"):
        Extractor(regex="(")
    with pytest.raises(InputError, match="lower-case"):
        Extractor(name="Flexible Extract")


def test_lmeval_filter_lists_become_extractors():
    fl = [{"name": "strict-match", "filter": [{"function": "regex", "regex_pattern": r"#### (\-?[0-9\.\,]+)"},
                                              {"function": "take_first"}]},
          {"name": "flexible-extract", "filter": [{"function": "regex", "group_select": -1,
                                                   "regex_pattern": r"(-?[$0-9.,]{2,})|(-?[0-9]+)"},
                                                  {"function": "take_first"}]},
          {"name": "none", "filter": [{"function": "take_first"}]}]
    strict, flexible = from_lmeval_filter_list(fl, "t.yaml")
    assert (strict.metric, flexible.metric) == ("exact_match_strict_match", "exact_match_flexible_extract")
    assert strict("so #### 42") == "42" and strict("42") == INVALID
    assert flexible("3 apples and 12 pears: 15") == "15"
    with pytest.raises(InputError, match="not supported"):
        from_lmeval_filter_list([{"name": "x", "filter": [{"function": "majority_vote"}]}], "t.yaml")


QUESTIONS = tuple(Example(prompt=f"Which is number {i}?", choices=("one", "two", "three"), answer=i % 3)
                  for i in range(6))


def test_mc_format_lists_lettered_choices_and_scores_the_letter():
    task = TaskSpec("q", "multiple_choice", QUESTIONS[:4], QUESTIONS[4:])
    mc = task_in_format(task, "mc")
    assert mc.name == "q:mc" and mc.metadata["format"] == "mc"
    ex = mc.test[0]
    assert ex.prompt == "Which is number 4?\nA. one\nB. two\nC. three\nAnswer:"
    assert ex.choices == ("A", "B", "C") and ex.answer == task.test[0].answer
    assert build_fewshot_context(mc, ex, shots=1, seed=0).endswith("Answer:")
    assert task_in_format(task, "cloze") is task
    assert format_names("both") == ("cloze", "mc")
    with pytest.raises(InputError, match="generation task"):
        task_in_format(TaskSpec("g", "generation", (), (Example("a", target="b"),)), "mc")
    with pytest.raises(InputError, match="cloze, mc or both"):
        format_names("letters")


def test_lmeval_sampler_draws_what_lm_evals_context_sampler_draws():
    samplers = pytest.importorskip("lm_eval.api.samplers")
    train = tuple(Example(prompt=f"t{i}", target=str(i)) for i in range(12))
    test = tuple(Example(prompt=f"q{i}", target=str(i)) for i in range(7))
    task = TaskSpec("t", "generation", train, test)
    for shots, seed, queries in ((3, 1234, test), (2, 7, test), (3, 1234, train[:5])):
        ref = samplers.ContextSampler(list(train), rnd=seed)
        same_split = queries is not test
        theirs = [ref.sample(shots, eval_doc=q if same_split else None) for q in queries]
        assert lmeval_demonstrations(task, queries, shots, seed) == theirs
    # the draw is sequential: the same query gets other demonstrations in another order, unlike "query"
    fwd = build_contexts(task, test, shots=2, seed=1, sampler="lm-eval")
    rev = build_contexts(task, test[::-1], shots=2, seed=1, sampler="lm-eval")[::-1]
    assert fwd != rev
    q_fwd = build_contexts(task, test, shots=2, seed=1)
    assert q_fwd == build_contexts(task, test[::-1], shots=2, seed=1)[::-1]
    with pytest.raises(InputError, match="sampler"):
        build_contexts(task, test, shots=1, sampler="balanced")


def test_bigbench_task_json_multiple_choice_and_generation_with_output_regex(tmp_path):
    rng = random.Random(0)
    gen = {"name": "2_digit_addition", "metrics": ["exact_str_match", "multiple_choice_grade"],
           "output_regex": r"[-+]?\d+",
           "examples": [{"input": f"What is {a} plus {b}?", "target": str(a + b),
                         "target_scores": {str(a + b): 1.0, "banana": 0.0}}
                        for a, b in ((rng.randint(10, 99), rng.randint(10, 99)) for _ in range(20))]}
    (tmp_path / "add").mkdir()
    (tmp_path / "add" / "task.json").write_text(json.dumps(gen))
    t = load_task(tmp_path / "add" / "task.json")
    assert t.name == "2_digit_addition" and t.kind == "generation" and len(t.train) == len(t.test) == 10
    ex = t.test[0]
    assert ex.prompt.startswith("Q: What is ") and ex.prompt.endswith("?\nA:") and t.target_delimiter == " "
    (extractor,) = t.metadata["extractors"]
    assert extractor("54 + 50 = 104") == "54" and extractor("no number") == ""  # BIG-bench: first match, else ""
    mc = {"name": "hindu_knowledge", "metrics": ["multiple_choice_grade"],
          "examples": [{"input": f"Question {i}?", "target_scores": {"Vishnu": 0, "Indra": 1, "Brahma": 0}}
                       for i in range(8)]}
    (tmp_path / "hk.json").write_text(json.dumps(mc))
    t = load_task(tmp_path / "hk.json", name="hk")
    assert t.kind == "multiple_choice" and t.test[0].choices == ("Vishnu", "Indra", "Brahma")
    assert t.test[0].answer == 1 and t.chance == pytest.approx(1 / 3)
    (tmp_path / "empty.json").write_text(json.dumps({"name": "arithmetic", "examples": []}))
    with pytest.raises(InputError, match="subtask"):
        load_task(tmp_path / "empty.json")
