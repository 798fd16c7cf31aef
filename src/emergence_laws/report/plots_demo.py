"""Figures of the demo: how far ahead the law predicts, the shift per data amount, the ablations, LoRA vs full.

Each takes the JSON-ready entries `emergence_laws.micro.analysis` returns (nats/token on the world's
reference text) and writes one PNG through `report.figure`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emergence_laws.report.figure import grid, save, setup_x


def plot_ahead_sweep(sweep: Sequence[Mapping[str, Any]], truth: float, path: str | Path) -> Path:
    """Left: predicted emergence point (with its interval) and the few-shot sigmoid baseline per k, the
    truth as a line. Right: |error| per k for both; a baseline that cannot see the jump is marked."""
    fig, (ax, ax2) = grid(2, 2, (5.2, 3.9))
    ok = [e for e in sweep if "predicted" in e]
    ks = np.array([e["k"] for e in ok], dtype=float)
    if ok:
        pred = np.array([e["predicted"] for e in ok], dtype=float)
        lo = np.array([(e.get("interval") or [p, p])[0] for e, p in zip(ok, pred)], dtype=float)
        hi = np.array([(e.get("interval") or [p, p])[1] for e, p in zip(ok, pred)], dtype=float)
        ax.errorbar(ks, pred, yerr=[pred - lo, hi - pred], fmt="o-", color="C0", capsize=3,
                    label="emergence law (5-95%)")
        sig = [(e["k"], e["sigmoid_predicted"]) for e in ok if e.get("sigmoid_predicted") is not None]
        if sig:
            ax.plot(*zip(*sig), "s--", color="C3", label="few-shot sigmoid baseline")
        ax2.plot(ks, [e["error_nats"] for e in ok], "o-", color="C0", label="emergence law")
        serr = [(e["k"], e["sigmoid_error_nats"], bool(e.get("sigmoid_identified")))
                for e in ok if e.get("sigmoid_error_nats") is not None]
        if serr:
            ax2.plot([s[0] for s in serr], [s[1] for s in serr], "s--", color="C3", label="few-shot sigmoid")
            blind = [s for s in serr if not s[2]]
            if blind:
                ax2.scatter([s[0] for s in blind], [s[1] for s in blind], s=110, facecolors="none",
                            edgecolors="C3", label="sigmoid: not identified (flat curve)")
    for e in sweep:
        if "predicted" not in e:
            for a in (ax, ax2):
                a.axvline(e["k"], color="gray", lw=0.8, ls="--")
                a.annotate("not identifiable (see prediction.json)", (e["k"], 0.5), xycoords=("data", "axes fraction"),
                           rotation=90, fontsize=7, va="center", ha="right", color="gray")
    all_k = [float(e["k"]) for e in sweep]
    if all_k:
        for a in (ax, ax2):
            a.set_xlim(min(all_k) / 1.5, max(all_k) * 1.5)
    ax2.set_ylim(bottom=0)
    ax.axhline(truth, color="k", ls=":", lw=1, label=f"truth {truth:.3f}")
    ax2.axhline(0.1, color="gray", ls=":", lw=1, label="0.1-nat bar")
    for a in (ax, ax2):
        a.set_xscale("log", base=2)
        a.set_xlabel("k: the fit sees checkpoints with <= 1/k of the emergence compute")
        a.legend(fontsize=7)
    ax.set_ylabel("few-shot emergence point (nats)")
    ax2.set_ylabel("|error| (nats)")
    ax.set_title("prediction vs truth")
    ax2.set_title("error")
    return save(fig, path)


def plot_shift_by_amount(shifts: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Elbow of each finetuned curve minus the few-shot truth (nats, left axis) and as a compute ratio
    (right axis), against the data amount on a log axis."""
    fig, (ax,) = grid(1, 1, (6.0, 3.8))
    em = [s for s in shifts if s.get("emerged")]
    if em:
        n = [s["n_train"] for s in em]
        ax.plot(n, [s["shift_nats"] for s in em], "o-", color="C0", label="shift (nats)")
        ax.set_xscale("log", base=2)
        comp = [(s["n_train"], s["shift_compute"]) for s in em if s.get("shift_compute")]
        if comp:
            ax_r = ax.twinx()
            ax_r.plot(*zip(*comp), "s:", color="C2", label="compute ratio")
            ax_r.set_ylabel("x less compute than few-shot (dotted)", color="C2")
    flat = [s["n_train"] for s in shifts if not s.get("emerged")]
    if flat:
        ax.scatter(flat, np.zeros(len(flat)), marker="x", color="gray", label="at chance on these checkpoints")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("finetuning examples D")
    ax.set_ylabel("elbow - few-shot truth (nats)")
    ax.set_title("finetuning moves emergence to weaker checkpoints")
    ax.legend(fontsize=7, loc="upper left")
    return save(fig, path)


