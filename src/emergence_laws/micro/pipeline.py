"""The demo end to end: world → ladder → few-shot curve → finetuning grid → analysis → report.

Everything a user's own ladder goes through is used as is: the checkpoints are HF folders, the task a
JSONL file, the reference a text file; `run_study` measures pretraining loss, evaluates few-shot and
finetunes into the SQLite results store. `micro.analysis` then fits the law on checkpoints with at most
1/k of the compute of the first checkpoint whose few-shot accuracy leaves chance, and scores it against
the elbow of the whole few-shot curve (the ground truth, from checkpoints the fit never sees).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from emergence_laws.errors import NotIdentifiableError
from emergence_laws.micro.analysis import (
    Backtester,
    ablations,
    ahead_sweep,
    farthest_identifiable,
    fewshot_curve,
    first_above_chance,
    fit_set,
    is_monotone,
    law_forms,
    lora_vs_full,
    shift_by_amount,
)
from emergence_laws.micro.cache import atomic_write_text, exclusive_lock
from emergence_laws.micro.config import DemoConfig
from emergence_laws.micro.world import MicroWorld, write_task_jsonl

Log = Callable[[str], None]


def prepare_world(cfg: DemoConfig, folder: Path) -> tuple[MicroWorld, Path, Path]:
    """Write the world's task (JSONL) and reference text into `folder`; return (world, task path, reference path)."""
    world = MicroWorld(cfg.world)
    task_path = folder / f"{cfg.world.task}-{cfg.world.n_train}-{cfg.world.n_test}.jsonl"  # presets share a folder
    ref_path = folder / "reference.txt"
    if not task_path.exists():
        write_task_jsonl(world.task(), task_path)
    if not ref_path.exists():
        atomic_write_text(ref_path, world.reference_text())
    return world, task_path, ref_path


def build_ladder(cfg: DemoConfig, world: MicroWorld, folder: Path, *, log: Log) -> list[dict]:
    """Pretrain the ladder into `folder` (or reuse it when its ``ladder.json`` is there). The caller holds
    the cache lock; training goes to a ``.partial`` folder renamed into place when complete."""
    from emergence_laws.micro.pretrain import pretrain_ladder
    from emergence_laws.progress import progress

    manifest = folder / "ladder.json"
    if manifest.exists():
        log(f"ladder: reusing {folder}")
        return json.loads(manifest.read_text())["checkpoints"]
    tmp = folder.with_name(folder.name + ".partial")
    if tmp.exists():  # left by a run that was killed: we hold the lock, so nobody is writing it
        import shutil

        shutil.rmtree(tmp)
    log(f"pretraining a ladder of {cfg.ladder.checkpoints} checkpoints ({cfg.ladder.steps} steps, "
        f"{cfg.ladder.threads} thread{'s' if cfg.ladder.threads > 1 else ''})")
    with progress(total=cfg.ladder.steps, desc="pretraining", unit="step") as bar:
        pretrain_ladder(world, cfg.ladder, tmp, progress=lambda step, total, loss: bar.update(1, loss=round(loss, 3)))
    meta = json.loads((tmp / "ladder.json").read_text())
    for rec in meta["checkpoints"]:  # paths inside the final folder
        rec["path"] = str(folder / Path(rec["path"]).name)
    atomic_write_text(tmp / "ladder.json", json.dumps(meta, indent=1))
    tmp.rename(folder)
    log(f"ladder: {len(meta['checkpoints'])} checkpoints of {meta['params']:,} params in {meta['seconds']:.0f} s")
    return meta["checkpoints"]


def _study(cfg: DemoConfig, ladder: list[dict], task_path: Path, ref_path: Path, store: Path, *, threads: int,
           workers: int = 1, n_train: tuple[int, ...] = (), method: str = "full", subsets: int = 1,
           fewshot: bool = True):
    from emergence_laws.study.config import (
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
        task=TaskSource(path=str(task_path), name=cfg.world.task),
        reference=ReferenceText(path=str(ref_path), max_tokens=cfg.world.reference_tokens, seq_len=cfg.ladder.seq_len),
        fewshot=FewshotGrid(shots=(cfg.shots,) if fewshot else (), seeds=(0,)),
        finetune=FinetuneGrid(n_train=n_train, seeds=tuple(range(subsets)), method=method, lora_rank=cfg.lora_rank,
                              lr=lr, epochs=cfg.epochs, batch_size=cfg.batch_size, shots=cfg.finetuned_eval_shots,
                              train_shots=cfg.training_shots),
        eval=EvalSettings(batch_size=cfg.eval_batch_size, device="cpu", dtype="float32", keep_examples=False),
        executor=ExecutorSettings(kind="local", workers=workers, threads_per_worker=threads),
        store=str(store),
    ).validate()


