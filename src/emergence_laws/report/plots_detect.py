"""Figures for `emergence detect`: curves with their ramp fit, metrics side by side, prompting.

Every function writes one PNG and returns its path. The x axis reads "bigger model to the
right" (:mod:`emergence_laws.report.figure`): log scale for FLOPs, params, tokens and steps,
inverted linear scale for pretraining loss (nats), where a random-init checkpoint is clipped off
the axis and marked at its edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emergence_laws.analysis.series import to_u
from emergence_laws.report import figure
from emergence_laws.report.figure import X_LABELS

LABEL_COLORS: dict[str, str] = {
    "emergent": "#c0392b",
    "smooth": "#2471a3",
    "flat": "#7f8c8d",
    "marginal": "#a0a060",
    "noisy": "#b9770e",
    "not identifiable": "#8e44ad",
    "warm-up": "#16a085",
}


def _ramp_curve(row: Mapping[str, Any], x: str, xs: np.ndarray) -> np.ndarray | None:
    """The fitted ramp of a series row, evaluated at scale values xs (original units)."""
    onset, end, floor, top = (row.get(k) for k in ("onset", "rise_end", "floor", "top"))
    if any(v is None for v in (onset, end, floor, top)):
        return None
    uo, ue = float(to_u(x, onset)), float(to_u(x, end))
    width = max(ue - uo, 1e-12)
    return floor + (top - floor) * np.clip((to_u(x, xs) - uo) / width, 0.0, 1.0)


def draw_series(ax, row: Mapping[str, Any], pts: Mapping[str, Sequence], x: str, *, title: bool = True) -> None:
    """One curve: points, ramp fit, chance line, emergent scale with its interval."""
    color = LABEL_COLORS.get(str(row.get("label")), "#333333")
    xs = np.asarray(pts["x"], dtype=float)
    ys = np.asarray(pts["value"], dtype=float)
    init = np.asarray(pts.get("init") or np.zeros(len(xs), dtype=bool), dtype=bool)
    ax.scatter(xs, ys, s=14, color=color, alpha=0.8, zorder=3, edgecolors="none")
    near = xs[~init]
    if len(near):
        dense = figure.dense(float(near.min()), float(near.max()), x)
        fit = _ramp_curve(row, x, dense)
        if fit is not None:
            ax.plot(dense, fit, color="#222222", lw=1.2, zorder=4, label="ramp fit")
    if row.get("chance") is not None:
        ax.axhline(row["chance"], color="#555555", ls=":", lw=1, label="chance")
    if row.get("emergent_scale") is not None:
        ax.axvline(row["emergent_scale"], color=LABEL_COLORS["emergent"], ls="--", lw=1.2, label="emergent scale")
        lo, hi = row.get("scale_lo"), row.get("scale_hi")
        if lo is not None and hi is not None:
            ax.axvspan(min(lo, hi), max(lo, hi), color=LABEL_COLORS["emergent"], alpha=0.12, lw=0)
    elif row.get("bracket"):  # not identifiable, warm-up: where the jump is, between two checkpoints
        a, b = row["bracket"]
        ax.axvspan(min(a, b), max(a, b), color=color, alpha=0.18, lw=0, label="jump: last at chance - first above")
    figure.setup_x(ax, x)
    if x in ("pretrain_loss", "pretrain_bpb"):  # the random-init checkpoint would squeeze the axis: clip, mark it
        figure.clip_x(ax, xs, ys, init if init.any() else figure.far_out(xs))
    if title:
        fam = row.get("family")
        ax.set_title(
            f"{_short(str(row.get('task')), 34)}\n{fam} · {_short(str(row.get('metric')), 22)} · "
            f"{row.get('label')}",
            fontsize=8.5,
            color=color,
        )
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.25, lw=0.5)


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def plot_series_grid(
    rows: Sequence[Mapping[str, Any]],
    points: Mapping[str, Mapping[str, Sequence]],
    x: str,
    path: Path | str,
    *,
    title: str,
    ncols: int = 4,
) -> Path:
    """A grid of curves (one panel per series row); writes a PNG."""
    rows = [r for r in rows if r["series"] in points]
    fig, axes = figure.grid(len(rows), ncols, (3.4, 2.75), extra_height=0.6)
    for ax, row in zip(axes, rows):
        draw_series(ax, row, points[row["series"]], x)
    fig.suptitle(title, fontsize=11)
    fig.supxlabel(X_LABELS.get(x, x), fontsize=9)
    return figure.save(fig, path)


def plot_statistics(rows: Sequence[Mapping[str, Any]], path: Path | str, *, title: str) -> Path:
    """Every curve as a point: sharpness (threshold-free) vs kink evidence, coloured by label."""
    fig, ax = figure.plt().subplots(figsize=(6.4, 4.2))
    for lab, color in LABEL_COLORS.items():
        sel = [r for r in rows if r.get("label") == lab]
        if not sel:
            continue
        k = np.array([r.get("kink_evidence") or 0.0 for r in sel], dtype=float)
        ax.scatter(
            [r.get("sharpness") or 0.0 for r in sel],
            np.sign(k) * np.log10(1 + np.abs(k)),
            s=14,
            color=color,
            alpha=0.75,
            label=f"{lab} ({len(sel)})",
            edgecolors="none",
        )
    ax.set_xlabel("sharpness = 1 - rise width / scale range")
    ax.set_ylabel("kink evidence, sign * log10(1 + |BIC(line) - BIC(ramp)|)")
    from emergence_laws.laws.curve_labels import DetectConfig

    ax.axhline(math.log10(1 + DetectConfig().kink_bic), color="#999999", lw=0.8, ls=":",
               label="kink evidence needed for emergent")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.25, lw=0.5)
    return figure.save(fig, path)


def plot_metric_pairs(
    comparisons: Sequence[Mapping[str, Any]],
    rows_by_sid: Mapping[str, Mapping[str, Any]],
    points: Mapping[str, Mapping[str, Sequence]],
    x: str,
    path: Path | str,
    *,
    max_panels: int = 8,
) -> Path:
    """Discrete (left axis) and continuous (right axis) metric of the same task against scale."""
    comps = list(comparisons)[:max_panels]
    fig, axes = figure.grid(len(comps), 2, (5.6, 3.2), extra_height=0.4)
    for ax, c in zip(axes, comps):
        d = rows_by_sid[c["discrete_series"]]
        draw_series(ax, d, points[c["discrete_series"]], x, title=False)
        ax.set_ylabel(str(c["discrete"]), color=LABEL_COLORS["emergent"], fontsize=8)
        ax2 = ax.twinx()
        pc = points[c["continuous_series"]]
        ax2.scatter(pc["x"], pc["value"], marker="s", s=12, color=LABEL_COLORS["smooth"], alpha=0.7,
                    edgecolors="none")
        ax2.set_ylabel(str(c["continuous"]), color=LABEL_COLORS["smooth"], fontsize=8)
        ax2.tick_params(labelsize=7)
        verdict = "continuous improves at chance" if c.get("continuous_improves_at_chance") else "no hidden progress"
        ax.set_title(f"{_short(str(c['task']), 30)} · {c['family']}\n{verdict}", fontsize=8.5)
    fig.supxlabel(X_LABELS.get(x, x), fontsize=9)
    return figure.save(fig, path)


def plot_prompting(
    pairs: Sequence[Mapping[str, Any]],
    points: Mapping[str, Mapping[str, Sequence]],
    x: str,
    path: Path | str,
    *,
    max_panels: int = 8,
) -> Path:
    """Two prompting methods of the same task against scale, with the crossover scale."""
    ps = list(pairs)[:max_panels]
    fig, axes = figure.grid(len(ps), 4, (3.6, 2.9), extra_height=0.5)
    for ax, p in zip(axes, ps):
        for sid, color, name in ((p["series_a"], "#c0392b", p["method_a"]), (p["series_b"], "#2471a3", p["method_b"])):
            pt = points[sid]
            ax.scatter(pt["x"], pt["value"], s=10, color=color, alpha=0.75, label=_short(str(name), 36),
                       edgecolors="none")
        if p.get("crossover_scale") is not None:
            ax.axvline(p["crossover_scale"], color="#222222", ls="--", lw=1)
            lo, hi = p.get("crossover_lo"), p.get("crossover_hi")
            if lo is not None and hi is not None:
                ax.axvspan(min(lo, hi), max(lo, hi), color="#222222", alpha=0.08, lw=0)
        figure.setup_x(ax, x)
        if x in ("pretrain_loss", "pretrain_bpb"):
            pa = points[p["series_a"]]
            xa, ya = np.asarray(pa["x"], dtype=float), np.asarray(pa["value"], dtype=float)
            ia = np.asarray(pa.get("init") or np.zeros(len(xa), dtype=bool), dtype=bool)
            figure.clip_x(ax, xa, ya, ia if ia.any() else figure.far_out(xa))
        ax.legend(fontsize=6, loc="upper left")
        ax.set_title(f"{_short(str(p['task']), 30)} · {p['family']}\n{_short(str(p['metric']), 30)}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25, lw=0.5)
    fig.supxlabel(X_LABELS.get(x, x), fontsize=9)
    return figure.save(fig, path)


def select_for_plots(rows: Sequence[Mapping[str, Any]], *, n_emergent: int = 16, n_other: int = 4
                     ) -> dict[str, list[Mapping[str, Any]]]:
    """Which curves to draw: the emergent ones with the most kink evidence, a few of each other label."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for lab in LABEL_COLORS:
        sel = [r for r in rows if r.get("label") == lab]
        key = (lambda r: -(r.get("kink_evidence") or 0.0)) if lab == "emergent" else (
            lambda r: (-(r.get("n_models") or 0), -(r.get("trend_evidence") or 0.0)))
        sel = sorted(sel, key=key)
        out[lab] = sel[: n_emergent if lab == "emergent" else n_other]
    return out


