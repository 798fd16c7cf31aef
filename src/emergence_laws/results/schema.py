"""The results table: one row per evaluation. Column names, units, types and allowed ranges.

This is the contract between the two halves of the tool (DESIGN.md): everything that measures
writes these rows; everything that fits reads them. Unknown columns pass through untouched.
"""

from __future__ import annotations

import math

#: Columns every row must have.
REQUIRED: tuple[str, ...] = ("model", "task", "metric", "value", "n_train", "shots")

#: Scale coordinates: a table needs at least one column, and each row at least one value.
SCALE: tuple[str, ...] = ("pretrain_loss", "flops", "params", "pretrain_bpb")

OPTIONAL: tuple[str, ...] = (
    "family",
    "tokens",
    "seed",
    "method",
    "chance",
    "n_eval",
    "stderr",
    "run_key",
    "created_at",
)

#: What each known column holds, with units. Shown by `--help` texts and the README.
COLUMN_DOCS: dict[str, str] = {
    "model": "checkpoint id (path, hub id or name); one point on the scaling ladder",
    "task": "task name",
    "metric": "metric name: accuracy, acc_norm, exact_match, loglik (nats, <= 0), brier, ...",
    "value": "the metric's value (accuracy-like metrics in [0, 1])",
    "n_train": "number of finetuning examples D; 0 = no finetuning (few-shot)",
    "shots": "number of in-context examples in the prompt",
    "pretrain_loss": "pretraining loss of the checkpoint, nats/token on the study's reference text",
    "pretrain_bpb": "pretraining loss in bits per UTF-8 byte of the reference text (comparable across tokenizers)",
    "flops": "pretraining compute, FLOPs (6 * params * tokens when not given)",
    "params": "number of parameters",
    "family": "model family / training run; series are fitted within a family",
    "tokens": "pretraining tokens seen by the checkpoint",
    "seed": "random seed of the finetuning subset / run",
    "method": "finetuning method: none, full, lora or prefix",
    "chance": "random-guess value of the metric (e.g. 0.25 for 4-way multiple choice)",
    "n_eval": "number of evaluation examples behind `value`",
    "stderr": "standard error of `value`",
    "run_key": "content hash of the job that produced the row (idempotent inserts)",
    "created_at": "ISO 8601 time the row was produced",
}

#: Numeric columns, and which of them must hold whole numbers.
NUMERIC: tuple[str, ...] = (
    "value",
    "n_train",
    "shots",
    "pretrain_loss",
    "pretrain_bpb",
    "flops",
    "params",
    "tokens",
    "seed",
    "chance",
    "n_eval",
    "stderr",
)
INTEGER: tuple[str, ...] = ("n_train", "shots", "seed", "n_eval")
TEXT: tuple[str, ...] = ("model", "task", "metric", "family", "method", "run_key", "created_at")

#: Columns that carry a measurement, not an identity (excluded from the duplicate check).
MEASUREMENT: tuple[str, ...] = ("value", "stderr", "n_eval", "created_at", "run_key", "source_path")

METHODS: tuple[str, ...] = ("none", "full", "lora", "prefix")

#: Inclusive (low, high) bounds of columns other than `value`; None = unbounded on that side.
#: A tuple's third item says whether the low bound itself is allowed.
COLUMN_BOUNDS: dict[str, tuple[float | None, float | None, bool]] = {
    "n_train": (0, None, True),
    "shots": (0, None, True),
    "seed": (0, None, True),
    "n_eval": (0, None, False),
    "pretrain_loss": (0, None, False),
    "pretrain_bpb": (0, None, False),
    "flops": (0, None, False),
    "params": (0, None, False),
    "tokens": (0, None, False),
    "chance": (0, 1, True),
    "stderr": (0, None, True),
}

#: Metric name prefixes whose values are fractions in [0, 1].
UNIT_INTERVAL_METRICS: tuple[str, ...] = (
    "accuracy",
    "acc",
    "acc_norm",
    "exact_match",
    "em",
    "f1",
    "mc1",
    "mc2",
    "pass@",
    "brier",
)

#: Metrics that are log-likelihoods (nats): never positive.
LOGLIK_METRICS: tuple[str, ...] = ("loglik", "logprob", "log_likelihood")


def metric_bounds(metric: str) -> tuple[float, float] | None:
    """The allowed value range of a metric, or None when the tool does not know it."""
    name = metric.strip().lower()
    base = name.split("[", 1)[0].split(",", 1)[0]
    if any(base == p or base.startswith(p) for p in LOGLIK_METRICS):
        return (-math.inf, 0.0)
    if base == "brier" or base.startswith("brier_"):  # multi-class: sum over choices of (p - onehot)^2
        return (0.0, 2.0)
    for prefix in UNIT_INTERVAL_METRICS:
        if base == prefix or (prefix.endswith("@") and base.startswith(prefix)):
            return (0.0, 1.0)
        if base.startswith((prefix + "_", prefix + "[")):
            return (0.0, 1.0)
    return None


def is_discrete_metric(metric: str) -> bool:
    """Accuracy-like metrics (counted right/wrong), as opposed to continuous ones (loglik, brier)."""
    base = metric.strip().lower().split("[", 1)[0]
    return metric_bounds(metric) == (0.0, 1.0) and not base.startswith("brier")
