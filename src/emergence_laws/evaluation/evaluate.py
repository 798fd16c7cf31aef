"""`evaluate_task`: few-shot (or finetuned zero-shot) evaluation of one model on one task."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emergence_laws.errors import InputError
from emergence_laws.evaluation.generation import greedy_generate
from emergence_laws.evaluation.loglikelihood import loglikelihood
from emergence_laws.evaluation.ties import tie_argmax
from emergence_laws.evaluation.tokenization import encode_many
from emergence_laws.metrics import is_discrete
from emergence_laws.results.binomial import binomial_stderr, wilson_interval
from emergence_laws.tasks.extract import Extractor, task_extractors
from emergence_laws.tasks.fewshot import build_contexts
from emergence_laws.tasks.spec import TaskSpec


@dataclass
class EvalResult:
    """Metrics (means over `n_eval` test examples), their standard errors, and per-example records.

    Multiple choice: `accuracy` (argmax of the choices' log-likelihoods), `acc_norm` (argmax of
    loglik / choice length in characters, as lm-eval; cloze format only: in the mc format every
    letter has one character); both argmaxes follow the tie rule of
    `emergence_laws.evaluation.ties` (scores within 1e-5 nats + 1e-6 relative of the best are tied;
    the first tied choice wins), `loglik` (log-likelihood of the correct choice, nats, <= 0), `brier` (multi-class
    Brier score of the softmax over choice log-likelihoods). Generation: `exact_match` (strict: greedy
    output == target after stripping whitespace), `exact_match_<name>` for each answer extractor the
    task declares (see `tasks.extract`), and `loglik` (of the target, nats). Both kinds:
    `answer_bpb`, bits per UTF-8 byte of the correct answer's continuation (total bits / total bytes;
    lower is better, comparable across tokenizers).

    `stderr`: the binomial standard error sqrt(p (1 - p) / n) for right/wrong metrics (accuracy,
    exact match), the standard error of the mean otherwise (of the ratio for `answer_bpb`).
    `intervals`: the Wilson 95% interval of each right/wrong metric. `per_example`: one record per
    test example with its exact context (few-shot demonstrations included), scores and generation.
    """

    task: str
    kind: str
    shots: int
    seed: int
    n_eval: int
    metrics: dict[str, float]
    stderr: dict[str, float]
    per_example: list[dict] = field(repr=False)
    seconds: float = 0.0
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    sampler: str = "query"


def _summarise(per_example: list[dict], names: list[str]) -> tuple[dict[str, float], dict[str, float],
                                                                   dict[str, tuple[float, float]]]:
    metrics, stderr, intervals = {}, {}, {}
    n = len(per_example)
    for m in names:
        if m == "answer_bpb":
            bits = np.array([r["answer_bits"] for r in per_example], dtype=float)
            nbytes = np.array([r["answer_bytes"] for r in per_example], dtype=float)
            ratio = float(bits.sum() / nbytes.sum())
            metrics[m] = ratio
            resid = bits - ratio * nbytes  # the ratio estimator's standard error
            stderr[m] = float(np.sqrt((resid**2).sum() / (n * (n - 1))) / nbytes.mean()) if n > 1 else float("nan")
            continue
        vals = np.array([r[m] for r in per_example], dtype=float)
        metrics[m] = float(vals.mean())
        if is_discrete(m):  # a mean of right/wrong per example (the metric registry): binomial, Wilson
            stderr[m] = binomial_stderr(metrics[m], n)
            intervals[m] = wilson_interval(metrics[m], n)
        else:
            stderr[m] = float(vals.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return metrics, stderr, intervals


def _answer_bits(loglik: float, continuation: str) -> dict[str, float]:
    nbytes = max(1, len(continuation.encode("utf-8")))
    bits = -loglik / math.log(2)
    return {"answer_bits": bits, "answer_bytes": nbytes, "answer_bpb": bits / nbytes}


def _mc(model, tokenizer, task: TaskSpec, examples, contexts, batch_size, progress) -> list[dict]:
    requests, owners = [], []
    for i, (ex, ctx) in enumerate(zip(examples, contexts)):
        for choice in ex.choices:
            requests.append((ctx, task.target_delimiter + choice))
            owners.append(i)
    scores = loglikelihood(model, tokenizer, requests, batch_size=batch_size, progress=progress)
    per: list[dict] = []
    at = 0
    for ex, ctx in zip(examples, contexts):
        k = len(ex.choices)
        s = scores[at : at + k]
        at += k
        lls = np.array([x.logprob for x in s])
        lengths = np.array([float(len(c)) for c in ex.choices])
        pred = tie_argmax(lls)
        pred_norm = tie_argmax(lls / lengths)
        probs = np.exp(lls - lls.max())
        probs /= probs.sum()
        onehot = np.zeros(k)
        onehot[ex.answer] = 1.0
        per.append({
            "context": ctx, "choices": list(ex.choices), "answer": ex.answer, "logliks": lls.tolist(),
            "is_greedy": [x.is_greedy for x in s], "pred": pred, "pred_norm": pred_norm,
            "accuracy": float(pred == ex.answer), "acc_norm": float(pred_norm == ex.answer),
            "loglik": float(lls[ex.answer]), "brier": float(((probs - onehot) ** 2).sum()),
            **_answer_bits(float(lls[ex.answer]), task.target_delimiter + ex.choices[ex.answer]),
        })
    return per


def _max_new_tokens(tokenizer, task: TaskSpec, examples) -> int:
    longest = max(len(ids) for ids in encode_many(tokenizer, [task.target_delimiter + ex.target for ex in examples]))
    return int(min(256, 2 * longest + 4))


def _generation(model, tokenizer, task, examples, contexts, batch_size, progress, max_new_tokens,
                extractors: Sequence[Extractor]) -> list[dict]:
    budget = max_new_tokens or _max_new_tokens(tokenizer, task, examples)
    outputs = greedy_generate(model, tokenizer, contexts, stop=task.stop, max_new_tokens=budget,
                              batch_size=batch_size, progress=progress)
    scores = loglikelihood(model, tokenizer, [(c, task.target_delimiter + ex.target) for ex, c in zip(examples, contexts)],
                           batch_size=batch_size, progress=progress)
    per = []
    for ex, c, out, s in zip(examples, contexts, outputs, scores):
        rec = {"context": c, "target": ex.target, "generated": out,
               "exact_match": float(out.strip() == ex.target.strip()), "loglik": float(s.logprob),
               **_answer_bits(float(s.logprob), task.target_delimiter + ex.target)}
        for e in extractors:
            got = e(out)
            rec[f"extracted_{e.name}"] = got
            rec[e.metric] = float(got == e.normalise(ex.target))
        per.append(rec)
    return per


def evaluate_task(model, tokenizer, task: TaskSpec, *, shots: int = 0, seed: int = 0, batch_size: int = 32,
                  limit: int | None = None, progress: bool | None = None,
                  max_new_tokens: int | None = None, sampler: str = "query",
                  extractors: Sequence[Extractor] | None = None) -> EvalResult:
    """Evaluate `model` on `task.test` (first `limit` examples) with `shots` demonstrations drawn
    from `task.train` by `seed` and `sampler` ("query", or "lm-eval" for lm-evaluation-harness's
    draws: see `tasks.fewshot`).

    Multiple choice is scored by log-likelihood of each `target_delimiter + choice` (lm-eval's
    method, tokenisation and metrics); generation by greedy decoding up to the task's stop
    strings (`max_new_tokens` default: 2x the longest target + 4, at most 256), strictly and by
    each of `extractors` (default: those the task declares). Per-example scores do not depend on
    `batch_size`. `progress`: per-batch progress (None: the process setting).
    """
    start = time.perf_counter()
    examples = list(task.test[:limit] if limit is not None else task.test)
    if not examples:
        raise InputError(f"task {task.name!r}: no test examples to evaluate (limit={limit}); add test examples or raise limit")
    if shots < 0:
        raise InputError(f"shots must be >= 0, got {shots}")
    contexts = build_contexts(task, examples, shots=shots, seed=seed, sampler=sampler)
    if task.kind == "multiple_choice":
        per = _mc(model, tokenizer, task, examples, contexts, batch_size, progress)
        names = ["accuracy", "acc_norm", "loglik", "brier", "answer_bpb"]
        if task.metadata.get("format") == "mc":
            names.remove("acc_norm")
    else:
        chosen = task_extractors(task.metadata) if extractors is None else tuple(extractors)
        per = _generation(model, tokenizer, task, examples, contexts, batch_size, progress, max_new_tokens, chosen)
        names = ["exact_match", *(e.metric for e in chosen), "loglik", "answer_bpb"]
    for i, rec in enumerate(per):
        rec["index"] = i
    metrics, stderr, intervals = _summarise(per, names)
    return EvalResult(task=task.name, kind=task.kind, shots=shots, seed=seed, n_eval=len(per), metrics=metrics,
                      stderr=stderr, per_example=per, seconds=time.perf_counter() - start, intervals=intervals,
                      sampler=sampler)
