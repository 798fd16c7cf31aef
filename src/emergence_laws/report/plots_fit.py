"""Figures for fits and backtests (matplotlib, Agg backend; no torch).

Convention: pretraining loss on the x axis, inverted, so stronger models (lower loss) are on the right.

- :func:`plot_law_fit` — the metric vs loss per finetuning data amount, with the fitted law.
- :func:`plot_shift` — ``E_theta(D)`` vs ``D`` (log axis), extrapolated to ``D0`` with its interval.
- :func:`plot_backtest` — the few-shot curve, the rows used vs held out, predicted vs actual elbow.
- :func:`plot_sigmoid_baseline` — the few-shot sigmoid baseline on its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emergence_laws.laws.elbow import fit_elbow
from emergence_laws.laws.forms import shift


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colors(n: int):
    plt = _plt()
    cmap = plt.get_cmap("viridis")
    return [cmap(x) for x in np.linspace(0.1, 0.85, max(n, 1))]


def plot_law_fit(result, path: str | Path, title: str | None = None) -> Path:
    """Metric vs pretraining loss per data amount (points: rows; lines: the fitted law); few-shot in black."""
    plt = _plt()
    law, data = result.law, result.data
    fig, ax = plt.subplots(figsize=(7, 4.6))
    grid = np.linspace(data.loss.min() - 0.05, data.loss.max() + 0.05, 300)
    amounts = data.amounts
    prop = bool(np.all((data.value >= 0) & (data.value <= 1)))
    cap = (lambda v: np.minimum(v, 1.0)) if prop else (lambda v: v)  # a proportion saturates at 1
    for c, d in zip(_colors(len(amounts)), amounts):
        m = data.n_train == d
        ax.scatter(data.loss[m], data.value[m], s=14, color=c, alpha=0.7)
        ax.plot(grid, cap(law.predict(grid, d)), color=c, lw=1.6, label=f"n_train={d:g}")
    fs = data.is_fewshot
    ept = law.few_shot_emergence_point
    if fs.any():
        ax.scatter(
            data.loss[fs], data.value[fs], s=22, color="black", marker="s", label=f"few-shot ({data.shots}-shot)"
        )
        ax.plot(grid, cap(law.predict(grid, 0)), color="black", lw=1.4, ls="--", label=f"law at D0={law.d0:g}")
    ax.axvline(ept, color="crimson", lw=1.2, label=f"predicted emergence {ept:.3f} nats")
    if law.interval:
        ax.axvspan(*law.interval, color="crimson", alpha=0.12, label="5-95% interval")
    if data.chance is not None:
        ax.axhline(data.chance, color="grey", lw=0.8, ls=":", label="chance")
    ax.invert_xaxis()
    ax.set_xlabel("pretraining loss (nats/token)  →  stronger models")
    ax.set_ylabel(result.metric)
    ax.set_title(title or f"{result.task}: emergence law ({law.form}, {law.elbow})")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_shift(result, path: str | Path, title: str | None = None) -> Path:
    """``E_theta(D)`` vs ``D`` on a log axis: per-amount elbows, the fitted law, its extrapolation to ``D0``."""
    plt = _plt()
    law, data = result.law, result.data
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    amounts = data.amounts
    ne = data.n_eval
    pts = []
    for d in amounts:
        m = data.n_train == d
        if np.unique(data.loss[m]).size >= 2:
            ef = fit_elbow(data.loss[m], data.value[m], n_eval=None if ne is None else ne[m])
            if ef.emerged:
                pts.append((d, ef.E))
    if pts:
        ax.scatter(*zip(*pts), color="tab:blue", zorder=3, label="elbow per data amount (single-curve fit)")
    lo = max(min(law.d0, amounts.min()) / 1.5, 1.0)
    Dg = np.geomspace(lo, amounts.max() * 1.5, 200)
    ax.plot(Dg, shift(law.form, Dg, law.k, law.alpha, law.C), color="tab:blue", lw=1.6, label=f"E(D), {law.form}")
    if result.boot is not None:
        P = result.boot.params
        curves = shift(law.form, Dg[None, :], P[:, 0:1], P[:, 1:2], P[:, 2:3])
        q5, q95 = np.percentile(curves, [5, 95], axis=0)
        ax.fill_between(Dg, q5, q95, color="tab:blue", alpha=0.12, label="5-95% band")
    ept = law.few_shot_emergence_point
    yerr = None
    if law.interval:
        yerr = [[ept - law.interval[0]], [law.interval[1] - ept]]
    ax.errorbar(
        [law.d0],
        [ept],
        yerr=yerr,
        fmt="o",
        color="crimson",
        capsize=4,
        zorder=4,
        label=f"prediction E(D0={law.d0:g}) = {ept:.3f}",
    )
    obs = result.payload.get("fewshot_observed")
    if obs and obs.get("emerged") and obs.get("E") is not None:
        ax.scatter(
            [law.d0],
            [obs["E"]],
            marker="*",
            s=120,
            color="black",
            zorder=5,
            label=f"observed few-shot elbow {obs['E']:.3f}",
        )
    ax.set_xscale("log")
    ax.set_xlabel("finetuning examples D (log scale)")
    ax.set_ylabel("emergence point E(D) (nats/token)")
    ax.set_title(title or f"{result.task}: emergence shifts with data")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_backtest(result, path: str | Path, title: str | None = None) -> Path:
    """Few-shot curve (used vs held-out checkpoints), actual elbow, predicted elbow and its interval."""
    plt = _plt()
    bt, data = result.backtest, result.data
    fig, ax = plt.subplots(figsize=(7, 4.6))
    fs = data.is_fewshot
    used = data.loss > bt.cutoff_loss
    ft = ~fs
    ax.scatter(
        data.loss[ft & used], data.value[ft & used], s=8, color="tab:blue", alpha=0.35, label="finetuned (in fit)"
    )
    ax.scatter(
        data.loss[ft & ~used],
        data.value[ft & ~used],
        s=8,
        facecolors="none",
        edgecolors="tab:blue",
        alpha=0.35,
        label="finetuned (held out)",
    )
    ax.scatter(data.loss[fs & used], data.value[fs & used], s=26, color="black", marker="s", label="few-shot (in fit)")
    ax.scatter(
        data.loss[fs & ~used],
        data.value[fs & ~used],
        s=26,
        facecolors="none",
        edgecolors="black",
        marker="s",
        label="few-shot (held out)",
    )
    grid = np.linspace(data.loss.min() - 0.05, data.loss.max() + 0.05, 300)
    ax.plot(grid, bt.truth.predict(grid), color="black", lw=1.2, label="ReLU fit to the full few-shot curve")
    ax.plot(
        grid, bt.law.predict(grid, 0), color="crimson", lw=1.2, ls="--", label="law's few-shot curve (weak models only)"
    )
    if bt.sigmoid is not None:
        ax.plot(
            grid,
            bt.sigmoid.predict(grid),
            color="tab:orange",
            lw=1.2,
            ls=":",
            label=f"sigmoid baseline (error {bt.sigmoid_error_nats:.2f} nats)",
        )
    ax.axvline(bt.actual, color="black", lw=1.0, label=f"actual {bt.actual:.3f}")
    ax.axvline(bt.predicted, color="crimson", lw=1.2, label=f"predicted {bt.predicted:.3f} (error {bt.error_nats:.3f})")
    if bt.interval:
        ax.axvspan(*bt.interval, color="crimson", alpha=0.12)
    ax.axvline(bt.cutoff_loss, color="grey", lw=1.0, ls="-.", label=f"cutoff {bt.cutoff_loss:g}")
    lo, hi = float(np.min(data.value)), float(np.max(data.value))
    pad = 0.08 * max(hi - lo, 1e-6)
    ax.set_ylim(lo - pad, hi + 3 * pad)  # the unbounded ReLU lines would stretch the axis past the data
    ax.invert_xaxis()
    ax.set_xlabel("pretraining loss (nats/token)  →  stronger models")
    ax.set_ylabel(result.metric)
    ahead = f", {bt.compute_ahead:.1f}x compute ahead" if bt.compute_ahead else ""
    ax.set_title(title or f"{result.task}: backtest{ahead}")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_sigmoid_baseline(result, path: str | Path, title: str | None = None) -> Path:
    """The few-shot sigmoid baseline: points, the sigmoid, its tangent elbow."""
    plt = _plt()
    sig = result.baseline
    x, y = result.baseline_xy
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.scatter(x, y, s=18, color="black")
    g = np.linspace(x.min() - 0.05 * np.ptp(x), x.max() + 0.05 * np.ptp(x), 300)
    ax.plot(g, sig.predict(g), color="tab:orange", lw=1.4, label="sigmoid")
    ax.axvline(
        sig.emergence_point,
        color="tab:orange",
        ls="--",
        label=f"tangent elbow {sig.emergence_point:.3f}" + ("" if sig.identified else " (not identified)"),
    )
    ax.invert_xaxis()
    ax.set_xlabel(f"{sig.axis}  →  stronger models")
    ax.set_ylabel(result.metric)
    ax.set_title(title or f"{result.task}: few-shot sigmoid baseline")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
