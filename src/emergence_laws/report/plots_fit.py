"""Figures for fits and backtests (matplotlib, Agg backend; no torch).

Convention: pretraining loss on the x axis, inverted, so stronger models (lower loss) are on the right;
a random-init checkpoint far above the other losses is clipped off the axis and marked at its edge.
Metrics are drawn in their own units (a lower-is-better metric is fitted negated, drawn as it is).

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
from emergence_laws.metrics import metric_info
from emergence_laws.report import figure
from emergence_laws.results.binomial import wilson_interval


def _colors(n: int):
    cmap = figure.plt().get_cmap("viridis")
    return [cmap(x) for x in np.linspace(0.1, 0.85, max(n, 1))]


def _units(result):
    """(own, curve): fitted (oriented) values -> the metric's own units; curve also clips to its range."""
    info = metric_info(result.metric, result.payload.get("higher_is_better"))
    bounds = info.bounds or (-np.inf, np.inf)
    return info.unorient, (lambda v: np.clip(info.unorient(v), *bounds))


def _loss_grid(loss, far) -> np.ndarray:
    near = np.asarray(loss, dtype=float)[~far]
    return np.linspace(near.min() - 0.05, near.max() + 0.05, 300)


def _unit_label(unit: str, per_token: bool = False) -> str:
    """The loss axis's unit: nats (per token) unless the law was fitted in bits per byte (``fit --x bpb``)."""
    return "nats/token" if per_token and unit == "nats" else unit


def _wilson_bars(ax, x, values, n_eval, color) -> None:
    """Wilson 95% intervals on the points that are proportions of a known number of examples."""
    if n_eval is None:
        return
    ok = np.isfinite(n_eval) & (n_eval > 0) & (values >= 0) & (values <= 1)
    if not ok.any():
        return
    lo_hi = np.array([wilson_interval(v, n) for v, n in zip(values[ok], n_eval[ok])])
    yerr = np.vstack([values[ok] - lo_hi[:, 0], lo_hi[:, 1] - values[ok]])
    ax.errorbar(x[ok], values[ok], yerr=np.clip(yerr, 0, None), fmt="none", ecolor=color, alpha=0.35, lw=0.8,
                capsize=0)


def _d0_note(law) -> str:
    lo, hi = law.d0_range or (law.d0, law.d0)
    return f" (D0 in [{lo:g}, {hi:g}])" if hi > lo else f" (D0 = {lo:g})"


def plot_law_fit(result, path: str | Path, title: str | None = None, *, unit: str = "nats") -> Path:
    """Metric vs pretraining loss per data amount (points: rows, with Wilson 95% bars for accuracies of
    known n_eval; lines: the fitted law); few-shot in black."""
    law, data = result.law, result.data
    own, units = _units(result)
    discrete = metric_info(result.metric, result.payload.get("higher_is_better")).discrete
    fig, ax = figure.plt().subplots(figsize=(7, 4.6))
    far = figure.far_out(data.loss)
    grid = _loss_grid(data.loss, far)
    amounts = data.amounts
    for c, d in zip(_colors(len(amounts)), amounts):
        m = data.n_train == d
        ax.scatter(data.loss[m], own(data.value[m]), s=14, color=c, alpha=0.7)
        if discrete:
            _wilson_bars(ax, data.loss[m], own(data.value[m]), None if data.n_eval is None else data.n_eval[m], c)
        ax.plot(grid, units(law.predict(grid, d)), color=c, lw=1.6, label=f"n_train={d:g}")
    fs = data.is_fewshot
    ept = law.point_estimate
    if fs.any():
        ax.scatter(
            data.loss[fs], own(data.value[fs]), s=22, color="black", marker="s", label=f"few-shot ({data.shots}-shot)"
        )
        if discrete:
            _wilson_bars(ax, data.loss[fs], own(data.value[fs]), None if data.n_eval is None else data.n_eval[fs],
                         "black")
        ax.plot(grid, units(law.predict(grid, 0)), color="black", lw=1.4, ls="--", label=f"law at D0={law.d0:.3g}")
    ax.axvline(ept, color="crimson", lw=1.2, label=f"predicted emergence {ept:.3f} {unit}")
    if law.interval:
        ax.axvspan(*law.interval, color="crimson", alpha=0.12, label=f"90% interval{_d0_note(law)}")
    if data.chance is not None:
        ax.axhline(own(data.chance), color="grey", lw=0.8, ls=":", label="chance")
    figure.setup_x(ax, "pretrain_loss")
    figure.clip_x(ax, data.loss, own(data.value), far)
    ax.set_xlabel(f"pretraining loss ({_unit_label(unit, per_token=True)})  →  stronger models")
    ax.set_ylabel(result.metric)
    ax.set_title(title or f"{result.task}: emergence law ({law.form}, {law.elbow})")
    ax.legend(fontsize=7, loc="upper left")
    return figure.save(fig, path, dpi=120)


