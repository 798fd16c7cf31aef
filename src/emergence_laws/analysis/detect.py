"""Emergence detection on a whole results table: one classified curve per task x metric x family.

A *series* is the rows sharing (task, metric, shots, n_train[, method][, prompt_method]) and,
when grouping by family, the same family. Each model is one point (repeated seeds are averaged).
The x axis is ``pretrain_loss`` (nats; lower loss = bigger model, so the curve is read with
``u = -loss``), ``flops`` or ``params`` (read in ``u = log10(x)``). Metrics where lower is better
(Brier score, losses, perplexity) are negated for detection and reported in their own units.

Grouping (``group``): "family" detects within each family (a ladder trained the same way),
"pooled" puts every model of the table on one curve, "both" (default) does both, with the pooled
curve labelled family "(all)". Families with fewer than ``config.min_points`` models are skipped
when grouping by family (they still enter the pooled curve). Pooling across families is what
public collections such as ObsScaling need (most families have 3-8 models); per-family curves are
cleaner where each family is a full ladder (open_lm).

Rows whose x value is missing are dropped and counted per series (``n_dropped``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from emergence_laws.errors import InputError
from emergence_laws.jsonutil import clean
from emergence_laws.laws.detect import (
    DEFAULT_CONFIG,
    DetectConfig,
    at_chance_band,
    classify_curve,
)

X_AXES: tuple[str, ...] = ("pretrain_loss", "flops", "params")
X_UNITS: dict[str, str] = {"pretrain_loss": "nats/token", "flops": "FLOPs", "params": "parameters"}
POOLED = "(all)"

#: Metrics where a lower value is better (matched on the name before any "[...]" suffix).
LOWER_IS_BETTER: tuple[str, ...] = ("brier", "loss", "perplexity", "ppl", "bpb", "bits_per_byte", "ece", "error")
#: Continuous metrics in nats (their natural unit for thresholds is 1 nat).
NAT_METRICS: tuple[str, ...] = ("loglik", "logprob", "log_likelihood", "loss", "bpb", "bits_per_byte")

#: Columns that, besides task and metric, split a table into separate series when present.
SERIES_KEYS: tuple[str, ...] = ("shots", "n_train", "method", "prompt_method")
#: Columns that may differ between rows of one model in one series (measurements, bookkeeping).
_FREE_COLUMNS = {"value", "stderr", "n_eval", "created_at", "run_key", "source_path", "seed", "chance"}


def metric_base(metric: str) -> str:
    return str(metric).strip().lower().split("[", 1)[0]


def higher_is_better(metric: str) -> bool:
    base = metric_base(metric)
    return not any(base == p or base.startswith(p) for p in LOWER_IS_BETTER)


def metric_scale(metric: str, values: np.ndarray) -> float:
    """The metric's natural unit for thresholds: 1 for [0, 1] metrics and nats, 100 for percentages."""
    base = metric_base(metric)
    if any(base.startswith(p) for p in NAT_METRICS):
        return 1.0
    vmax = float(np.nanmax(np.abs(values))) if len(values) else 1.0
    if vmax <= 1.0:
        return 1.0
    if vmax <= 100.0:
        return 100.0
    return vmax


def choose_x(df: pd.DataFrame, x: str | None) -> str:
    """The scale column: the one asked for, else pretrain_loss, flops, params (first mostly filled)."""
    if x not in (None, "auto"):
        if x not in X_AXES:
            raise InputError(f"--x {x!r} is not a scale column; use one of {', '.join(X_AXES)}")
        if x not in df.columns or df[x].notna().sum() == 0:
            have = [c for c in X_AXES if c in df.columns and df[c].notna().any()]
            raise InputError(
                f"the table has no {x} values; pick --x from the scale columns it has: {', '.join(have) or 'none'}"
            )
        return x
    for c in X_AXES:
        if c in df.columns and df[c].notna().mean() >= 0.5:
            return c
    for c in X_AXES:
        if c in df.columns and df[c].notna().any():
            return c
    raise InputError(
        "the table has no scale column; add pretrain_loss (nats/token), flops or params for every model"
    )


