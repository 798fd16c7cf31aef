"""The demo end to end: world → ladder → study grid → law fitted before emergence → truth → report.

Everything a user's own ladder goes through is used as is: the checkpoints are HF folders, the
task a JSONL file, the reference a text file; `run_study` measures pretraining loss, evaluates
few-shot and finetunes into the SQLite results store; `backtest_table` fits the law on the
checkpoints weaker than the first one whose few-shot accuracy is above chance and scores its
prediction against the elbow of the full few-shot curve (the ground truth).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emergence_laws.errors import EmergenceError, NotIdentifiableError
from emergence_laws.micro.config import DemoConfig
from emergence_laws.micro.world import TASK_NAME, MicroWorld, write_task_jsonl

Log = Callable[[str], None]


def _binom_sf(k: int, n: int, p: float) -> float:
    """P[X >= k] for X ~ Binomial(n, p)."""
    from scipy.stats import binom

    return float(binom.sf(k - 1, n, p))


def prepare_world(cfg: DemoConfig, folder: Path) -> tuple[MicroWorld, Path, Path]:
    """Write the world's task (JSONL) and reference text into `folder`; return (world, task path, reference path)."""
    world = MicroWorld(cfg.world)
    folder.mkdir(parents=True, exist_ok=True)
    task_path = folder / f"{TASK_NAME}.jsonl"
    ref_path = folder / "reference.txt"
    if not task_path.exists():
        write_task_jsonl(world.task(), task_path)
    if not ref_path.exists():
        ref_path.write_text(world.reference_text(), encoding="utf-8")
    return world, task_path, ref_path


def build_ladder(cfg: DemoConfig, world: MicroWorld, folder: Path, *, progress: bool, log: Log) -> list[dict]:
    """Pretrain the ladder into `folder` (or reuse it when its ``ladder.json`` is there)."""
    from emergence_laws.micro.pretrain import pretrain_ladder

    manifest = folder / "ladder.json"
    if manifest.exists():
        log(f"ladder: reusing {folder}")
        return json.loads(manifest.read_text())["checkpoints"]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.ladder.steps, desc="pretraining ladder", unit="step", leave=False)

    def tick(step: int, total: int, loss: float) -> None:
        if bar is not None:
            bar.update(1)
            if step % 50 == 0:
                bar.set_postfix(loss=f"{loss:.3f}")

    tmp = folder.with_name(folder.name + ".partial")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    pretrain_ladder(world, cfg.ladder, tmp, progress=tick)
    if bar is not None:
        bar.close()
    meta = json.loads((tmp / "ladder.json").read_text())
    for rec in meta["checkpoints"]:  # paths inside the final folder
        rec["path"] = str(folder / Path(rec["path"]).name)
    (tmp / "ladder.json").write_text(json.dumps(meta, indent=1))
    tmp.rename(folder)
    log(f"ladder: {len(meta['checkpoints'])} checkpoints of {meta['params']:,} params in {meta['seconds']:.0f} s")
    return meta["checkpoints"]


