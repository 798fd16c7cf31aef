"""The metric registry: the one place that knows what a metric name means.

Every layer (the results schema and its validation, fit, backtest, detect, the report) asks here
which way a metric improves, what range its values may take, its random-guess value when that
does not depend on the task, and whether it is *discrete* (a mean of right/wrong per example:
accuracy, exact match) or *continuous* (log-likelihood, Brier score, bits per byte).

Names are matched case-insensitively after normalisation (:func:`base_name`): an lm-eval filter
suffix (``acc,none``, ``exact_match,strict-match``) or a bracketed variant
(``exact_match[flexible-extract]``) is dropped; then the whole name is looked up, then a known
name at its start or end on a ``_`` boundary (``acc_norm_stderr`` no, ``loss_c4`` -> loss,
``correct_bpb`` -> bpb), longest first. ``pass@1`` is ``pass@k``.

A metric the registry does not know is read as higher-is-better unless its direction is declared:
by a ``higher_is_better`` column in the table (true/false per row; lm-eval JSON records it) or by
``--higher-is-better NAME`` / ``--lower-is-better NAME`` on the command line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from emergence_laws.errors import InputError

INF = math.inf


@dataclass(frozen=True)
class Metric:
    """Facts about one metric.

    Attributes:
        name: canonical name.
        higher_is_better: the metric improves as it grows (False: Brier, losses, perplexity, bpb).
        bounds: inclusive (low, high) of valid values, or None when the tool cannot tell.
        discrete: a mean of right/wrong per example (accuracy, exact match) rather than a
            continuous score (log-likelihood, Brier, bpb, BLEU).
        chance: random-guess value when it does not depend on the task (exact match of free
            generation: 0); None when it does (multiple-choice accuracy: 1/choices, give a
            ``chance`` column).
        unit: what a value is measured in ("fraction", "nats", "bits/byte", "perplexity", "score").
        known: False for a name not in the registry.
        assumed: the direction was assumed (an unknown metric nobody declared): say so.
    """

    name: str
    higher_is_better: bool
    bounds: tuple[float, float] | None
    discrete: bool
    chance: float | None = None
    unit: str = "fraction"
    known: bool = True
    assumed: bool = False

    @property
    def sign(self) -> float:
        """+1 for higher-is-better, -1 otherwise (the slope of :meth:`orient`)."""
        return 1.0 if self.higher_is_better else -1.0

    @property
    def offset(self) -> float:
        """Intercept of :meth:`orient`: a lower-is-better metric with a finite upper bound is reflected
        inside its range (error -> 1 - error, an accuracy; Brier -> 2 - Brier), others are negated."""
        if self.higher_is_better or self.bounds is None or not math.isfinite(self.bounds[1]):
            return 0.0
        return float(self.bounds[1])

    @property
    def best(self) -> float | None:
        """The best possible value in the metric's own units, for a score on a bounded scale of
        fractions (accuracy, exact match: 1; error rate, Brier score: 0); None where the best is a
        limit no model reaches (log-likelihood, loss, bpb, perplexity) or the scale is unknown (BLEU
        in [0, 1] or [0, 100]). Detection measures a rise as a share of the way from chance to it."""
        if self.unit != "fraction" or self.bounds is None:
            return None
        end = self.bounds[1] if self.higher_is_better else self.bounds[0]
        return float(end) if math.isfinite(end) else None

    def orient(self, values: Any) -> Any:
        """Values read 'larger = better' (what the fits and detection use); keeps a proportion a proportion."""
        return self.offset + self.sign * np.asarray(values, dtype=float)

    def unorient(self, values: Any) -> Any:
        """Back from :meth:`orient` to the metric's own units."""
        return self.sign * (np.asarray(values, dtype=float) - self.offset)

    def chance_given(self, task_chance: float | None) -> float | None:
        """The random-guess value on a task whose random-guess *accuracy* is `task_chance` (1/choices for
        multiple choice): the registry's own `chance` when it has one (exact match, pass@k: 0); for a
        task-dependent right/wrong fraction, `task_chance` (accuracy, acc_norm, mc1) or 1 - `task_chance`
        (error rate); None for a continuous score (log-likelihood, Brier, bpb)."""
        if self.chance is not None:
            return float(self.chance)
        if not self.discrete or self.unit != "fraction" or task_chance is None:
            return None
        return float(task_chance) if self.higher_is_better else 1.0 - float(task_chance)

    def natural_scale(self, values: Any = ()) -> float:
        """The metric's unit for thresholds (a rise of 0.05 of it counts): 1 for fractions, nats and
        bits; for text-overlap scores 1 or 100 (values above 1 are percentages); for a metric the
        registry does not know, by the values' largest magnitude: 1 up to 10 (natural units such as
        a custom loss), 100 up to 100, else that magnitude."""
        if self.unit in ("fraction", "nats", "bits/byte"):
            return 1.0
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        vmax = float(np.max(np.abs(v))) if v.size else 1.0
        if vmax <= (10.0 if not self.known else 1.0):
            return 1.0
        if vmax <= 100.0:
            return 100.0
        return vmax


