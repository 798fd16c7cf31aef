"""Augmented prompting: the scale at which one prompting method starts to beat another.

Wei et al. (2022, sec. 4) report that chain-of-thought, instruction following or a scratchpad
only help beyond some scale. A table can mark the prompting method three ways, all handled:

1. a ``prompt_method`` column (any values, e.g. ``fewshot`` / ``cot``): every pair of methods
   of one task, metric and family is compared;
2. task names that differ only by a ``cot`` token (``bbh_cot_fewshot_navigate`` vs
   ``bbh_fewshot_navigate``, ``gsm8k_cot`` vs ``gsm8k``, as in lm-eval and ObsScaling): the
   ``cot`` task is the augmented method;
3. the same task at several ``shots``: more shots is the augmented method (few-shot vs zero-shot).

The finetuning ``method`` column (none/full/lora) is not a prompting method and is never used here.

For each pair (A = augmented, B = baseline) on the models evaluated with both, the difference
d = A - B (metric oriented so higher is better) is fitted with a non-decreasing (isotonic)
curve in the scale coordinate; the *crossover* is the smallest scale from which that fit stays
above a margin (``DetectConfig.chance_tol`` in metric units: 0.03 for accuracies) over at least
3 models, with a 5-95% bootstrap interval over models. None ("never") means A never beats B
by the margin.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from emergence_laws.analysis.series import Series, from_u
from emergence_laws.laws.curve_labels import DEFAULT_CONFIG, DetectConfig, crossover
from emergence_laws.metrics import resolve

_COT = re.compile(r"(^|_)cot(?=_|$)")


def strip_cot(task: str) -> str | None:
    """The baseline task name of a chain-of-thought task, or None when the name has no cot token."""
    if not _COT.search(task):
        return None
    base = _COT.sub("", task).strip("_")
    return re.sub("__+", "_", base)


def compare_prompting(series: list[Series], x: str, config: DetectConfig = DEFAULT_CONFIG,
                      directions: Mapping[str, bool] | None = None) -> list[dict[str, Any]]:
    """One dict per pair of prompting methods of the same curve (see the module docstring)."""
    index: dict[tuple, Any] = {}
    for s in series:
        index[_full_key(s.key)] = s

    pairs: list[tuple[Any, Any, str]] = []
    seen: set[tuple] = set()
    for s in series:
        k = dict(s.key)
        # 2. task-name pairs
        base = strip_cot(str(k["task"]))
        if base is not None:
            for other in series:
                ok = dict(other.key)
                if ok["task"] != base or ok["metric"] != k["metric"] or ok["family"] != k["family"]:
                    continue
                if ok.get("n_train") != k.get("n_train") or ok.get("prompt_method") != k.get("prompt_method"):
                    continue
                pairs.append((s, other, "task name (cot)"))
        # 1. prompt_method column, 3. shots
        for col, how in (("prompt_method", "prompt_method column"), ("shots", "shots")):
            if col not in k or k[col] is None:
                continue
            for other in series:
                ok = dict(other.key)
                if ok.get(col) is None or ok[col] == k[col]:
                    continue
                if any(ok.get(c) != k.get(c) for c in k if c != col):
                    continue
                key = (min(s.sid, other.sid), max(s.sid, other.sid))
                if key in seen:
                    continue
                seen.add(key)
                if col == "shots":
                    a, b = (s, other) if k[col] > ok[col] else (other, s)
                else:
                    a, b = s, other  # orientation decided below by who wins at the top
                pairs.append((a, b, how))

    out: list[dict[str, Any]] = []
    for a, b, how in pairs:
        ka, kb = np.flatnonzero(~a.init), np.flatnonzero(~b.init)  # random init stays out
        common, ia, ib = np.intersect1d(a.ids[ka].astype(str), b.ids[kb].astype(str), return_indices=True)
        ia, ib = ka[ia], kb[ib]
        if len(common) < 4:
            continue
        u = a.u[ia]
        metric = str(a.key["metric"])
        info = resolve(metric, directions)
        sign = info.sign
        d = sign * (a.value[ia] - b.value[ib])
        if how == "prompt_method column":
            top = u >= np.quantile(u, 2 / 3)
            if d[top].mean() < 0:
                a, b, d = b, a, -d
        scale = info.natural_scale(np.concatenate([a.value, b.value]))
        margin = config.chance_tol * scale
        res = crossover(u, d, n_boot=min(config.n_boot, 100), seed=config.seed, margin=margin)
        order = np.argsort(u)
        top_i = order[-max(1, len(u) // 5):]
        lo, hi = from_u(x, res["lo"]), from_u(x, res["hi"])
        if x in ("pretrain_loss", "pretrain_bpb") and lo is not None and hi is not None:
            lo, hi = min(lo, hi), max(lo, hi)
        out.append({
            "task": a.key["task"],
            "metric": metric,
            "family": a.key["family"],
            "method_a": _method_name(a.key, how),
            "method_b": _method_name(b.key, how),
            "marked_by": how,
            "n_models": len(common),
            "crossover_scale": from_u(x, res["crossover"]),
            "crossover_lo": lo,
            "crossover_hi": hi,
            "gain_at_top": float(sign * np.mean(d[top_i])),
            "gain_at_bottom": float(sign * np.mean(d[order[: max(1, len(u) // 5)]])),
            "a_beats_b": res["crossover"] is not None,
            "beats_from_smallest": res["crossover"] is not None and res["crossover"] <= float(u.min()),
            "margin": margin,
            "series_a": a.sid,
            "series_b": b.sid,
        })
    return out


def _full_key(key: dict[str, Any]) -> tuple:
    return tuple(sorted(key.items(), key=lambda kv: kv[0]))


def _method_name(key: dict[str, Any], how: str) -> str:
    if how == "shots":
        return f"{key['task']} {key['shots']}-shot"
    if how == "prompt_method column":
        return f"{key['task']} [{key.get('prompt_method')}]"
    return str(key["task"])
