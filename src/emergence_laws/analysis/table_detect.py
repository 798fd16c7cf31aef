"""Emergence detection on a whole results table: one classified curve per task x metric x group.

Series (curves) are built by :mod:`emergence_laws.analysis.series`: per family of a ladder, or
per run of a checkpoint log (a ``step`` column; a checkpoint is (model, step)), and pooled over
all of them (family "(all)"). Pooling across families is what public collections such as
ObsScaling need (most families have 3-8 models); per-family curves are cleaner where each family
is a full ladder (open_lm).

Metric direction comes from the metric registry (:mod:`emergence_laws.metrics`): lower-is-better
metrics (Brier score, losses, perplexity, bits per byte) are negated for detection and reported
in their own units. Random-init checkpoints (step 0; tokens or FLOPs of 0) never enter
detection: a log axis cannot place them, and on the loss axis they sit at chance trivially ~10
nats from the rest; they are counted per curve (``n_random_init``) and kept as points for plots.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from emergence_laws.analysis.metric_pairs import compare_metrics
from emergence_laws.analysis.prompting import compare_prompting
from emergence_laws.analysis.series import (
    LOG_AXES,
    LOSS_AXES,
    POOLED,
    X_UNITS,
    Series,
    build_series,
    choose_x,
    filter_table,
    from_u,
    is_checkpoint_table,
    step_number,
    x_values,
)
from emergence_laws.errors import InputError
from emergence_laws.jsonutil import clean
from emergence_laws.laws.curve_labels import (
    DEFAULT_CONFIG,
    LABELS,
    DetectConfig,
    classify_curve,
)
from emergence_laws.metrics import declared_directions, resolve, unknown_note
from emergence_laws.progress import progress

__all__ = ["POOLED", "detect_series", "detect_table"]


def detect_series(s: Series, x: str, config: DetectConfig = DEFAULT_CONFIG,
                  directions: Mapping[str, bool] | None = None) -> dict[str, Any]:
    """Classify one series and collect its evidence as a JSON-ready dict (metric in its own units)."""
    metric = str(s.key["metric"])
    info = resolve(metric, directions)
    scale = info.natural_scale(s.value)
    y = info.orient(s.value)
    chance = s.chance if s.chance is not None else info.chance  # the table's, else the registry's
    chance_o = None if chance is None else float(info.orient(chance))

    def own(v: float | None) -> float | None:  # oriented -> the metric's own units
        return None if v is None else float(info.unorient(v))

    best = None if info.best is None else float(info.orient(info.best))
    fit_idx = np.flatnonzero(~s.init)  # random-init checkpoints stay out of detection
    det = classify_curve(s.u[fit_idx], y[fit_idx], chance=chance_o, n_eval=s.n_eval, scale=scale, best=best,
                         config=config, warmup=None if s.warmup is None else s.warmup[fit_idx])
    u, yf = s.u[fit_idx], y[fit_idx]

    def point(i: int | None) -> dict[str, Any] | None:  # i: index among the detected points
        return None if i is None else s.point(int(fit_idx[i]))

    elbow = None
    try:  # the laws' maximum-likelihood ReLU elbow, on the same oriented axis (loss = -u)
        from emergence_laws.laws.elbow import fit_elbow

        ef = fit_elbow(-u, yf, chance=chance_o, n_eval=s.n_eval)
        elbow = {
            "scale": from_u(x, -ef.E) if ef.emerged else None,
            "emerged": bool(ef.emerged),
            "lr_stat": float(ef.lr_stat),
            "slope": float(ef.A),
            "floor": own(ef.B),
        }
    except Exception as exc:  # noqa: BLE001 - evidence only; detection stands on its own
        elbow = {"error": str(exc).splitlines()[0][:200]}

    is_emergent = det.label == "emergent"
    lo, hi = from_u(x, det.onset_lo), from_u(x, det.onset_hi)
    if x in LOSS_AXES and lo is not None and hi is not None:
        lo, hi = min(lo, hi), max(lo, hi)
    bracket = None  # [last at chance, first above] in the column's units, where a jump was located
    if det.label in ("emergent", "not identifiable", "warm-up") and det.last_at is not None \
            and det.first_above is not None:
        bracket = [from_u(x, float(u[det.last_at])), from_u(x, float(u[det.first_above]))]
    row: dict[str, Any] = {
        "series": s.sid,
        **{k: v for k, v in s.key.items()},
        "label": det.label,
        "higher_is_better": info.higher_is_better,
        "emergent_scale": from_u(x, det.scale) if is_emergent else None,  # inside the bracket
        "scale_lo": lo,
        "scale_hi": hi,
        "bracket": bracket,
        "onset": from_u(x, det.onset),
        "rise_end": from_u(x, det.end),
        "sharpness": round(det.sharpness, 4),
        "rise_width": det.rise_width,
        "kink_evidence": det.kink_evidence,
        "trend_evidence": det.trend_evidence,
        "r2": det.r2,
        "chance": chance,
        "floor": own(det.floor),
        "top": own(det.top),
        "floor_median": own(det.floor_median),
        "floor_gain": det.floor_gain,
        "n_floor": det.n_floor,
        "n_floor_past_warmup": det.n_floor_past_warmup,
        "n_warmup_at_chance": det.n_warmup_at,
        "reach": det.reach,
        "jump_share": det.jump,
        "at_chance_up_to": own(det.band),
        "last_at_chance": point(det.last_at),
        "first_above_chance": point(det.first_above),
        "above_chance_before_onset": det.n_above_before,
        "at_chance_after_onset": det.n_at_after,
        "n_models": len(u),
        "n_random_init": int(s.init.sum()) + s.n_zero,
        "n_dropped": s.n_dropped,
        "x_min": float(s.xval[fit_idx].min()) if len(u) else None,
        "x_max": float(s.xval[fit_idx].max()) if len(u) else None,
        "elbow_fit": elbow,
        "reason": "; ".join(det.reasons),
        # an emergent scale moved into the bracket: say where the ramp itself leaves its floor
        "brief": (f"{det.n_floor} at chance; ramp from {from_u(x, det.onset):.4g}"
                  if is_emergent and det.scale != det.onset else det.brief),
    }
    return clean(row)


def detect_table(
    df: pd.DataFrame,
    *,
    x: str | None = None,
    task: str | None = None,
    metric: str | None = None,
    family: str | None = None,
    model: str | None = None,
    group: str = "both",
    config: DetectConfig = DEFAULT_CONFIG,
    with_points: bool = True,
    directions: Mapping[str, bool] | None = None,
) -> dict[str, Any]:
    """Detect emergence in every series of a results table; returns the detect.json payload.

    Keys: x, x_units, group, group_by ("family", or "run" for a checkpoint log), curve_keys (the
    columns that define a curve: task, metric, shots, ..., family), counts (per
    label), series (one dict per curve, see ``detect_series``), metric_comparison, prompting,
    config, summary, warnings, and (with_points) points {series id: {model, step, x, value,
    init}} for plots. ``directions`` declares the direction of metrics the registry does not know
    (a ``higher_is_better`` column does the same).
    """
    df = filter_table(df, task=task, metric=metric, family=family, model=model)
    xcol = choose_x(df, x)
    checkpoints = is_checkpoint_table(df)
    what = "checkpoints" if checkpoints else "models"
    xv = x_values(df, xcol)
    usable = np.isfinite(xv) & ((xv > 0) if xcol in LOG_AXES else True)
    ids = df["model"].astype(str) + ("@" + df["step"].astype(str) if checkpoints else "")
    n_points = ids[usable].nunique()
    if n_points < 2:
        raise InputError(
            f"the table has {n_points} {what[:-1]}(s) with {xcol}; detection needs at least {config.min_points} "
            f"{what} of different scale"
        )
    all_series = [s for s in build_series(df, xcol, group=group, min_points=config.min_points,
                                          warmup_share=config.warmup_share) if (~s.init).sum() >= 2]
    if not all_series:
        raise InputError(f"no curve with {xcol} values at 2+ {what} to analyse; check the scale column")
    directions = {**declared_directions(df), **(directions or {})}
    rows = []
    with progress(total=len(all_series), desc="detect", unit="curve") as bar:  # shown when the CLI turns it on
        for s in all_series:
            rows.append(detect_series(s, xcol, config, directions))
            bar.update(1)
    notes = [unknown_note(m) for m in sorted({str(s.key["metric"]) for s in all_series})
             if resolve(m, directions).assumed]
    notes += _dropped_notes(df, xcol, all_series)
    counts = {lab: sum(r["label"] == lab for r in rows) for lab in LABELS}

    comparison = compare_metrics(all_series, rows, xcol, config, directions)
    prompting = compare_prompting(all_series, xcol, config, directions)
    summary = f"{len(rows)} curves by {xcol} ({X_UNITS[xcol]}): " + ", ".join(
        f"{counts[lab]} {lab}" for lab in LABELS if counts[lab] or lab in ("emergent", "smooth", "flat")
    ) + "."
    payload: dict[str, Any] = {
        "summary": summary,
        "x": xcol,
        "x_units": X_UNITS[xcol],
        "group": group,
        "group_by": "run" if checkpoints else "family",
        "curve_keys": list(dict.fromkeys(k for s in all_series for k in s.key)),
        "counts": counts,
        "series": rows,
        "metric_comparison": comparison,
        "prompting": prompting,
        "config": config.to_dict(),
        "warnings": notes,
    }
    if with_points:
        payload["points"] = {s.sid: _points(s) for s in all_series}
    return payload


def _points(s: Series) -> dict[str, list]:
    out: dict[str, list] = {"model": s.model.tolist(), "x": s.xval.tolist(), "value": s.value.tolist()}
    if s.step is not None:
        out["step"] = [None if v is None else str(v) for v in s.step]
    if s.init.any():
        out["init"] = s.init.tolist()
    return out


def _dropped_notes(df: pd.DataFrame, x: str, series: list[Series]) -> list[str]:
    """Say which checkpoints a curve could not use: random init on a log axis, non-numeric steps."""
    notes = []
    n_zero = max((s.n_zero for s in series), default=0)
    if n_zero:
        notes.append(
            f"{x} = 0 (random init) in up to {n_zero} row(s) per curve: a log axis cannot place them, so they are "
            "left out"
        )
    n_init = max((int(s.init.sum()) for s in series), default=0)
    if n_init:
        notes.append(
            f"{n_init} random-init checkpoint(s) per curve (step 0) shown in plots but left out of detection: they "
            "are at chance trivially"
        )
    if x == "step":
        bad = sorted({str(v) for v in df["step"].dropna() if not math.isfinite(step_number(v))})
        if bad:
            notes.append(
                f"step {', '.join(bad[:5])} is not a number: those checkpoints have no place on the step axis and are "
                "left out (another `x` includes them: pretrain_loss, tokens or flops)"
            )
    return notes