def to_u(x: str, values: np.ndarray) -> np.ndarray:
    """Oriented scale coordinate: -loss for pretrain_loss, log10 for flops and params."""
    values = np.asarray(values, dtype=float)
    return -values if x == "pretrain_loss" else np.log10(values)


def from_u(x: str, u: float | None) -> float | None:
    """Back from the oriented coordinate to the column's units (rounded to 6 significant digits)."""
    if u is None or not math.isfinite(u):
        return None
    v = -u if x == "pretrain_loss" else float(10.0**u)
    return float(f"{v:.6g}")


@dataclass
class Series:
    """One curve: the key, the per-model points (sorted by u) and its chance/n_eval."""

    key: dict[str, Any]
    model: np.ndarray
    xval: np.ndarray
    u: np.ndarray
    value: np.ndarray
    chance: float | None
    n_eval: float | None
    n_dropped: int

    @property
    def sid(self) -> str:
        k = self.key
        extra = "".join(f" {c}={k[c]}" for c in SERIES_KEYS if c in k and c not in ("n_train",) and k[c] is not None)
        nt = f" n_train={k['n_train']}" if k.get("n_train") not in (None, 0) else ""
        return f"{k['task']} | {k['metric']} | {k['family']}{extra}{nt}"


def _present_keys(df: pd.DataFrame) -> list[str]:
    return [c for c in SERIES_KEYS if c in df.columns]


def build_series(df: pd.DataFrame, x: str, *, group: str = "both", min_points: int = 5) -> list[Series]:
    """Split a results table into series (see module docstring). Raises InputError on mixed rows."""
    if group not in ("family", "pooled", "both"):
        raise InputError(f"group {group!r} is unknown; use family, pooled or both")
    keys = ["task", "metric", *_present_keys(df)]
    has_family = "family" in df.columns and df["family"].notna().any()
    work = df.copy()
    work["family"] = work["family"].fillna("(none)").astype(str) if has_family else POOLED
    families = sorted(work["family"].unique())
    groupings: list[tuple[str, bool]] = []
    if group in ("family", "both") and has_family:
        groupings.append(("family", True))
    single_family = group == "both" and len(families) == 1 and has_family  # pooled would repeat it
    if (group in ("pooled", "both") or not has_family) and not single_family:
        groupings.append(("pooled", False))
    out: list[Series] = []
    cols = {c: work[c].to_numpy() for c in work.columns}
    xv = pd.to_numeric(work[x], errors="coerce").to_numpy(dtype=float)
    for _, by_family in groupings:
        gkeys = keys + (["family"] if by_family else [])
        for gval, idx in work.groupby(gkeys, sort=True, dropna=False).indices.items():
            gval = gval if isinstance(gval, tuple) else (gval,)
            key = {k: clean(v) for k, v in zip(gkeys, gval)}
            if not by_family:
                key["family"] = POOLED
            idx = np.asarray(idx)
            ok = idx[np.isfinite(xv[idx])]
            if by_family and len(ok) < min_points:
                continue
            s = _one_series(work, cols, xv, idx, ok, key, x)
            if s is None:
                continue
            if by_family and len(s.u) < min_points:
                continue
            out.append(s)
    return out