def _study(cfg: DemoConfig, ladder: list[dict], task_path: Path, ref_path: Path, store: Path, *,
           n_train: tuple[int, ...] = (), method: str = "full", subsets: int = 1, fewshot: bool = True,
           workers: int = 1):
    from emergence_laws.config import (
        Checkpoint,
        EvalSettings,
        ExecutorSettings,
        FewshotGrid,
        FinetuneGrid,
        ReferenceText,
        StudyConfig,
        TaskSource,
    )

    lr = cfg.lr if method == "full" else cfg.lora_lr
    return StudyConfig(
        name=f"micro-{method if n_train else 'fewshot'}",
        ladder=tuple(Checkpoint(path=r["path"], name=r["name"], params=int(r["params"]), tokens=float(r["tokens"]),
                                family="micro") for r in ladder),
        task=TaskSource(path=str(task_path), name=TASK_NAME),
        reference=ReferenceText(path=str(ref_path), max_tokens=cfg.world.reference_tokens, seq_len=cfg.ladder.seq_len),
        fewshot=FewshotGrid(shots=(cfg.shots,) if fewshot else (), seeds=(0,)),
        finetune=FinetuneGrid(n_train=n_train, seeds=tuple(range(subsets)), method=method, lora_rank=cfg.lora_rank,
                              lr=lr, epochs=cfg.epochs, batch_size=cfg.batch_size, shots=0),
        eval=EvalSettings(batch_size=cfg.eval_batch_size, device="cpu", dtype="float32"),
        executor=ExecutorSettings(kind="local", workers=workers, threads_per_worker=max(1, 2 // workers)),
        store=str(store),
    ).validate()


def fewshot_curve(df, shots: int):
    """The few-shot accuracy rows (one per checkpoint), weakest first."""
    rows = df[(df["n_train"] == 0) & (df["metric"] == "accuracy") & (df["shots"] == shots)]
    return rows.sort_values("pretrain_loss", ascending=False)


def first_above_chance(curve, alpha: float) -> int | None:
    """Index (in `curve`'s order) of the first checkpoint whose accuracy is above chance at level `alpha`
    (one-sided binomial test on n_eval answers), or None."""
    for i, (_, r) in enumerate(curve.iterrows()):
        n = int(r["n_eval"])
        k = round(float(r["value"]) * n)
        if _binom_sf(k, n, float(r["chance"])) < alpha:
            return i
    return None


def run_demo(cfg: DemoConfig, out_dir: str | Path, cache_dir: str | Path, *, progress: bool = True,
             log: Log = print, report: bool = True) -> dict[str, Any]:
    """Run the demo; write results.csv, prediction.json, the plots and report.html into `out_dir`.

    The ladder is cached under ``cache_dir/ladder-<key>`` and the results store under
    ``cache_dir/<key>.db``, keyed by the config: a second run reuses both (finished jobs are skipped).
    Returns the prediction dict (also in prediction.json).
    """
    from emergence_laws.study import run_study

    t0 = time.perf_counter()
    out, cache = Path(out_dir), Path(cache_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    world, task_path, ref_path = prepare_world(cfg, cache / f"world-{cfg.ladder_key()}")
    ladder = build_ladder(cfg, world, cache / f"ladder-{cfg.ladder_key()}", progress=progress, log=log)
    store = cache / f"ladder-{cfg.ladder_key()}.db"  # job keys tell runs apart: one store per ladder
    t_ladder = time.perf_counter() - t0

    log("few-shot evaluation of every checkpoint")
    import pandas as pd

    df = run_study(_study(cfg, ladder, task_path, ref_path, store), progress=progress)
    frames = [df]
    curve = fewshot_curve(df, cfg.shots)
    first = first_above_chance(curve, cfg.alpha)
    if first is None:
        raise NotIdentifiableError("the few-shot curve never rises above chance on this ladder: no emergence to "
                                   "predict; train longer (ladder.steps) or raise the world's record_frac")
    if first < 3:
        raise NotIdentifiableError(f"only {first} checkpoint(s) sit at chance before few-shot accuracy rises: too "
                                   "few to fit the law on; save more early checkpoints")
    pre_names = list(curve["model"].iloc[:first])
    tuned = set(pre_names[-cfg.finetune_last:])
    pre = [r for r in ladder if r["name"] in tuned]
    cutoff = float(curve["pretrain_loss"].iloc[first])
    log(f"{len(pre_names)} checkpoints at chance before {curve['model'].iloc[first]} "
        f"(loss {cutoff:.4f} nats): finetuning the strongest {len(pre)} on n = {', '.join(map(str, cfg.n_train))}")
    frames.append(run_study(_study(cfg, pre, task_path, ref_path, store, n_train=cfg.n_train, subsets=cfg.subsets,
                                   fewshot=False, workers=2), progress=progress))
    if cfg.lora_n_train:
        log(f"LoRA (rank {cfg.lora_rank}) on n = {', '.join(map(str, cfg.lora_n_train))}")
        frames.append(run_study(_study(cfg, pre, task_path, ref_path, store, n_train=cfg.lora_n_train,
                                       method="lora", subsets=1, fewshot=False, workers=2), progress=progress))
    table = pd.concat(frames, ignore_index=True)
    table.to_csv(out / "results.csv", index=False)
    t_grid = time.perf_counter() - t0 - t_ladder

    pred = analyse(cfg, table, cutoff, out, log=log)
    pred["timings_s"] = {"ladder": round(t_ladder, 1), "grid": round(t_grid, 1),
                         "total": round(time.perf_counter() - t0, 1)}
    pred["config"] = cfg.to_dict()
    pred["cache"] = str(cache)
    (out / "prediction.json").write_text(json.dumps(pred, indent=1, default=_json_default))
    if report:
        write_report(pred, out)
    return pred


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


def _lora_shift(table, cfg: DemoConfig) -> dict[str, Any]:
    """Elbow of each finetuned curve (accuracy vs loss) per method and data amount: where finetuning moves emergence."""
    from emergence_laws.laws.elbow import fit_elbow

    rows = table[(table["metric"] == "accuracy") & (table["n_train"] > 0)]
    out: dict[str, Any] = {}
    for (method, n), g in rows.groupby(["method", "n_train"]):
        g = g.groupby("pretrain_loss", as_index=False).agg(value=("value", "mean"), n_eval=("n_eval", "sum"))
        if g["pretrain_loss"].nunique() < 3:
            continue
        fit = fit_elbow(g["pretrain_loss"].to_numpy(), g["value"].to_numpy(), chance=1.0 / cfg.world.n_choices,
                        n_eval=g["n_eval"].to_numpy())
        out.setdefault(str(method), {})[int(n)] = {
            "emerged": bool(fit.emerged), "elbow_nats": float(fit.E) if fit.emerged else None,
            "best_accuracy": float(g["value"].max()),
        }
    return out


def analyse(cfg: DemoConfig, table, cutoff: float, out: Path, *, log: Log = print) -> dict[str, Any]:
    """Fit on checkpoints with loss > `cutoff`, score against the full few-shot curve; write the plots."""
    from emergence_laws.analysis.fit import backtest_table
    from emergence_laws.report.plots_fit import plot_backtest, plot_law_fit, plot_shift

    res = backtest_table(table, TASK_NAME, cutoff, metric="accuracy", d0=cfg.d0, bootstrap=cfg.bootstrap, seed=0,
                         method="full")
    bt = dict(res)
    curve = fewshot_curve(table, cfg.shots)
    last_fit = curve[curve["pretrain_loss"] > cutoff].iloc[-1]
    first_up = curve[curve["pretrain_loss"] == cutoff].iloc[0]
    ahead = float(first_up["flops"]) / float(last_fit["flops"])
    truth_flops = _flops_at_loss(curve, bt["actual"])
    pred: dict[str, Any] = {
        "task": TASK_NAME,
        "metric": "accuracy",
        "predicted_emergence_point": bt["predicted"],
        "interval": bt["interval"],
        "true_emergence_point": bt["actual"],
        "error_nats": bt["error_nats"],
        "success": bt["success"],
        "compute_ahead": ahead,
        "compute_ahead_note": "pretraining FLOPs (6·N·D) of the first checkpoint whose few-shot accuracy is above "
                              "chance / FLOPs of the strongest checkpoint used in the fit",
        "compute_ahead_backtest": bt["compute_ahead"],
        "compute_ahead_at_truth": truth_flops / float(last_fit["flops"]) if truth_flops else None,
        "cutoff_loss": cutoff,
        "strongest_fit_loss": bt["strongest_fit_loss"],
        "n_checkpoints_fit": bt["n_checkpoints_fit"],
        "n_rows_fit": bt["n_rows_fit"],
        "n_checkpoints": int(curve["model"].nunique()),
        "fewshot_curve": [{"model": r["model"], "tokens": r.get("tokens"), "pretrain_loss": r["pretrain_loss"],
                           "accuracy": r["value"]} for _, r in curve.iterrows()],
        "sigmoid_baseline": bt.get("sigmoid_baseline"),
        "law": bt["law"],
        "warnings": bt["warnings"],
    }
    pred["ahead_sweep"] = _ahead_sweep(table, cfg, curve, cutoff)
    shifts = _lora_shift(table, cfg)
    pred["finetuned_elbows"] = shifts
    pred["lora_vs_full"] = _lora_summary(table, cfg)
    plot_backtest(res, out / "backtest.png", title=f"{TASK_NAME}: prediction from pre-emergence checkpoints")
    plot_law_fit(res, out / "law_fit.png", title=f"{TASK_NAME}: emergence law (full finetuning)")
    plot_shift(res, out / "emergence_shift.png", title=f"{TASK_NAME}: E(D) extrapolated to D0 = {cfg.d0:g} ({cfg.shots} shots)")
    _plot_methods(table, cfg, out / "lora_vs_full.png")
    err = bt["error_nats"]
    log(f"predicted few-shot emergence {bt['predicted']:.4f} nats"
        + (f" [{bt['interval'][0]:.4f}, {bt['interval'][1]:.4f}]" if bt["interval"] else "")
        + f"; true {bt['actual']:.4f}; error {err:.4f} nats" + f"; {ahead:.2f}x compute ahead")
    return pred


def _ahead_sweep(table, cfg: DemoConfig, curve, cutoff: float) -> list[dict[str, Any]]:
    """Backtests on fewer checkpoints: for each k in `cfg.ahead`, only those with at most 1/k of the FLOPs of
    the first above-chance checkpoint. Each entry: k, compute_ahead, n_checkpoints_fit, predicted, error_nats
    (or `not_identifiable` with the reason)."""
    from emergence_laws.analysis.fit import backtest_table

    first = curve[curve["pretrain_loss"] == cutoff]
    if first.empty:
        return []
    budget = float(first["flops"].iloc[0])
    out: list[dict[str, Any]] = []
    for k in cfg.ahead:
        kept = curve[curve["flops"] <= budget / k]
        if kept.empty:
            continue
        cut_k = float(kept["pretrain_loss"].min()) - 1e-9
        entry: dict[str, Any] = {"k": k, "n_checkpoints_fit": len(kept),
                                 "compute_ahead": budget / float(kept["flops"].max())}
        try:
            r = dict(backtest_table(table, TASK_NAME, cut_k, metric="accuracy", d0=cfg.d0, method="full"))
            entry.update(predicted=r["predicted"], actual=r["actual"], error_nats=r["error_nats"])
        except EmergenceError as exc:
            entry["not_identifiable"] = str(exc)
        out.append(entry)
    return out


def _flops_at_loss(curve, loss: float) -> float | None:
    """Pretraining FLOPs at `loss` by log-linear interpolation along the ladder (None outside it)."""
    import numpy as np

    c = curve.sort_values("flops")
    x, y = c["pretrain_loss"].to_numpy(float), np.log(c["flops"].to_numpy(float))
    for i in range(len(x) - 1):
        lo, hi = sorted((x[i], x[i + 1]))
        if lo <= loss <= hi and x[i] != x[i + 1]:
            t = (loss - x[i]) / (x[i + 1] - x[i])
            return float(math.exp(y[i] + t * (y[i + 1] - y[i])))
    return None


def _lora_summary(table, cfg: DemoConfig) -> dict[str, Any]:
    """Finetuned accuracy per checkpoint and amount, full vs LoRA, where both ran."""
    rows = table[(table["metric"] == "accuracy") & (table["n_train"].isin(cfg.lora_n_train))]
    if rows.empty or "lora" not in set(rows["method"].astype(str)):
        return {}
    g = rows.groupby(["method", "n_train", "model"], as_index=False).agg(value=("value", "mean"),
                                                                          loss=("pretrain_loss", "first"))
    out: dict[str, Any] = {"lora_rank": cfg.lora_rank, "lora_lr": cfg.lora_lr, "full_lr": cfg.lr, "by_amount": {}}
    for n, gn in g.groupby("n_train"):
        full = gn[gn["method"] == "full"].set_index("model")["value"]
        lora = gn[gn["method"] == "lora"].set_index("model")["value"]
        common = full.index.intersection(lora.index)
        if len(common):
            out["by_amount"][int(n)] = {"mean_accuracy_full": float(full[common].mean()),
                                        "mean_accuracy_lora": float(lora[common].mean()),
                                        "checkpoints": len(common)}
    try:
        from emergence_laws.analysis.fit import fit_table

        lf = fit_table(table, TASK_NAME, metric="accuracy", method="lora", d0=cfg.d0)
        out["lora_predicted_emergence_point"] = dict(lf)["emergence_point"]
    except EmergenceError as exc:
        out["lora_fit"] = f"not identifiable: {exc}"
    return out


def _plot_methods(table, cfg: DemoConfig, path: Path) -> None:
    """Accuracy vs pretraining loss: few-shot, full and LoRA finetuning at the LoRA amounts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.4))
    acc = table[table["metric"] == "accuracy"]
    fs = fewshot_curve(table, cfg.shots)
    ax.plot(fs["pretrain_loss"], fs["value"], "k-o", ms=4, label=f"few-shot ({cfg.shots} shots)")
    styles = {"full": "-", "lora": "--"}
    cmap = plt.get_cmap("viridis")
    amounts = sorted(set(cfg.lora_n_train))
    for i, n in enumerate(amounts):
        for method in ("full", "lora"):
            g = acc[(acc["n_train"] == n) & (acc["method"].astype(str) == method)]
            if g.empty:
                continue
            g = g.groupby("pretrain_loss", as_index=False)["value"].mean().sort_values("pretrain_loss")
            ax.plot(g["pretrain_loss"], g["value"], styles[method], marker="o", ms=3,
                    color=cmap(0.15 + 0.7 * i / max(1, len(amounts) - 1)), label=f"{method}, n={n}")
    ax.axhline(1.0 / cfg.world.n_choices, color="gray", lw=0.8, ls=":")
    ax.invert_xaxis()
    ax.set_xlabel("pretraining loss (nats/token; stronger →)")
    ax.set_ylabel("accuracy")
    ax.set_title("full finetuning vs LoRA")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(pred: dict[str, Any], out: Path) -> Path:
    """report.html: the prediction, its figures embedded."""
    from emergence_laws.report.html import render_report

    figs = {name: out / f"{stem}.png" for name, stem in (
        ("Few-shot curve, fit rows and prediction vs truth", "backtest"),
        ("Emergence law fitted on pre-emergence checkpoints", "law_fit"),
        ("Emergence shift E(D), extrapolated to the few-shot D0", "emergence_shift"),
        ("Full finetuning vs LoRA", "lora_vs_full"),
    ) if (out / f"{stem}.png").exists()}
    from emergence_laws import __version__

    provenance = {"data": str(out / "results.csv"), "config": pred.get("config"), "version": __version__,
                  "command": "emergence demo"}
    return render_report(pred, figs, out / "report.html", title="emergence demo: the micro world",
                         kind="demo", provenance=provenance)


__all__ = [
    "analyse",
    "build_ladder",
    "fewshot_curve",
    "first_above_chance",
    "prepare_world",
    "run_demo",
    "write_report",
]