def write_detect_figures(payload: Mapping[str, Any], out_dir: Path | str) -> dict[str, Path]:
    """All detect figures for a payload (with `points`) into out_dir; returns {caption: path}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x = str(payload["x"])
    rows = payload["series"]
    points = payload.get("points") or {}
    by_sid = {r["series"]: r for r in rows}
    figs: dict[str, Path] = {}
    chosen = select_for_plots(rows)
    if chosen["emergent"]:
        figs["Emergent curves (most kink evidence first); dashed line and band: emergent scale, 5-95%"] = (
            plot_series_grid(chosen["emergent"], points, x, out_dir / "emergent.png",
                             title=f"Emergent curves by {x}")
        )
    others = [r for lab, sel in chosen.items() if lab != "emergent" for r in sel]
    if others:
        names = [lab for lab, sel in chosen.items() if lab != "emergent" and sel]
        figs["Examples of " + ", ".join(names) + " curves"] = plot_series_grid(
            others, points, x, out_dir / "other_labels.png", title=f"Other labels by {x}: {', '.join(names)}"
        )
    if len(rows) >= 2:
        figs["Sharpness and kink evidence of every curve"] = plot_statistics(
            rows, out_dir / "statistics.png", title=f"{len(rows)} curves by {x}"
        )
    comps = [c for c in payload.get("metric_comparison") or [] if c["discrete_series"] in points]
    if comps:
        comps = sorted(comps, key=lambda c: (c["family"] != "(all)", not c.get("continuous_improves_at_chance")))
        figs["Discrete vs continuous metric of the same task"] = plot_metric_pairs(
            comps, by_sid, points, x, out_dir / "metrics.png"
        )
    prompts = [p for p in payload.get("prompting") or [] if p["series_a"] in points]
    if prompts:
        # informative first: pooled curves with a real crossover (not "better from the smallest model")
        # baselines that are flat throughout (e.g. a strict answer format never followed) say little
        def flat_b(p):
            return by_sid.get(p["series_b"], {}).get("label") == "flat"

        prompts = sorted(prompts, key=lambda p: (p["family"] != "(all)", flat_b(p), bool(p.get("beats_from_smallest")),
                                                 not p.get("a_beats_b"), -(p.get("gain_at_top") or 0.0)))
        figs["Augmented prompting: crossover scale (dashed) where method A starts to beat B"] = plot_prompting(
            prompts, points, x, out_dir / "prompting.png"
        )
    return figs


#: Column order of the series tables in the HTML report (the rest follow in their own order).
_FIRST_COLUMNS = (
    "task", "metric", "family", "label", "brief", "emergent_scale", "scale_lo", "scale_hi", "bracket", "sharpness",
    "rise_width", "kink_evidence", "chance", "floor", "top", "last_at_chance", "first_above_chance", "n_models",
)


def detect_report_body(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The detect payload arranged for reading: emergent curves first, key columns first, no ids/points."""
    def compact(r: Mapping[str, Any]) -> dict[str, Any]:
        first = {k: r.get(k) for k in _FIRST_COLUMNS if k in r}
        rest = {k: v for k, v in r.items() if k not in first and k != "series"}
        return {**first, **rest}

    rows = [compact(r) for r in payload.get("series") or []]
    body: dict[str, Any] = {k: payload[k] for k in ("summary", "x", "x_units", "group", "counts") if k in payload}
    body["emergent curves"] = [r for r in rows if r.get("label") == "emergent"]
    body["all curves"] = rows
    comps = [{k: v for k, v in c.items() if not k.endswith("_series")} for c in payload.get("metric_comparison") or []]
    prompts = [{k: v for k, v in p.items() if not k.startswith("series_")} for p in payload.get("prompting") or []]
    body["metric comparison (discrete vs continuous)"] = comps
    body["augmented prompting"] = prompts
    if "config" in payload:
        body["detection thresholds (DetectConfig)"] = payload["config"]
    return body
