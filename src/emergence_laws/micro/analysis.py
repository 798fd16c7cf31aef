"""What the demo measures in its results table: the prediction k× ahead, the sweep over k, the shift per
data amount, LoRA vs full finetuning, the paper's ablations and the two law forms.

Pure table work (pandas + the laws; no torch). Every backtest fits only checkpoints with at most 1/k of
the pretraining FLOPs of the *first* checkpoint whose few-shot accuracy is above chance, and scores
the prediction against the truth: the elbow of the whole few-shot curve, post-emergence checkpoints
included (`emergence_laws.analysis.table_fit.backtest_table`). Losses in nats/token on the world's
reference text; FLOPs = 6·N·D.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from emergence_laws.errors import EmergenceError

Log = Callable[[str], None]


def fewshot_curve(df, shots: int):
    """The few-shot accuracy rows (one per checkpoint), weakest first."""
    rows = df[(df["n_train"] == 0) & (df["metric"] == "accuracy") & (df["shots"] == shots)]
    return rows.sort_values("flops").reset_index(drop=True)


def _binom_sf(k: int, n: int, p: float) -> float:
    """P[X >= k] for X ~ Binomial(n, p)."""
    from scipy.stats import binom

    return float(binom.sf(k - 1, n, p))


def first_above_chance(curve, alpha: float) -> int | None:
    """Index (in `curve`'s order) of the first checkpoint whose accuracy is above chance at level `alpha`
    (one-sided binomial test on n_eval answers), or None."""
    for i, (_, r) in enumerate(curve.iterrows()):
        n = int(r["n_eval"])
        k = round(float(r["value"]) * n)
        if _binom_sf(k, n, float(r["chance"])) < alpha:
            return i
    return None


def fit_set(curve, budget_flops: float, k: float) -> list[str]:
    """Checkpoints (model ids, weakest first) with at most 1/k of `budget_flops` and strictly less than it
    (at k = 1: every checkpoint before the first above chance)."""
    f = curve["flops"]
    return list(curve.loc[(f <= budget_flops / k * (1 + 1e-9)) & (f < budget_flops * (1 - 1e-9)), "model"])


def flops_at_loss(curve, loss: float) -> float | None:
    """Pretraining FLOPs at `loss` (nats) by log-linear interpolation along the ladder (None outside it)."""
    c = curve.sort_values("flops")
    x, y = c["pretrain_loss"].to_numpy(float), np.log(c["flops"].to_numpy(float))
    for i in range(len(x) - 1):
        lo, hi = sorted((x[i], x[i + 1]))
        if lo <= loss <= hi and x[i] != x[i + 1]:
            t = (loss - x[i]) / (x[i + 1] - x[i])
            return float(math.exp(y[i] + t * (y[i + 1] - y[i])))
    return None


class Backtester:
    """Backtests of one results table at fit sets of 1/k of the emergence compute (see module docstring)."""

    def __init__(self, table, task: str, shots: int, alpha: float, *, d0_range: tuple[float, float],
                 bootstrap: int, seed: int = 0, method: str = "full") -> None:
        self.table, self.task, self.shots, self.method = table, task, shots, method
        self.d0_range, self.bootstrap, self.seed = d0_range, bootstrap, seed
        self.curve = fewshot_curve(table, shots)
        first = first_above_chance(self.curve, alpha)
        if first is None:
            raise EmergenceError("the few-shot curve never rises above chance: nothing to predict")
        self.first = first
        self.budget = float(self.curve["flops"].iloc[first])
        self.first_model = str(self.curve["model"].iloc[first])

    def rows_for(self, models: Sequence[str], *, amounts: Sequence[int] | None = None,
                 seeds: Sequence[int] | None = None, method: str | None = None):
        """The table restricted to `models`' few-shot rows and their finetuned rows of `method` (default:
        the backtester's) (optionally only the given data amounts / subset seeds)."""
        t = self.table
        method = method or self.method
        keep = t["model"].isin(models) & ((t["n_train"] == 0) | (t["method"].astype(str) == method))
        if amounts is not None:
            keep &= (t["n_train"] == 0) | t["n_train"].isin(amounts)
        if seeds is not None:
            keep &= (t["n_train"] == 0) | t["seed"].isin(seeds)
        return t[keep]

    def run(self, k: float, *, rows=None, form: str = "logpower", bootstrap: int | None = None,
            method: str | None = None) -> dict[str, Any]:
        """Backtest on the checkpoints with at most 1/k of the emergence compute; `rows` (default: all of
        theirs) may drop amounts, seeds or checkpoints (the ablations). Returns a JSON-ready dict, or
        one with `not_identifiable` (the reason) when the law cannot be fitted on those rows."""
        from emergence_laws.analysis.table_fit import backtest_table

        method = method or self.method
        kept = fit_set(self.curve, self.budget, k)
        entry: dict[str, Any] = {"k": k, "n_checkpoints": len(kept)}
        if not kept:
            entry["not_identifiable"] = "no checkpoint has that little compute"
            return entry
        sub = self.rows_for(kept, method=method) if rows is None else rows
        fit_models = set(sub.loc[sub["n_train"] > 0, "model"]) | set(sub.loc[sub["n_train"] == 0, "model"])
        strongest = self.curve[self.curve["model"].isin(fit_models)]
        if strongest.empty:
            entry["not_identifiable"] = "no rows"
            return entry
        entry["compute_ahead"] = self.budget / float(strongest["flops"].max())
        cutoff = float(strongest["pretrain_loss"].min()) - 1e-9
        # the truth and the sigmoid baseline need the whole few-shot curve: add the other checkpoints' few-shot rows
        fs_all = self.table[(self.table["n_train"] == 0) & ~self.table["model"].isin(fit_models)]
        import pandas as pd

        frame = pd.concat([sub, fs_all], ignore_index=True)
        try:
            res = backtest_table(frame, self.task, cutoff, metric="accuracy", form=form, method=method,
                                 d0_range=self.d0_range,
                                 bootstrap=self.bootstrap if bootstrap is None else bootstrap, seed=self.seed)
        except EmergenceError as exc:
            entry["not_identifiable"] = str(exc)
            return entry
        r = res.to_json()
        sig = r.get("sigmoid_baseline") or {}
        entry.update(
            predicted=r["predicted"], interval=r.get("interval"), actual=r["actual"], error_nats=r["error_nats"],
            covered=bool(r.get("interval") and r["interval"][0] <= r["actual"] <= r["interval"][1]),
            n_checkpoints_fit=r["n_checkpoints_fit"], n_rows_fit=r["n_rows_fit"],
            strongest_fit_loss=r["strongest_fit_loss"],
            sigmoid_predicted=sig.get("emergence_point"), sigmoid_identified=sig.get("identified"),
            sigmoid_error_nats=sig.get("error_nats"), warnings=r.get("warnings", []),
        )
        entry["_result"] = res
        return entry


def farthest_identifiable(bt: Backtester, k: float, ks: Sequence[float]) -> dict[str, Any]:
    """The backtest at `k`, or, when the law cannot be fitted that far ahead, at the largest k of `ks`
    (below `k`) where it can; the entry keeps `k_requested` and, if it fell back, why."""
    first = bt.run(k)
    if "not_identifiable" not in first:
        return {**first, "k_requested": k}
    for kk in sorted((x for x in ks if x < k), reverse=True):
        e = bt.run(kk)
        if "not_identifiable" not in e:
            return {**e, "k_requested": k, "fallback_reason": first["not_identifiable"]}
    return {**first, "k_requested": k}


def ahead_sweep(bt: Backtester, ks: Sequence[float]) -> list[dict[str, Any]]:
    """One backtest (law and few-shot sigmoid baseline) per k in `ks`."""
    out = []
    for k in ks:
        e = bt.run(k)
        e.pop("_result", None)
        out.append(e)
    return out


def shift_by_amount(table, curve, truth: float, chance: float, *, method: str = "full") -> list[dict[str, Any]]:
    """Where each data amount moves emergence: the ReLU elbow of the finetuned accuracy curve (mean over
    subsets) per n_train, its distance from the few-shot truth in nats, and the ratio of compute
    between the truth and the elbow (how many times less compute the finetuned curve needs)."""
    from emergence_laws.laws.elbow import fit_elbow

    rows = table[(table["metric"] == "accuracy") & (table["n_train"] > 0) & (table["method"].astype(str) == method)]
    truth_flops = flops_at_loss(curve, truth)
    out = []
    for n, g in rows.groupby("n_train"):
        g = g.groupby("pretrain_loss", as_index=False).agg(value=("value", "mean"), n_eval=("n_eval", "sum"))
        if g["pretrain_loss"].nunique() < 3:
            continue
        fit = fit_elbow(g["pretrain_loss"].to_numpy(), g["value"].to_numpy(), chance=chance,
                        n_eval=g["n_eval"].to_numpy())
        entry: dict[str, Any] = {"n_train": int(n), "emerged": bool(fit.emerged), "best_accuracy": float(g["value"].max())}
        if fit.emerged:
            e_flops = flops_at_loss(curve, float(fit.E))
            entry.update(elbow_nats=float(fit.E), shift_nats=float(fit.E) - truth,
                         shift_compute=(truth_flops / e_flops) if (truth_flops and e_flops) else None)
        out.append(entry)
    return out


def shift_text(entry: dict[str, Any] | None, *, compute_digits: int = 2) -> str:
    """One `shift_by_amount` entry as a table cell: ``+0.061, 1.42x`` (nats, compute ratio), ``at chance``
    (never left chance), or ``-`` (not run)."""
    if not entry:
        return "-"
    if not entry.get("emerged"):
        return "at chance"
    comp = f", {entry['shift_compute']:.{compute_digits}f}x" if entry.get("shift_compute") else ""
    return f"{entry['shift_nats']:+.3f}{comp}"


def is_monotone(shifts: Sequence[dict[str, Any]], tol: float = 0.0) -> bool:
    """Whether the elbows rise with the data amount (every emerged amount at least `tol` nats below the next)."""
    e = [s["elbow_nats"] for s in sorted(shifts, key=lambda s: s["n_train"]) if s.get("emerged")]
    return len(e) >= 2 and all(b >= a - tol for a, b in itertools.pairwise(e))


def lora_vs_full(table, curve, truth: float, chance: float, amounts: Sequence[int]) -> dict[str, Any]:
    """Finetuned accuracy and emergence shift, full vs LoRA, on the checkpoints and amounts where both ran."""
    acc = table[(table["metric"] == "accuracy") & (table["n_train"].isin(amounts))]
    out: dict[str, Any] = {"by_amount": {}}
    methods = acc["method"].astype(str)
    both = set(acc.loc[methods == "lora", "model"]) & set(acc.loc[methods == "full", "model"])
    if not both:
        return out
    g = acc[acc["model"].isin(both)].groupby(["method", "n_train", "model"], as_index=False).agg(value=("value", "mean"))
    for n, gn in g.groupby("n_train"):
        full = gn[gn["method"] == "full"].set_index("model")["value"]
        lora = gn[gn["method"] == "lora"].set_index("model")["value"]
        common = full.index.intersection(lora.index)
        if len(common):
            out["by_amount"][int(n)] = {"mean_accuracy_full": float(full[common].mean()),
                                        "mean_accuracy_lora": float(lora[common].mean()),
                                        "checkpoints": len(common)}
    same = table[table["model"].isin(both) & table["n_train"].isin(amounts)]
    out["shift_full"] = shift_by_amount(same, curve, truth, chance, method="full")
    out["shift_lora"] = shift_by_amount(same, curve, truth, chance, method="lora")
    return out


def ablations(bt: Backtester, k: float, amounts: Sequence[int], seeds: Sequence[int]) -> list[dict[str, Any]]:
    """The paper's ablations at k: the full design, then without the smallest data amounts (the lower
    half), without the late checkpoints (the strongest half of the finetuned checkpoints of the fit set,
    dropped altogether), and with one random subset per amount."""
    kept = fit_set(bt.curve, bt.budget, k)
    t = bt.table
    tuned = [m for m in kept if ((t["model"] == m) & (t["n_train"] > 0)).any()]
    late = tuned[len(tuned) - len(tuned) // 2:] if len(tuned) > 1 else []
    amounts = sorted(amounts)
    designs: list[tuple[str, Any]] = [
        ("full design", bt.rows_for(kept)),
        (f"without the smallest amounts (n < {amounts[len(amounts) // 2]})",
         bt.rows_for(kept, amounts=amounts[len(amounts) // 2:])),
        (f"without the late checkpoints (the strongest {len(late)} of {len(tuned)} finetuned)",
         bt.rows_for([m for m in kept if m not in late])),
        ("one subset per amount", bt.rows_for(kept, seeds=[min(seeds)])),
    ]
    out = []
    for name, rows in designs:
        e = bt.run(k, rows=rows)
        e.pop("_result", None)
        out.append({"design": name, **e})
    return out


def law_forms(bt: Backtester, k: float) -> list[dict[str, Any]]:
    """The log power law (the paper's) against the plain power law, on the same fit set."""
    out = []
    for form in ("logpower", "power"):
        e = bt.run(k, form=form)
        e.pop("_result", None)
        out.append({"form": form, **e})
    return out


__all__ = [
    "Backtester",
    "ablations",
    "ahead_sweep",
    "farthest_identifiable",
    "fewshot_curve",
    "first_above_chance",
    "fit_set",
    "flops_at_loss",
    "is_monotone",
    "law_forms",
    "lora_vs_full",
    "shift_by_amount",
    "shift_text",
]