def _m(names: str, higher: bool, bounds, discrete: bool, chance=None, unit="fraction") -> list[Metric]:
    return [Metric(n, higher, bounds, discrete, chance, unit) for n in names.split()]


_UNIT = (0.0, 1.0)
_NONNEG = (0.0, INF)

#: The registry: canonical name -> facts. Aliases share one entry's facts under their own name.
REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in [
        # discrete: a mean of right/wrong per example, in [0, 1]
        *_m("accuracy acc acc_norm acc_mutual_info mc1", True, _UNIT, True),
        *_m("em exact_match", True, _UNIT, True, chance=0.0),
        *_m("pass@k", True, _UNIT, True, chance=0.0),
        *_m("error error_rate", False, _UNIT, True),  # 1 - accuracy
        # continuous scores in [0, 1]
        *_m("f1 mc2 ece", True, _UNIT, False),
        # log-likelihoods (nats, <= 0)
        *_m("loglik logprob log_likelihood", True, (-INF, 0.0), False, unit="nats"),
        # losses (nats, >= 0) and bits per byte
        *_m("loss nll ce cross_entropy", False, _NONNEG, False, unit="nats"),
        *_m("bpb bits_per_byte", False, _NONNEG, False, unit="bits/byte"),
        # perplexities (>= 1)
        *_m("ppl perplexity word_perplexity byte_perplexity token_perplexity", False, (1.0, INF), False,
            unit="perplexity"),
        # multi-class Brier score: sum over choices of (p - onehot)^2, in [0, 2]
        *_m("brier brier_score", False, (0.0, 2.0), False),
        # text-overlap scores, often in [0, 100]
        *_m("bleu rouge rouge1 rouge2 rougel chrf ter", True, None, False, unit="score"),
    ]
}
# facts that differ from the alias group above
REGISTRY["ece"] = Metric("ece", False, _UNIT, False)  # calibration error: lower is better
REGISTRY["ter"] = Metric("ter", False, None, False, unit="score")  # translation error rate

#: Order in which a command picks a metric when a task has several and none is named.
PREFERENCE: tuple[str, ...] = ("accuracy", "acc", "acc_norm", "exact_match", "loglik", "brier")

_BY_LENGTH = sorted(REGISTRY, key=len, reverse=True)


def base_name(metric: str) -> str:
    """Lower-case name without lm-eval's ``,filter`` or a ``[variant]`` suffix; ``pass@N`` -> ``pass@k``."""
    name = str(metric).strip().lower().split("[", 1)[0].split(",", 1)[0].strip()
    return re.sub(r"^pass@\d+$", "pass@k", name)


def lookup(metric: str) -> Metric | None:
    """The registry entry of a metric name (see the module docstring for the matching), or None."""
    base = base_name(metric)
    if base in REGISTRY:
        return REGISTRY[base]
    if base.endswith(("_stderr", "_se")):
        return None  # a standard error is not the metric
    for key in _BY_LENGTH:
        if base.startswith(key + "_") or base.endswith("_" + key):
            return REGISTRY[key]
    return None


