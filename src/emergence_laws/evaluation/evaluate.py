"""`evaluate_task`: few-shot (or finetuned zero-shot) evaluation of one model on one task."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from emergence_laws.errors import InputError
from emergence_laws.evaluation.generation import greedy_generate
from emergence_laws.evaluation.loglikelihood import loglikelihood
from emergence_laws.evaluation.ties import tie_argmax
from emergence_laws.evaluation.tokenization import encode_many
from emergence_laws.tasks.fewshot import build_fewshot_context
from emergence_laws.tasks.spec import TaskSpec


@dataclass
class EvalResult:
    """Metrics (means over `n_eval` test examples), their standard errors, and per-example records.

    Multiple choice: `accuracy` (argmax of the choices' log-likelihoods), `acc_norm` (argmax of
    loglik / choice length in characters, as lm-eval); both argmaxes follow the tie rule of
    `emergence_laws.evaluation.ties` (scores within 1e-5 nats + 1e-6 relative of the best are tied;
    the first tied choice wins), `loglik` (log-likelihood of the correct choice, nats, <= 0), `brier` (multi-class
    Brier score of the softmax over choice log-likelihoods). Generation: `exact_match` (greedy
    output == target after stripping whitespace) and `loglik` (of the target, nats).
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

    def to_rows(self, **columns) -> list[dict]:
        """Rows for the results table (one per metric); `columns` adds model, n_train, pretrain_loss, …"""
        base = {"task": self.task, "shots": self.shots, "n_eval": self.n_eval}
        base.update(columns)
        return [{**base, "metric": m, "value": v, "stderr": self.stderr.get(m)} for m, v in self.metrics.items()]


def _summarise(per_example: list[dict], names: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    metrics, stderr = {}, {}
    for m in names:
        vals = np.array([r[m] for r in per_example], dtype=float)
        metrics[m] = float(vals.mean())
        stderr[m] = float(vals.std(ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else float("nan")
    return metrics, stderr


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
        })
    return per


def _max_new_tokens(tokenizer, task: TaskSpec, examples) -> int:
    longest = max(len(ids) for ids in encode_many(tokenizer, [task.target_delimiter + ex.target for ex in examples]))
    return int(min(256, 2 * longest + 4))


def _generation(model, tokenizer, task, examples, contexts, batch_size, progress, max_new_tokens) -> list[dict]:
    budget = max_new_tokens or _max_new_tokens(tokenizer, task, examples)
    outputs = greedy_generate(model, tokenizer, contexts, stop=task.stop, max_new_tokens=budget,
                              batch_size=batch_size, progress=progress)
    scores = loglikelihood(model, tokenizer, [(c, task.target_delimiter + ex.target) for ex, c in zip(examples, contexts)],
                           batch_size=batch_size, progress=progress)
    return [{"context": c, "target": ex.target, "generated": out,
             "exact_match": float(out.strip() == ex.target.strip()), "loglik": float(s.logprob)}
            for ex, c, out, s in zip(examples, contexts, outputs, scores)]


def evaluate_task(model, tokenizer, task: TaskSpec, *, shots: int = 0, seed: int = 0, batch_size: int = 32,
                  limit: int | None = None, progress: bool = False,
                  max_new_tokens: int | None = None) -> EvalResult:
    """Evaluate `model` on `task.test` (first `limit` examples) with `shots` demonstrations drawn
    from `task.train` by `seed` (see `build_fewshot_context`).

    Multiple choice is scored by log-likelihood of each `target_delimiter + choice` (lm-eval's
    method, tokenisation and metrics); generation by greedy decoding up to the task's stop
    strings (`max_new_tokens` default: 2x the longest target + 4, at most 256).
    Per-example scores do not depend on `batch_size`.
    """
    start = time.perf_counter()
    examples = list(task.test[:limit] if limit is not None else task.test)
    if not examples:
        raise InputError(f"task {task.name!r}: no test examples to evaluate (limit={limit}); add test examples or raise limit")
    if shots < 0:
        raise InputError(f"shots must be >= 0, got {shots}")
    contexts = [build_fewshot_context(task, ex, shots=shots, seed=seed) for ex in examples]
    if task.kind == "multiple_choice":
        per = _mc(model, tokenizer, task, examples, contexts, batch_size, progress)
        names = ["accuracy", "acc_norm", "loglik", "brier"]
    else:
        per = _generation(model, tokenizer, task, examples, contexts, batch_size, progress, max_new_tokens)
        names = ["exact_match", "loglik"]
    metrics, stderr = _summarise(per, names)
    return EvalResult(task=task.name, kind=task.kind, shots=shots, seed=seed, n_eval=len(per), metrics=metrics,
                      stderr=stderr, per_example=per, seconds=time.perf_counter() - start)
