"""The figure of `emergence compare` (matplotlib, Agg backend; no torch).

Left: each group's pretraining loss against compute (log axis): its checkpoints, its fitted loss curve
extended past the last checkpoint, its few-shot emergence point E(D0) as a horizontal band (the 90%
interval) from its last checkpoint on, and the predicted crossing with its 90% compute interval. Right: each group's bootstrap
replicates of that compute (the overlap is what the pairwise probabilities count), with the pairs'
probabilities in the legend.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from emergence_laws.report import figure


def _colors(n: int):
    cmap = figure.plt().get_cmap("tab10")
    return [cmap(i % 10) for i in range(max(n, 1))]


def plot_compare(result, path: str | Path, title: str | None = None) -> Path:
    """Write the two-panel figure of a :class:`~emergence_laws.analysis.table_compare.Comparison`; returns the path."""
    p = result.payload
    groups = [g for g in result.groups if g.curve is not None]
    fig, (ax, bx) = figure.plt().subplots(1, 2, figsize=(12.5, 4.8), gridspec_kw={"width_ratios": [1.5, 1]})
    unit, cunit = p["loss_unit"], p["compute_unit"]
    lo_all, hi_all = math.inf, 0.0
    for g in groups:
        lo_all = min(lo_all, float(g.scale.min()))
        hi_all = max(hi_all, float(g.scale.max()))
        for v in ((g.interval or (None, None))[1], g.point):
            if v is not None and math.isfinite(v):
                hi_all = max(hi_all, v)
    if groups:  # an interval reaching far past the checkpoints would squash them: draw at most 1000x past
        hi_all = min(hi_all, 1e3 * max(float(g.scale.max()) for g in groups))
    xs = np.geomspace(lo_all / 1.5, hi_all * 1.5, 300) if groups else np.array([1.0])
    colors = dict(zip((g.group for g in result.groups), _colors(len(result.groups))))
    for g in groups:
        color = colors[g.group]
        ax.scatter(g.scale, g.loss, s=18, color=color, zorder=3, label=f"{g.group}: checkpoints")
        ax.plot(xs, g.curve.loss_at(xs), color=color, lw=1.2, alpha=0.8)
        fit = g.fit
        if fit is None:
            continue
        e, iv = fit["emergence_point"], fit["interval"]
        # the E(D0) band, from the group's last checkpoint to the far end of its compute interval
        x0 = float(g.scale.max())
        x1 = xs[-1] if not g.identified or g.interval[1] is None else min(max(g.interval[1], x0) * 1.3, xs[-1])
        band = (xs >= x0) & (xs <= x1)
        if iv and band.any():
            ax.fill_between(xs[band], iv[0], iv[1], color=color, alpha=0.13, lw=0)
        ax.hlines(e, x0, x1, color=color, lw=0.8, ls="--", alpha=0.8)
        if g.identified:
            lo, hi = g.interval
            xerr = [[g.point - (lo if lo is not None else g.point)], [(hi if hi is not None else xs[-1]) - g.point]]
            ax.errorbar([g.point], [e], xerr=xerr, fmt="D", color=color, capsize=4, ms=6, zorder=4,
                        label=f"{g.group}: E(D0) {e:.3f} {unit} reached at {g.point:.2g} {cunit}")
        else:
            ax.plot([], [], " ", label=f"{g.group}: not identified")
    figure.setup_x(ax, p["compute_axis"])
    ax.set_xlabel(figure.X_LABELS.get(p["compute_axis"], p["compute_axis"]) + " (log scale)")
    ax.set_ylabel(f"pretraining loss ({'nats/token' if unit == 'nats' else unit})")
    ax.set_title(title or f"{p['task']}: where each {p['by']}'s loss curve reaches its few-shot emergence point")
    ax.legend(fontsize=7)

    ok = [g for g in result.groups if g.identified]
    finite = [np.log10(g.draws[np.isfinite(g.draws)]) for g in ok]
    if finite and any(f.size for f in finite):
        allv = np.concatenate([f for f in finite if f.size])
        bins = np.linspace(allv.min(), allv.max(), 40)
        for g, f in zip(ok, finite):
            never = int((~np.isfinite(g.draws)).sum())
            label = f"{g.group}" + (f" ({never} replicate(s) never reach it)" if never else "")
            bx.hist(f, bins=bins, histtype="step", color=colors[g.group], lw=1.5, label=label)
            bx.axvline(math.log10(g.point), color=colors[g.group], lw=0.8, ls="--")
    for q in p["pairs"]:
        bx.plot([], [], " ", label=f"P({q['first']} before {q['second']}) = {q['p_first']:.2f}, "
                                  f"ratio {q['ratio']:.2g}x")
    bx.set_xlabel(f"log10 {cunit} at emergence (bootstrap replicates)")
    bx.set_ylabel("replicates")
    bx.set_title("joint replicates: law and loss curve refitted together")
    bx.legend(fontsize=7)
    return figure.save(fig, path, dpi=110)



def compare_summary(payload) -> list[str]:
    """Plain-words lines for the top of a compare report: each group's prediction, then each pair's verdict."""
    unit, cunit = payload.get("loss_unit", "nats"), payload.get("compute_unit", "FLOPs")
    lines = []
    for g in payload.get("groups") or []:
        if not g.get("identified"):
            lines.append(f"{g.get('group')}: not compared ({g.get('reason')}).")
            continue
        iv, fiv = g.get("interval") or [None, None], g.get("flops_interval") or [None, None]
        hi = "unbounded" if fiv[1] is None else f"{fiv[1]:.2g}"
        lo = "?" if fiv[0] is None else f"{fiv[0]:.2g}"
        ivs = f" [{iv[0]:.3f}, {iv[1]:.3f}]" if iv[0] is not None else ""
        lines.append(f"{g['group']}: few-shot emergence at {g['emergence_point']:.3f} {unit}{ivs}, reached at "
                     f"{g['flops']:.2g} {cunit} [{lo}, {hi}] (90%), {g['ahead']:.2g}x the compute of its last checkpoint.")
    for q in payload.get("pairs") or []:
        lines.append(f"{q['first']} gets there on less compute than {q['second']} with probability {q['p_first']:.2f}; "
                     f"{q['second']} needs {q['ratio']:.2g}x the compute of {q['first']}.")
    return lines