def _method_name(cfg: DemoConfig, method: str) -> str:
    return f"LoRA (rank {cfg.lora_rank})" if method == "lora" else "full finetuning"


def finetune_set(curve, budget: float, cfg: DemoConfig) -> list[str]:
    """The checkpoints to finetune: compute in [budget/window, budget/k_min], every `finetune_every`-th
    counted back from the strongest, always including the strongest of the headline fit set."""
    window = curve[(curve["flops"] >= budget / cfg.window * (1 - 1e-9)) & (curve["flops"] <= budget / cfg.k_min)]
    names = list(window["model"])[::-1][:: cfg.finetune_every][::-1]
    head = fit_set(curve, budget, cfg.k)
    if head and head[-1] not in names:
        names.append(head[-1])
    order = {m: i for i, m in enumerate(curve["model"])}
    return sorted(set(names), key=order.__getitem__)


def run_demo(cfg: DemoConfig, out_dir: str | Path, cache_dir: str | Path, *, progress: bool = True,
             log: Log = print, report: bool = True, threads: int | None = None) -> dict[str, Any]:
    """Run the demo; write results.csv, prediction.json, the plots and report.html into `out_dir`.

    The ladder is cached under ``cache_dir/ladder-<key>`` and the results store under
    ``cache_dir/ladder-<key>.db``: a second run reuses both (finished jobs are skipped); two runs at
    once take turns on a lock (`micro.cache`). `threads`: torch threads (default: the CPUs this process
    may use, `emergence_laws.threads`). Returns the prediction dict (also in prediction.json).
    """
    import pandas as pd

    from emergence_laws.progress import show_progress
    from emergence_laws.study import run_study
    from emergence_laws.threads import resolve_threads

    t0 = time.perf_counter()
    out, cache = Path(out_dir), Path(cache_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    n_threads = resolve_threads(threads)
    workers = 2 if n_threads >= 2 else 1
    per_worker = max(1, n_threads // workers)
    cfg = replace(cfg, ladder=replace(cfg.ladder, threads=n_threads))
    key = cfg.ladder_key()
    store = cache / f"ladder-{key}.db"  # job keys tell runs apart: one store per ladder
    timings: dict[str, float] = {}
    with show_progress(progress), exclusive_lock(cache / f"ladder-{key}.lock",
                                                 on_wait=lambda: log("waiting for another demo run on this cache")):
        world, task_path, ref_path = prepare_world(cfg, cache / f"world-{key}")
        ladder = build_ladder(cfg, world, cache / f"ladder-{key}", log=log)
        timings["ladder"] = time.perf_counter() - t0

        log(f"few-shot ({cfg.shots}-shot) evaluation of every checkpoint")
        df = run_study(_study(cfg, ladder, task_path, ref_path, store, threads=per_worker, workers=workers),
                       progress=progress)
        curve = fewshot_curve(df, cfg.shots)
        first = first_above_chance(curve, cfg.alpha)
        if first is None:
            raise NotIdentifiableError("the few-shot curve never rises above chance on this ladder: no emergence to "
                                       "predict; train longer (ladder.steps) or raise the share of the task's documents (code_frac / record_frac)")
        budget = float(curve["flops"].iloc[first])
        head = fit_set(curve, budget, cfg.k)
        if len(head) < 3:
            raise NotIdentifiableError(f"only {len(head)} checkpoint(s) have at most 1/{cfg.k:g} of the compute of the "
                                       "first checkpoint above chance: too few to fit the law on; save earlier "
                                       "checkpoints")
        tuned = finetune_set(curve, budget, cfg)
        by_name = {r["name"]: r for r in ladder}
        log(f"few-shot accuracy leaves chance at {curve['model'].iloc[first]} (loss "
            f"{curve['pretrain_loss'].iloc[first]:.4f} nats); {_method_name(cfg, cfg.method)} of {len(tuned)} weaker "
            f"checkpoints on "
            f"n = {', '.join(map(str, cfg.n_train))} x {cfg.subsets} subsets, "
            + (f"{cfg.training_shots}-shot prompts" if cfg.training_shots else "prompt -> answer"))
        frames = [df, run_study(_study(cfg, [by_name[m] for m in tuned], task_path, ref_path, store,
                                       threads=per_worker, workers=workers, n_train=cfg.n_train, method=cfg.method,
                                       subsets=cfg.subsets, fewshot=False), progress=progress)]
        compare = [m for m in tuned if m in head][-cfg.compare_checkpoints:]  # the main method ran on them too
        if cfg.compare_n_train and compare:
            other = cfg.compare_method
            log(f"{_method_name(cfg, other)} on n = {', '.join(map(str, cfg.compare_n_train))} of {len(compare)} "
                "checkpoints, for the comparison")
            frames.append(run_study(_study(cfg, [by_name[m] for m in compare], task_path, ref_path, store,
                                           threads=per_worker, workers=workers, n_train=cfg.compare_n_train,
                                           method=other, fewshot=False), progress=progress))
        timings["grid"] = time.perf_counter() - t0 - timings["ladder"]
    table = pd.concat(frames, ignore_index=True)
    table.to_csv(out / "results.csv", index=False)

    pred = analyse(cfg, table, out, log=log)
    timings["total"] = time.perf_counter() - t0
    pred["timings_s"] = {k: round(v, 1) for k, v in timings.items()}
    pred["threads"] = n_threads
    pred["config"] = cfg.to_dict()
    pred["cache"] = str(cache)
    from emergence_laws.jsonutil import clean

    (out / "prediction.json").write_text(json.dumps(clean(pred), indent=1))
    if report:
        write_report(pred, out)
    return pred


def analyse(cfg: DemoConfig, table, out: Path, *, log: Log = print) -> dict[str, Any]:
    """The headline backtest (k = cfg.k), the ahead sweep, the shift per amount, LoRA vs full, the
    ablations and the law forms; writes the figures into `out`."""
    from emergence_laws.report.plots_demo import (
        plot_ablations,
        plot_ahead_sweep,
        plot_methods,
        plot_shift_by_amount,
    )
    from emergence_laws.report.plots_fit import plot_backtest, plot_law_fit, plot_shift

    bt = Backtester(table, cfg.world.task, cfg.shots, cfg.alpha, d0_range=cfg.d0_examples, bootstrap=cfg.bootstrap,
                    method=cfg.method)
    headline = farthest_identifiable(bt, cfg.k, cfg.ahead)
    if "not_identifiable" in headline:
        raise NotIdentifiableError(f"the law cannot be fitted on the checkpoints with 1/{cfg.k:g} of the emergence "
                                   f"compute, nor at any k of {list(cfg.ahead)}: {headline['not_identifiable']}")
    k = float(headline["k"])
    if k != cfg.k:
        log(f"at {cfg.k:g}x ahead the law cannot be fitted ({headline['fallback_reason']}); predicting from "
            f"1/{k:g} of the emergence compute instead")
    res = headline.pop("_result")
    r = res.to_json()
    chance = 1.0 / cfg.world.n_choices
    truth = float(r["actual"])
    curve = bt.curve
    shifts = shift_by_amount(table, curve, truth, chance, method=cfg.method)
    sweep = ahead_sweep(bt, cfg.ahead)
    pred: dict[str, Any] = {
        "task": cfg.world.task,
        "metric": "accuracy",
        "predicted_emergence_point": r["predicted"],
        "interval": r.get("interval"),
        "interval_level": r.get("interval_level"),
        "interval_includes": r.get("interval_includes"),
        "d0_range": r.get("d0_range"),
        "true_emergence_point": truth,
        "error_nats": r["error_nats"],
        "covered": headline["covered"],
        "success": r["success"],
        "k": k,
        "k_requested": cfg.k,
        "k_fallback_reason": headline.get("fallback_reason"),
        "compute_ahead": headline["compute_ahead"],
        "compute_ahead_note": "pretraining FLOPs (6·N·D) of the first checkpoint whose few-shot accuracy is above "
                              "chance / FLOPs of the strongest checkpoint used in the fit",
        "first_above_chance": bt.first_model,
        "cutoff_loss": r["cutoff_loss"],
        "strongest_fit_loss": r["strongest_fit_loss"],
        "n_checkpoints_fit": r["n_checkpoints_fit"],
        "n_rows_fit": r["n_rows_fit"],
        "n_checkpoints": int(curve["model"].nunique()),
        "fewshot_curve": [{"model": c["model"], "tokens": c.get("tokens"), "flops": c.get("flops"),
                           "pretrain_loss": c["pretrain_loss"], "accuracy": c["value"]} for _, c in curve.iterrows()],
        "sigmoid_baseline": r.get("sigmoid_baseline"),
        "law": r["law"],
        "warnings": r.get("warnings", []),
        "ahead_sweep": sweep,
        "shift_by_amount": shifts,
        "shift_monotone_in_log_d": is_monotone(shifts),
        "method": cfg.method,
        "lora_vs_full": {"lora_rank": cfg.lora_rank, "lora_lr": cfg.lora_lr, "full_lr": cfg.lr,
                         **lora_vs_full(table, curve, truth, chance, cfg.compare_n_train)},
        "ablations": ablations(bt, k, cfg.n_train, list(range(cfg.subsets))),
        "law_forms": law_forms(bt, k),
    }
    plot_backtest(res, out / "backtest.png", title=f"{cfg.world.task}: prediction {pred['compute_ahead']:.1f}x ahead")
    plot_law_fit(res, out / "law_fit.png", title=f"{cfg.world.task}: emergence law on the early checkpoints")
    plot_shift(res, out / "emergence_shift.png", title=f"{cfg.world.task}: E(D), extrapolated to the few-shot limit")
    plot_methods(table, cfg.shots, cfg.compare_n_train, chance, out / "lora_vs_full.png")
    plot_ahead_sweep(sweep, truth, out / "ahead_sweep.png")
    plot_shift_by_amount(shifts, out / "shift_by_amount.png")
    plot_ablations(pred["ablations"], out / "ablations.png")
    iv = pred["interval"]
    log(f"predicted few-shot emergence {pred['predicted_emergence_point']:.4f} nats"
        + (f" [{iv[0]:.4f}, {iv[1]:.4f}]" if iv else "")
        + f"; true {truth:.4f}; error {pred['error_nats']:.4f} nats; {pred['compute_ahead']:.2f}x compute ahead")
    from emergence_laws.laws.bootstrap import UNBOUNDED

    ridge, boot = (r["law"] or {}).get("ridge_interval"), (r["law"] or {}).get("bootstrap_interval")
    if ridge and boot and (ridge[0] < boot[0] or ridge[1] > boot[1]):
        log(f"the likelihood's ridge reaches past the bootstrap: every point in [{ridge[0]:.4f}, {ridge[1]:.4f}] nats fits "
            f"as well as the best (the bootstrap alone gave [{boot[0]:.4f}, {boot[1]:.4f}]), "
            "and the interval spans both"
            + ("; the data do not bound it: an end at the search's edge"
               if any(UNBOUNDED in w for w in r.get("interval_includes") or []) else ""))
    return pred


FIGURES: tuple[tuple[str, str], ...] = (
    ("Few-shot curve, the fit set and the prediction vs the truth", "backtest"),
    ("Emergence law fitted on the early checkpoints", "law_fit"),
    ("Emergence shift E(D), extrapolated to the few-shot limit D0", "emergence_shift"),
    ("How far ahead: error when the fit sees only 1/k of the emergence compute", "ahead_sweep"),
    ("Where each data amount moves emergence", "shift_by_amount"),
    ("The paper's ablations", "ablations"),
    ("Full finetuning vs LoRA", "lora_vs_full"),
)


def write_report(pred: dict[str, Any], out: Path) -> Path:
    """report.html: the prediction, its figures embedded."""
    from emergence_laws.version import __version__
    from emergence_laws.report.html import render_report

    figs = {name: out / f"{stem}.png" for name, stem in FIGURES if (out / f"{stem}.png").exists()}
    provenance = {"data": str(out / "results.csv"), "config": pred.get("config"), "version": __version__,
                  "command": "emergence demo"}
    return render_report(pred, figs, out / "report.html", title="emergence demo: the micro world",
                         kind="demo", provenance=provenance)


__all__ = ["analyse", "build_ladder", "finetune_set", "prepare_world", "run_demo", "write_report"]
