"""Evaluation on tiny real models: binomial stderr + Wilson intervals, answer bits per byte, strict and
extracted exact match side by side, the mc format, and per-example records stored by studies."""

from __future__ import annotations

import math

import pytest

from emergence_laws.study import load_study
from emergence_laws.evaluation import evaluate_task
from emergence_laws.results import ResultsStore
from emergence_laws.results.binomial import binomial_stderr, wilson_interval
from emergence_laws.study import jobs, run_study
from emergence_laws.study.grid import build_grid
from emergence_laws.tasks import Example, TaskSpec
from emergence_laws.tasks.extract import Extractor
from emergence_laws.tasks.fewshot import build_contexts
from emergence_laws.tasks.formats import task_in_format
from emergence_laws.testing.study_files import write_study
from emergence_laws.testing.tiny_models import build_tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")

MC = tuple(Example(prompt=f"Which word follows {w}?", choices=("the cat", "a dog", "her"), answer=i % 3)
           for i, w in enumerate(["big", "small", "red", "blue", "old", "new", "the", "an", "in", "on"]))
MC_TASK = TaskSpec("mc", "multiple_choice", MC[:6], MC[6:])
GEN = tuple(Example(prompt=f"Q: {w}\nA:", target=t) for w, t in
            [("cat", "dog"), ("tree", "apple"), ("the", "in"), ("her", "on"), ("runs", "is"), ("an", "the")])
GEN_TASK = TaskSpec("pairs", "generation", GEN, GEN, stop=("\n",))


@pytest.fixture(scope="module")
def lm():
    model, tok = build_tiny_model("llama", seed=3)
    tok.pad_token = tok.eos_token
    return model, tok


def test_accuracy_has_binomial_stderr_and_wilson_interval_and_answer_bpb_its_definition(lm):
    model, tok = lm
    res = evaluate_task(model, tok, MC_TASK, shots=1)
    n = res.n_eval
    for m in ("accuracy", "acc_norm"):
        p = res.metrics[m]
        assert res.stderr[m] == pytest.approx(binomial_stderr(p, n))
        assert res.intervals[m] == pytest.approx(wilson_interval(p, n))
    assert "loglik" not in res.intervals  # continuous: a standard error of the mean, no Wilson interval
    bits = [-r["loglik"] / math.log(2) for r in res.per_example]
    nbytes = [len((" " + ex.choices[ex.answer]).encode()) for ex in MC_TASK.test]
    assert res.metrics["answer_bpb"] == pytest.approx(sum(bits) / sum(nbytes))
    assert res.stderr["answer_bpb"] > 0
    assert [r["context"] for r in res.per_example] == build_contexts(MC_TASK, MC_TASK.test, shots=1)


def test_mc_format_scores_letters_and_drops_acc_norm(lm):
    model, tok = lm
    mc = task_in_format(MC_TASK, "mc")
    res = evaluate_task(model, tok, mc, shots=0)
    assert res.task == "mc:mc" and "acc_norm" not in res.metrics and "accuracy" in res.metrics
    assert all(r["choices"] == ["A", "B", "C"] and r["context"].endswith("Answer:") for r in res.per_example)


def test_strict_and_extracted_exact_match_side_by_side(lm):
    model, tok = lm
    first = evaluate_task(model, tok, GEN_TASK, max_new_tokens=6)
    # targets = the last word of what the model generates: strict misses multi-word outputs, extraction finds them
    words = [r["generated"].split() for r in first.per_example]
    keep = [i for i, w in enumerate(words) if w]
    assert keep
    task = TaskSpec("echo", "generation", GEN, tuple(Example(prompt=GEN[i].prompt, target=words[i][-1]) for i in keep),
                    stop=("\n",), metadata={"extractors": (Extractor(regex=r"\S+", select=-1),)})
    res = evaluate_task(model, tok, task, max_new_tokens=6)
    assert res.metrics["exact_match_extracted"] == 1.0
    multi = [len(words[i]) > 1 for i in keep]
    assert res.metrics["exact_match"] == pytest.approx(1.0 - sum(multi) / len(keep))
    assert res.intervals["exact_match_extracted"][1] == pytest.approx(1.0)
    assert all(r["extracted_extracted"] == r["target"] for r in res.per_example)
    override = evaluate_task(model, tok, task, max_new_tokens=6, extractors=())
    assert set(override.metrics) == {"exact_match", "loglik", "answer_bpb"}