def plot_shift(result, path: str | Path, title: str | None = None, *, unit: str = "nats") -> Path:
    """``E_theta(D)`` vs ``D`` on a log axis: per-amount elbows, the fitted law, its extrapolation to ``D0``."""
    law, data = result.law, result.data
    fig, ax = figure.plt().subplots(figsize=(6.4, 4.4))
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
    d0_lo, d0_hi = law.d0_range or (law.d0, law.d0)
    lo = max(min(d0_lo, amounts.min()) / 1.5, 1.0)
    Dg = np.geomspace(lo, amounts.max() * 1.5, 200)
    if d0_hi > d0_lo:
        ax.axvspan(d0_lo, d0_hi, color="grey", alpha=0.10, label=f"D0 range [{d0_lo:g}, {d0_hi:g}]")
    ax.plot(Dg, shift(law.form, Dg, law.k, law.alpha, law.C), color="tab:blue", lw=1.6, label=f"E(D), {law.form}")
    if result.boot is not None:
        P = result.boot.params
        curves = shift(law.form, Dg[None, :], P[:, 0:1], P[:, 1:2], P[:, 2:3])
        q5, q95 = np.percentile(curves, [5, 95], axis=0)
        ax.fill_between(Dg, q5, q95, color="tab:blue", alpha=0.12, label="5-95% band")
        ax.scatter(result.boot.d0, result.boot.samples, s=4, color="crimson", alpha=0.15, zorder=2,
                   label="replicates: (D0, E(D0))")
    ept = law.point_estimate
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
        label=f"prediction {ept:.3f}" + (" (median over D0 and replicates)" if law.interval else f" at D0={law.d0:.3g}"),
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
    ax.set_ylabel(f"emergence point E(D) ({_unit_label(unit, per_token=True)})")
    ax.set_title(title or f"{result.task}: emergence shifts with data")
    ax.legend(fontsize=7)
    return figure.save(fig, path, dpi=120)


def plot_backtest(result, path: str | Path, title: str | None = None) -> Path:
    """Few-shot curve (used vs held-out checkpoints), actual elbow, predicted elbow and its interval."""
    bt, data = result.backtest, result.data
    own, units = _units(result)
    fig, ax = figure.plt().subplots(figsize=(7, 4.6))
    far = figure.far_out(data.loss)
    fs = data.is_fewshot
    used = data.loss > bt.cutoff_loss
    ft = ~fs
    ax.scatter(
        data.loss[ft & used], own(data.value[ft & used]), s=8, color="tab:blue", alpha=0.35, label="finetuned (in fit)"
    )
    ax.scatter(
        data.loss[ft & ~used],
        own(data.value[ft & ~used]),
        s=8,
        facecolors="none",
        edgecolors="tab:blue",
        alpha=0.35,
        label="finetuned (held out)",
    )
    ax.scatter(data.loss[fs & used], own(data.value[fs & used]), s=26, color="black", marker="s", label="few-shot (in fit)")
    ax.scatter(
        data.loss[fs & ~used],
        own(data.value[fs & ~used]),
        s=26,
        facecolors="none",
        edgecolors="black",
        marker="s",
        label="few-shot (held out)",
    )
    grid = _loss_grid(data.loss, far)
    ax.plot(grid, units(bt.truth.predict(grid)), color="black", lw=1.2, label="ReLU fit to the full few-shot curve")
    ax.plot(
        grid, units(bt.law.predict(grid, 0)), color="crimson", lw=1.2, ls="--", label="law's few-shot curve (weak models only)"
    )
    if bt.sigmoid is not None:
        ax.plot(
            grid,
            units(bt.sigmoid.predict(grid)),
            color="tab:orange",
            lw=1.2,
            ls=":",
            label=f"sigmoid baseline (error {bt.sigmoid_error_nats:.2f} nats)",
        )
    ax.axvline(bt.actual, color="black", lw=1.0, label=f"actual {bt.actual:.3f}")
    ax.axvline(bt.predicted, color="crimson", lw=1.2, label=f"predicted {bt.predicted:.3f} (error {bt.error_nats:.3f})")
    if bt.interval:
        ax.axvspan(*bt.interval, color="crimson", alpha=0.12, label=f"90% interval{_d0_note(bt.law)}")
    ax.axvline(bt.cutoff_loss, color="grey", lw=1.0, ls="-.", label=f"cutoff {bt.cutoff_loss:g}")
    _data_ylim(ax, own(data.value))
    figure.setup_x(ax, "pretrain_loss")
    figure.clip_x(ax, data.loss, own(data.value), far)
    ax.set_xlabel("pretraining loss (nats/token)  →  stronger models")
    ax.set_ylabel(result.metric)
    ahead = f", {bt.compute_ahead:.1f}x compute ahead" if bt.compute_ahead else ""
    ax.set_title(title or f"{result.task}: backtest{ahead}")
    ax.legend(fontsize=7, loc="upper left")
    return figure.save(fig, path, dpi=120)