def metric_info(metric: str, higher_is_better: bool | None = None) -> Metric:
    """Facts about ``metric``; ``higher_is_better`` (a declaration) overrides the registry's direction.

    An unknown metric without a declaration is read as higher-is-better (``known`` is False, so a
    caller can say so).
    """
    found = lookup(metric)
    if found is None:
        return Metric(str(metric), True if higher_is_better is None else bool(higher_is_better), None, False,
                      unit="score", known=False, assumed=higher_is_better is None)
    if higher_is_better is None or bool(higher_is_better) == found.higher_is_better:
        return found
    return Metric(found.name, bool(higher_is_better), found.bounds, found.discrete, None, found.unit)


def higher_is_better(metric: str, declared: bool | None = None) -> bool:
    """Whether ``metric`` improves as it grows (a declaration wins over the registry)."""
    return metric_info(metric, declared).higher_is_better


def metric_bounds(metric: str) -> tuple[float, float] | None:
    """The allowed value range of a metric, or None when the registry does not know it."""
    found = lookup(metric)
    return None if found is None else found.bounds


def chance_of(metric: str, task_chance: float | None) -> float | None:
    """The random-guess value of ``metric`` on a task whose chance accuracy is `task_chance` (see
    `Metric.chance_given`); None for a metric the registry does not know."""
    found = lookup(metric)
    return None if found is None else found.chance_given(task_chance)


def is_discrete(metric: str) -> bool:
    """Accuracy-like (right/wrong per example) rather than continuous (loglik, Brier, bpb, BLEU)."""
    found = lookup(metric)
    return bool(found and found.discrete)


def unknown_note(metric: str) -> str:
    """The warning for a metric whose direction had to be assumed."""
    return (
        f"metric {str(metric)!r} is not in the metric registry; read as higher-is-better (declare it with "
        f"--lower-is-better {metric} or a higher_is_better column)"
    )


_TRUE = {"true", "1", "yes", "y", "higher", "t"}
_FALSE = {"false", "0", "no", "n", "lower", "f"}


def parse_bool(value: Any) -> bool | None:
    """A ``higher_is_better`` cell as True/False; None for a blank; ValueError for anything else."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and float(value) in (0.0, 1.0):
        return bool(value)
    text = str(value).strip().lower()
    if text == "":
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(value)


def declared_directions(
    df: Any = None,
    *,
    higher: Iterable[str] = (),
    lower: Iterable[str] = (),
) -> dict[str, bool]:
    """Metric name -> higher_is_better, from flags (``higher``/``lower`` name lists) and a table's
    ``higher_is_better`` column. Flags win over the column. InputError when one metric is declared
    both ways.
    """
    out: dict[str, bool] = {}
    if df is not None and "higher_is_better" in getattr(df, "columns", ()):
        sub = df.loc[df["higher_is_better"].notna(), ["metric", "higher_is_better"]]
        for metric, vals in sub.groupby("metric", sort=True)["higher_is_better"]:
            uniq = {bool(v) for v in vals}
            if len(uniq) > 1:
                raise InputError(
                    f"metric {str(metric)!r} has rows with higher_is_better both true and false; give one direction"
                )
            out[str(metric)] = uniq.pop()
    higher, lower = [str(m) for m in higher], [str(m) for m in lower]
    both = sorted(set(higher) & set(lower))
    if both:
        raise InputError(f"metric {both[0]!r} given to both --higher-is-better and --lower-is-better; pick one")
    out.update({m: True for m in higher})
    out.update({m: False for m in lower})
    return out


def resolve(metric: str, directions: Mapping[str, bool] | None = None) -> Metric:
    """Facts about ``metric`` with its declared direction (by exact name, then by base name) applied."""
    declared = None
    if directions:
        declared = directions.get(str(metric))
        if declared is None:
            base = base_name(metric)
            declared = next((v for k, v in directions.items() if base_name(k) == base), None)
    return metric_info(metric, declared)