def test_study_runs_both_formats_and_stores_exact_contexts(tmp_path):
    cfg = load_study(write_study(tmp_path, archs=("llama",), n_train=(2,), seeds=1, shots=(1,),
                                 extra={"task": {"path": "task.jsonl", "format": "both"},
                                        "fewshot": {"shots": [1], "seeds": 1, "sampler": "lm-eval"}}))
    grid = build_grid(cfg)
    assert sorted(j.cell for j in grid.evals) == ["k=1", "k=1 mc", "n=2", "n=2 mc"]
    jobs.clear_caches()
    try:
        df = run_study(cfg, progress=False)
    finally:
        jobs.clear_caches()
    assert set(df["task"]) == {"task", "task:mc"}
    assert "acc_norm" not in set(df[df.task == "task:mc"]["metric"])
    acc = df[df.metric == "accuracy"]
    assert acc["stderr"].notna().all() and (acc["n_eval"] == 8).all()
    with ResultsStore(cfg.store_path, create=False) as st:
        fewshot = next(j for j in grid.evals if j.kind == "fewshot" and j.format == "mc")
        records = st.examples(fewshot.key)
    task = jobs._load_task(fewshot)
    assert [r["context"] for r in records] == build_contexts(task, task.test, shots=1, seed=0, sampler="lm-eval")
    assert all(len(r["logliks"]) == len(r["choices"]) for r in records)


def test_study_keeps_finetuned_checkpoints_when_asked(tmp_path):
    from emergence_laws.models import load_model

    cfg = load_study(write_study(tmp_path, archs=("llama",), n_train=(2,), seeds=1, shots=(0,),
                                 extra={"finetune": {"n_train": [2], "seeds": 1, "max_steps": 2, "batch_size": 2,
                                                     "keep_checkpoints": True}}))
    jobs.clear_caches()
    try:
        run_study(cfg, progress=False)
    finally:
        jobs.clear_caches()
    (job,) = [j for j in build_grid(cfg).evals if j.kind == "finetune"]
    kept = cfg.store_path.with_name(cfg.store_path.stem + "-checkpoints") / job.finetune_key
    assert str(kept) == job.save_to and (kept / "config.json").is_file()
    df = run_study(cfg, progress=False)  # resumed: every job is stored
    assert set(df.loc[df.method != "none", "ft_checkpoint"]) == {job.save_to}  # the rows say where it is
    model, _ = load_model(str(kept), device="cpu")
    assert model.config.model_type == "llama"


def test_a_finetuning_is_trained_once_and_evaluated_at_each_of_its_shots(tmp_path, model_loads):
    """finetune.shots as a list: one job per shots value, consecutive, sharing one training (one checkpoint
    load for measure, few-shot and the finetuning); each evaluation equals the same job run alone."""
    cfg = load_study(write_study(tmp_path, archs=("llama",), n_train=(2,), seeds=1, shots=(0,),
                                 extra={"finetune": {"n_train": [2], "seeds": 1, "max_steps": 2, "batch_size": 2,
                                                     "shots": [0, 1]}}))
    jobs.clear_caches()
    try:
        df = run_study(cfg, progress=False)
        assert model_loads == [cfg.ladder[0].path]
        tuned = [j for j in build_grid(cfg).evals if j.kind == "finetune"]
        assert [j.shots for j in tuned] == [0, 1] and len({j.finetune_key for j in tuned}) == 1
        jobs.clear_caches()
        alone = {r["metric"]: r["value"] for r in jobs.run_job(tuned[1])}  # trained afresh
    finally:
        jobs.clear_caches()
    ft = df[(df.method == "full") & (df.shots == 1)]
    assert len(ft) == len(alone) and set(ft["ft_steps"]) == {2}
    for row in ft.itertuples():
        assert row.value == pytest.approx(alone[row.metric], rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("extra, message", [
    ({"task": {"path": "task.jsonl", "format": "letters"}}, "task.format"),
    ({"task": {"path": "task.jsonl", "extract": "("}}, "task.extract"),
    ({"fewshot": {"shots": [1], "sampler": "balanced"}}, "fewshot.sampler"),
    ({"eval": {"keep_examples": "sometimes"}}, "eval.keep_examples"),
    ({"finetune": {"n_train": [2], "dtype": "fp8"}}, "finetune.dtype"),
])
def test_new_study_keys_are_validated(tmp_path, extra, message):
    from emergence_laws.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        load_study(write_study(tmp_path, archs=("llama",), extra=extra))