def _data_ylim(ax, values) -> None:
    """Y limits from the data (the unbounded ReLU lines would stretch the axis past it)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    pad = 0.08 * max(hi - lo, 1e-6)
    ax.set_ylim(lo - pad, hi + 3 * pad)


def _sigmoid_axes(ax, axis: str):
    """Draw-ready x of a sigmoid fit: loss as it is (inverted, far point clipped), ``-log10(scale)`` back
    to the scale on a log axis. Returns (to_plot: u -> x, name of the x column)."""
    if axis.startswith("-log10("):
        name = axis[len("-log10("):-1]
        figure.setup_x(ax, name)
        return (lambda v: 10.0 ** (-np.asarray(v, dtype=float))), name
    figure.setup_x(ax, "pretrain_loss")
    return (lambda v: np.asarray(v, dtype=float)), "pretrain_loss"


def plot_sigmoid_baseline(result, path: str | Path, title: str | None = None) -> Path:
    """The few-shot sigmoid baseline: points, the sigmoid, its tangent elbow."""
    sig = result.baseline
    x, y = result.baseline_xy
    own, units = _units(result)
    fig, ax = figure.plt().subplots(figsize=(6.4, 4.4))
    far = figure.far_out(x) if not sig.axis.startswith("-log10(") else np.zeros(len(x), dtype=bool)
    to_x, name = _sigmoid_axes(ax, sig.axis)
    ax.scatter(to_x(x), own(y), s=18, color="black")
    near = np.asarray(x)[~far]
    g = np.linspace(near.min() - 0.05 * np.ptp(near), near.max() + 0.05 * np.ptp(near), 300)
    ax.plot(to_x(g), units(sig.predict(g)), color="tab:orange", lw=1.4, label="sigmoid")
    ax.axvline(
        float(to_x(sig.emergence_point)),
        color="tab:orange",
        ls="--",
        label=f"tangent elbow {float(to_x(sig.emergence_point)):.4g}" + ("" if sig.identified else " (not identified)"),
    )
    figure.clip_x(ax, x, own(y), far)
    ax.set_xlabel(f"{figure.X_LABELS.get(name, name)}  →  stronger models")
    ax.set_ylabel(result.metric)
    ax.set_title(title or f"{result.task}: few-shot sigmoid baseline")
    ax.legend(fontsize=7)
    return figure.save(fig, path, dpi=120)


def plot_sigmoid_backtest(result, path: str | Path, title: str | None = None) -> Path:
    """Backtest of the sigmoid baseline: few-shot points used vs held out, the sigmoid fitted on the weak
    ones, the actual elbow (ReLU on the whole curve) and the predicted one."""
    bt = result.backtest
    loss, y = (np.asarray(a, dtype=float) for a in result.baseline_xy)
    own, units = _units(result)
    fig, ax = figure.plt().subplots(figsize=(7, 4.6))
    far = figure.far_out(loss)
    used = loss > bt.cutoff_loss
    ax.scatter(loss[used], own(y[used]), s=26, color="black", marker="s", label="few-shot (in fit)")
    ax.scatter(loss[~used], own(y[~used]), s=26, facecolors="none", edgecolors="black", marker="s",
               label="few-shot (held out)")
    grid = _loss_grid(loss, far)
    ax.plot(grid, units(bt.truth.predict(grid)), color="black", lw=1.2, label="ReLU fit to the full few-shot curve")
    ax.plot(grid, units(bt.sigmoid.predict(grid)), color="tab:orange", lw=1.2, ls=":",
            label="sigmoid fitted on the weak checkpoints")
    ax.axvline(bt.actual, color="black", lw=1.0, label=f"actual {bt.actual:.3f}")
    tag = f"(error {bt.error_nats:.3f})" if bt.identified else "(NOT identified)"
    ax.axvline(bt.predicted, color="tab:orange", lw=1.2, label=f"predicted {bt.predicted:.3f} {tag}")
    ax.axvline(bt.cutoff_loss, color="grey", lw=1.0, ls="-.", label=f"cutoff {bt.cutoff_loss:g}")
    _data_ylim(ax, own(y))
    figure.setup_x(ax, "pretrain_loss")
    figure.clip_x(ax, loss, own(y), far)
    ax.set_xlabel("pretraining loss (nats/token)  →  stronger models")
    ax.set_ylabel(result.metric)
    ax.set_title(title or f"{result.task}: sigmoid baseline backtest")
    ax.legend(fontsize=7, loc="upper left")
    return figure.save(fig, path, dpi=120)
