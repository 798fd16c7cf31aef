"""The results table: one row per evaluation. Column names, units, types and allowed ranges.

This is the contract between the two halves of the tool (DESIGN.md): everything that measures
writes these rows; everything that fits reads them. Unknown columns pass through untouched.
Facts about metrics (direction, bounds, chance, discrete or continuous) live in
:mod:`emergence_laws.metrics`.
"""

from __future__ import annotations

import math
import re
from typing import Any

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
    "step",
    "higher_is_better",
)

#: What each known column holds, with units. Shown by `--help` texts and the README.
COLUMN_DOCS: dict[str, str] = {
    "model": "checkpoint id (path, hub id or name); one point on the scaling ladder",
    "task": "task name",
    "metric": (
        "metric name: accuracy, acc_norm, exact_match, loglik (nats, <= 0), brier, bpb, loss, perplexity, ... "
        "(emergence_laws.metrics knows each one's direction and range)"
    ),
    "value": "the metric's value (accuracy-like metrics in [0, 1])",
    "n_train": "number of finetuning examples D; 0 = no finetuning (few-shot)",
    "shots": "number of in-context examples in the prompt",
    "pretrain_loss": "pretraining loss of the checkpoint, nats/token on the study's reference text",
    "pretrain_bpb": "pretraining loss in bits per UTF-8 byte of the reference text (comparable across tokenizers)",
    "flops": "pretraining compute, FLOPs (6 * params * tokens when not given; 0 at random init)",
    "params": "number of parameters",
    "family": "model family / training run; series are fitted within a family",
    "tokens": "pretraining tokens seen by the checkpoint (0 at random init)",
    "seed": "random seed of the finetuning subset / run",
    "method": "finetuning method: none, full, lora or prefix",
    "chance": "random-guess value of the metric (e.g. 0.25 for 4-way multiple choice), in the metric's units",
    "n_eval": "number of evaluation examples behind `value`",
    "stderr": "standard error of `value`",
    "run_key": "content hash of the job that produced the row (idempotent inserts)",
    "created_at": "ISO 8601 time the row was produced",
    "step": (
        "training step of an intermediate checkpoint; with it a checkpoint is (model, step) and `model` names "
        "the run. Step 0 is the random initialisation (tokens = flops = 0); non-numeric steps (e.g. final) "
        "are kept and ordered by their scale"
    ),
    "higher_is_better": (
        "true/false: declares the direction of a metric the metric registry does not know (emergence_laws.metrics)"
    ),
    # written by `emergence run` and `emergence eval` (one job body: emergence_laws.study.jobs)
    "ci_low": "lower end of the Wilson 95% interval of a right/wrong metric (accuracy, exact match)",
    "ci_high": "upper end of the Wilson 95% interval of a right/wrong metric",
    "path": "the checkpoint's folder, .gguf file or hub id",
    "reference_tokens": "tokens of reference text behind `pretrain_loss`",
    "ft_steps": "optimizer steps of the finetuning",
    "ft_tokens": "non-pad tokens the finetuning trained on",
    "ft_final_loss": "training loss of the finetuning's last step, nats/token of the answer",
    "ft_checkpoint": "folder where the finetuned model was kept (finetune.keep_checkpoints, eval --keep-finetuned)",
    "job_seconds": "wall-clock seconds of the job that produced the row",
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

#: Scale columns where 0 is one checkpoint's value (random init), never every checkpoint's.
ZERO_AT_INIT: tuple[str, ...] = ("flops", "tokens")

#: Columns that carry a measurement, not an identity (excluded from the duplicate check).
MEASUREMENT: tuple[str, ...] = ("value", "stderr", "n_eval", "created_at", "run_key", "source_path")

METHODS: tuple[str, ...] = ("none", "full", "lora", "prefix")

#: Largest plausible pretraining loss, nats/token (and bits/byte for `pretrain_bpb`): a model at random
#: init scores about ln(vocabulary size), ~10-13 nats; a value above this is a unit or parsing error.
#: (`laws.law_check.PLAUSIBLE_LOSS`, what `predict` accepts, is the same number.)
MAX_PLAUSIBLE_LOSS = 100.0

#: Inclusive (low, high) bounds of columns other than `value` and `chance` (those two are checked
#: against the metric's range); None = unbounded on that side.
#: A tuple's third item says whether the low bound itself is allowed.
COLUMN_BOUNDS: dict[str, tuple[float | None, float | None, bool]] = {
    "n_train": (0, None, True),
    "shots": (0, None, True),
    "seed": (0, None, True),
    "n_eval": (0, None, False),
    "pretrain_loss": (0, MAX_PLAUSIBLE_LOSS, False),
    "pretrain_bpb": (0, MAX_PLAUSIBLE_LOSS, False),
    "flops": (0, None, True),  # 0 = random init (step 0); a log axis drops it and says so
    "params": (0, None, False),
    "tokens": (0, None, True),
    "stderr": (0, None, True),
}

#: How a step is written: 1000, "1000", "step1000", "global_step1000" (lm-eval revisions, Pythia branches).
_STEP = re.compile(r"^(?:step|global_step|iter|ckpt|checkpoint)?[-_ ]?(\d+)(?:\.0+)?$", re.IGNORECASE)


def step_number(value: Any) -> float:
    """A step as a number: 1000, "1000", "step1000", "global_step1000" -> 1000.0; "final", blank -> NaN."""
    if value is None:
        return math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
        return v if math.isfinite(v) else math.nan
    m = _STEP.match(str(value).strip())
    return float(m.group(1)) if m else math.nan


def step_label(value: Any) -> str | None:
    """A step for display and ids: 1000.0 -> "1000", "final" -> "final", missing -> None."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
        return None
    n = step_number(value)
    return str(int(n)) if math.isfinite(n) else str(value).strip()