def _one_series(work: pd.DataFrame, cols: dict[str, np.ndarray], xv: np.ndarray, idx: np.ndarray,
                ok: np.ndarray, key: dict[str, Any], x: str) -> Series | None:
    n_dropped = int(len(idx) - len(ok))
    if len(ok) == 0:
        return None
    models = cols["model"][ok]
    uniq, counts = np.unique(models.astype(str), return_counts=True)
    if (counts > 1).any():
        have = work.iloc[ok]
        m = uniq[counts > 1][0]
        rows = have[have["model"].astype(str) == m]
        varying = [
            c for c in rows.columns
            if c not in _FREE_COLUMNS and rows[c].astype(str).nunique(dropna=False) > 1
        ]
        if varying:
            raise InputError(
                f"series task={key['task']!r} metric={key['metric']!r} mixes rows for model {m!r} that differ in "
                f"column {varying[0]!r}; filter the table (e.g. --task/--metric) or split it so each model has one "
                "evaluation per series"
            )
        if "seed" not in rows.columns or rows["seed"].nunique(dropna=True) < 2:
            raise InputError(
                f"series task={key['task']!r} metric={key['metric']!r} has {len(rows)} rows for model {m!r}; "
                "keep one evaluation per model, or tell repeats apart with a seed column"
            )
        agg = have.groupby("model", sort=False).agg(
            xval=(x, "first"), value=("value", "mean"),
            **({"chance": ("chance", "first")} if "chance" in have.columns else {}),
            **({"n_eval": ("n_eval", "median")} if "n_eval" in have.columns else {}),
        )
    else:  # one row per model: no groupby needed (fast path)
        agg = pd.DataFrame({"xval": xv[ok], "value": cols["value"][ok].astype(float)}, index=models)
        for c in ("chance", "n_eval"):
            if c in cols:
                agg[c] = pd.to_numeric(pd.Series(cols[c][ok]), errors="coerce").to_numpy(dtype=float)
    u = to_u(x, agg["xval"].to_numpy(dtype=float))
    order = np.argsort(u, kind="stable")
    chance = None
    if "chance" in agg.columns and agg["chance"].notna().any():
        chance = float(agg["chance"].dropna().median())
    n_eval = None
    if "n_eval" in agg.columns and agg["n_eval"].notna().any():
        n_eval = float(agg["n_eval"].dropna().median())
    return Series(
        key=key,
        model=agg.index.to_numpy()[order].astype(str),
        xval=agg["xval"].to_numpy(dtype=float)[order],
        u=u[order],
        value=agg["value"].to_numpy(dtype=float)[order],
        chance=chance,
        n_eval=n_eval,
        n_dropped=n_dropped,
    )


def detect_series(s: Series, x: str, config: DetectConfig = DEFAULT_CONFIG) -> dict[str, Any]:
    """Classify one series and collect its evidence as a JSON-ready dict (metric in its own units)."""
    metric = str(s.key["metric"])
    sign = 1.0 if higher_is_better(metric) else -1.0
    scale = metric_scale(metric, s.value)
    y = sign * s.value
    chance_o = None if s.chance is None else sign * s.chance
    det = classify_curve(s.u, y, chance=chance_o, n_eval=s.n_eval, scale=scale, config=config)

    # evidence around the onset: the biggest at-chance model before it, the smallest above-chance
    # model from it on, and how many models break that order (pooled tables mix families)
    band = at_chance_band(chance_o, det.floor, n_eval=s.n_eval, scale=scale, config=config)
    at = y <= band
    before = s.u < det.onset - 1e-12
    cand = np.nonzero(at & before)[0]
    last_at = int(cand[-1]) if len(cand) else None
    cand = np.nonzero(~at & ~before)[0]
    first_above = int(cand[0]) if len(cand) else None
    n_above_before = int((~at & before).sum())
    n_at_after = int((at & ~before).sum())

    def point(i: int | None) -> dict[str, Any] | None:
        if i is None:
            return None
        return {"model": str(s.model[i]), "x": float(s.xval[i]), "value": float(s.value[i])}

    elbow = None
    try:  # the laws' maximum-likelihood ReLU elbow, on the same oriented axis (loss = -u)
        from emergence_laws.laws.elbow import fit_elbow

        ef = fit_elbow(-s.u, y, chance=chance_o, n_eval=s.n_eval)
        elbow = {
            "scale": from_u(x, -ef.E) if ef.emerged else None,
            "emerged": bool(ef.emerged),
            "lr_stat": float(ef.lr_stat),
            "slope": float(ef.A),
            "floor": float(sign * ef.B),
        }
    except Exception as exc:  # noqa: BLE001 - evidence only; detection stands on its own
        elbow = {"error": str(exc).splitlines()[0][:200]}

    is_emergent = det.label == "emergent"
    lo, hi = from_u(x, det.onset_lo), from_u(x, det.onset_hi)
    if x == "pretrain_loss" and lo is not None and hi is not None:
        lo, hi = min(lo, hi), max(lo, hi)
    row: dict[str, Any] = {
        "series": s.sid,
        **{k: v for k, v in s.key.items()},
        "label": det.label,
        "emergent_scale": from_u(x, det.onset) if is_emergent else None,
        "scale_lo": lo,
        "scale_hi": hi,
        "onset": from_u(x, det.onset),
        "rise_end": from_u(x, det.end),
        "sharpness": round(det.sharpness, 4),
        "rise_width": det.rise_width,
        "kink_evidence": det.kink_evidence,
        "trend_evidence": det.trend_evidence,
        "r2": det.r2,
        "chance": s.chance,
        "floor": sign * det.floor,
        "top": sign * det.top,
        "floor_median": None if det.floor_median is None else sign * det.floor_median,
        "floor_gain": det.floor_gain,
        "n_floor": det.n_floor,
        "at_chance_up_to": sign * band,
        "last_at_chance": point(last_at),
        "first_above_chance": point(first_above),
        "above_chance_before_onset": n_above_before,
        "at_chance_after_onset": n_at_after,
        "n_models": len(s.u),
        "n_dropped": s.n_dropped,
        "x_min": float(s.xval.min()),
        "x_max": float(s.xval.max()),
        "elbow_fit": elbow,
        "reason": "; ".join(det.reasons),
    }
    return clean(row)