def plot_ablations(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """|error| of each design (bar), its interval width (whisker), and which designs cannot be fitted."""
    fig, (ax,) = grid(1, 1, (7.0, 3.6))
    names = [textwrap.fill(r["design"], 30) for r in rows]
    y = np.arange(len(rows))[::-1]
    errs = [r.get("error_nats") for r in rows]
    ax.barh(y, [e if e is not None else 0 for e in errs], color=["C0"] + ["C1"] * (len(rows) - 1))
    for yi, r, e in zip(y, rows, errs):
        if e is None:
            ax.text(0.005, yi, "not identifiable", va="center", fontsize=7, color="gray")
        else:
            iv = r.get("interval")
            width = f", 90% width {iv[1] - iv[0]:.2f}" if iv else ""
            ax.text(e, yi, f" {e:.3f}{width}", va="center", fontsize=7)
    ax.set_yticks(y, names, fontsize=7)
    ax.axvline(0.1, color="gray", ls=":", lw=1)
    ax.set_xlabel("|prediction - truth| (nats)")
    ax.set_title("ablations of the study design")
    return save(fig, path)


def plot_methods(table, shots: int, amounts: Sequence[int], chance: float, path: str | Path) -> Path:
    """Accuracy vs pretraining loss: few-shot, full and LoRA finetuning at `amounts`."""
    fig, (ax,) = grid(1, 1, (7.0, 4.4))
    acc = table[table["metric"] == "accuracy"]
    fs = acc[(acc["n_train"] == 0) & (acc["shots"] == shots)].sort_values("pretrain_loss")
    ax.plot(fs["pretrain_loss"], fs["value"], "k-o", ms=3, label=f"few-shot ({shots} shots)")
    styles = {"full": "-", "lora": "--"}
    from emergence_laws.report.figure import plt

    cmap = plt().get_cmap("viridis")
    amounts = sorted(set(amounts))
    for i, n in enumerate(amounts):
        for method in ("full", "lora"):
            g = acc[(acc["n_train"] == n) & (acc["method"].astype(str) == method)]
            if g.empty:
                continue
            g = g.groupby("pretrain_loss", as_index=False)["value"].mean().sort_values("pretrain_loss")
            ax.plot(g["pretrain_loss"], g["value"], styles[method], marker="o", ms=3,
                    color=cmap(0.15 + 0.7 * i / max(1, len(amounts) - 1)), label=f"{method}, n={n}")
    ax.axhline(chance, color="gray", lw=0.8, ls=":")
    setup_x(ax, "pretrain_loss")
    ax.set_xlabel("pretraining loss (nats/token; stronger ->)")
    ax.set_ylabel("accuracy")
    ax.set_title("full finetuning vs LoRA")
    ax.legend(fontsize=7)
    return save(fig, path)


__all__ = ["plot_ablations", "plot_ahead_sweep", "plot_methods", "plot_shift_by_amount"]