def filter_table(df: pd.DataFrame, *, task: str | None = None, metric: str | None = None,
                 family: str | None = None) -> pd.DataFrame:
    """Keep rows of one task / metric / family (exact names); InputError naming what exists."""
    for col, want in (("task", task), ("metric", metric), ("family", family)):
        if want is None:
            continue
        if col not in df.columns:
            raise InputError(f"--{col} {want!r} given but the table has no {col} column")
        sub = df[df[col].astype(str) == want]
        if sub.empty:
            names = sorted(df[col].dropna().astype(str).unique())
            shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
            raise InputError(f"no rows with {col} {want!r}; the table has: {shown}")
        df = sub
    return df


def detect_table(
    df: pd.DataFrame,
    *,
    x: str | None = None,
    task: str | None = None,
    metric: str | None = None,
    family: str | None = None,
    group: str = "both",
    config: DetectConfig = DEFAULT_CONFIG,
    with_points: bool = True,
) -> dict[str, Any]:
    """Detect emergence in every series of a results table; returns the detect.json payload.

    Keys: x, x_units, group, counts (per label), series (one dict per curve, see
    ``detect_series``), metric_comparison, prompting, config, summary, and (with_points) points
    {series id: {model, x, value}} for plots.
    """
    df = filter_table(df, task=task, metric=metric, family=family)
    xcol = choose_x(df, x)
    n_models = df.loc[df[xcol].notna(), "model"].nunique()
    if n_models < 2:
        raise InputError(
            f"the table has {n_models} model(s) with {xcol}; detection needs a ladder of at least "
            f"{config.min_points} models of different scale"
        )
    all_series = build_series(df, xcol, group=group, min_points=config.min_points)
    if not all_series:
        raise InputError(f"no series with {xcol} values to analyse; check the scale column")
    rows = [detect_series(s, xcol, config) for s in all_series]
    counts = {lab: sum(r["label"] == lab for r in rows) for lab in ("emergent", "smooth", "flat", "noisy")}

    from emergence_laws.analysis.metrics import compare_metrics
    from emergence_laws.analysis.prompting import compare_prompting

    comparison = compare_metrics(all_series, rows, xcol, config)
    prompting = compare_prompting(all_series, xcol, config)
    summary = (
        f"{len(rows)} curves by {xcol} ({X_UNITS[xcol]}): {counts['emergent']} emergent, "
        f"{counts['smooth']} smooth, {counts['flat']} flat, {counts['noisy']} noisy."
    )
    payload: dict[str, Any] = {
        "summary": summary,
        "x": xcol,
        "x_units": X_UNITS[xcol],
        "group": group,
        "counts": counts,
        "series": rows,
        "metric_comparison": comparison,
        "prompting": prompting,
        "config": config.to_dict(),
    }
    if with_points:
        payload["points"] = {
            s.sid: {"model": s.model.tolist(), "x": s.xval.tolist(), "value": s.value.tolist()}
            for s in all_series
        }
    return payload
