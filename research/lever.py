"""Measure the finetuning lever before building on it (issue 24).

For one seed of the demo's world: pretrain (or reuse) the default ladder, measure each checkpoint's
pretraining loss and few-shot accuracy, find the first checkpoint above chance (the emergence
compute), then finetune the checkpoints with 1/8, 1/4 and 1/2 of that compute on growing amounts of
task data and report the finetuned test accuracy per amount, in the training format(s) asked for.

    python research/lever.py --seed 0 --cache /tmp/lever/cache --out research/results/lever_s0.json
    python research/lever.py --render research/results/lever_*.json      # the tables of docs/lever.md

Finetuning: full, AdamW, `--epochs` passes, batch `min(--max-batch, max(16, n // 32))` (at least ~32
steps per epoch), learning rate `--lr` x sqrt(batch / 16). The finetuning pool is the world's task with
a larger train split (`--pool` examples; its first 2,048 are the demo's). Each finetuned model is
evaluated on the test split both zero-shot and with `--shots` demonstrations (drawn from the demo's
2,048-example train split, as the demo's few-shot rows are).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

from emergence_laws.provenance import cpu_model, git_commit


def batch_for(n: int, max_batch: int) -> int:
    """Batch size for n examples: at least ~32 steps per epoch, between 16 and `max_batch`."""
    return int(min(max_batch, max(16, n // 32)))


def curve(cfg, ladder: list[dict], task, ref_path: Path, shots: int) -> list[dict]:
    """Per checkpoint: pretraining loss (nats/token on the reference text), FLOPs (6 N D), few-shot accuracy."""
    from emergence_laws.evaluation import evaluate_task
    from emergence_laws.models import load_model, reference_loss

    rows = []
    for rec in ladder:
        model, tok = load_model(rec["path"], device="cpu", dtype="float32")
        ref = reference_loss(model, tok, ref_path, seq_len=cfg.ladder.seq_len, max_tokens=cfg.world.reference_tokens,
                             batch_size=64)
        res = evaluate_task(model, tok, task, shots=shots, seed=0, batch_size=64, progress=False)
        rows.append({"model": rec["name"], "step": rec["step"], "flops": 6.0 * rec["params"] * rec["tokens"],
                     "pretrain_loss": float(ref.nats_per_token), "accuracy": float(res.metrics["accuracy"]),
                     "n_eval": int(res.n_eval)})
        print(f"  {rec['name']}: loss {rows[-1]['pretrain_loss']:.4f}, {shots}-shot {rows[-1]['accuracy']:.3f}",
              flush=True)
    return rows


def first_above(rows: list[dict], chance: float, alpha: float) -> int | None:
    from scipy.stats import binom

    for i, r in enumerate(rows):
        k = round(r["accuracy"] * r["n_eval"])
        if binom.sf(k - 1, r["n_eval"], chance) < alpha:
            return i
    return None


def recipe_name(run: dict) -> str:
    fmt = "prompt -> answer" if run["format"] == 0 else f"{run['format']}-shot prompts"
    return f"{fmt}, batch <= {run['max_batch']}, lr {run['lr']:g} at batch 16, {run['epochs']:g} epochs"


def render(paths: list[str]) -> str:
    """Markdown tables of finetuned test accuracy (evaluated in the training format; mean over subsets,
    subsets in brackets) per seed and recipe, runs of several files merged: rows = checkpoints, columns =
    amounts."""
    import collections

    groups: dict = collections.defaultdict(list)
    meta: dict = {}
    for path in paths:
        st = json.loads(Path(path).read_text())
        meta.setdefault(st["seed"], (st, []))[1].append(Path(path).name)
        for r in st.get("runs", []):
            groups[(st["seed"], recipe_name(r))].append(r)
    out = []
    for (seed, name), runs in sorted(groups.items()):
        st, files = meta[seed]
        amounts = sorted({r["n"] for r in runs})
        models = sorted({(r["fraction"], r["model"]) for r in runs})
        out += [f"**seed {seed}, {name}** (few-shot leaves chance at {st['first_above_chance']}, "
                f"{st['emergence_loss']:.4f} nats)", "",
                "| checkpoint (share of emergence compute) | few-shot | " + " | ".join(f"n = {n:,}" for n in amounts)
                + " |", "|---|---|" + "---|" * len(amounts)]
        for frac, model in models:
            cells = []
            for n in amounts:
                key = "acc_0shot" if runs[0]["format"] == 0 else f"acc_{runs[0]['format']}shot"
                accs = [r.get(key, r.get("acc_4shot")) for r in runs if r["model"] == model and r["n"] == n]
                if not accs:
                    cells.append("")
                elif len(accs) == 1:
                    cells.append(f"{accs[0]:.3f}")
                else:
                    cells.append(f"{sum(accs) / len(accs):.3f} ({', '.join(f'{a:.2f}' for a in accs)})")
            few = next(r["fewshot"] for r in runs if r["model"] == model)
            out.append(f"| {model} ({frac:.3f}) | {few:.3f} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--render":
        print(render(sys.argv[2:]))
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--fractions", type=float, nargs="+", default=[0.125, 0.25, 0.5])
    p.add_argument("--amounts", type=int, nargs="+", default=[512, 2048, 8192, 32768])
    p.add_argument("--formats", type=int, nargs="+", default=[0], help="demonstrations per training prompt")
    p.add_argument("--subsets", type=int, default=1)
    p.add_argument("--epochs", type=float, default=4.0)
    p.add_argument("--lr", type=float, default=3e-3, help="learning rate at batch 16")
    p.add_argument("--max-batch", type=int, default=256)
    p.add_argument("--pool", type=int, default=65536)
    p.add_argument("--shots", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--ladder-threads", type=int, default=1, help="the ladder's thread count (part of its cache key)")
    args = p.parse_args(argv)

    import torch

    from emergence_laws.evaluation import evaluate_task
    from emergence_laws.finetuning import FinetuneConfig, finetune
    from emergence_laws.micro.config import default_config
    from emergence_laws.micro.pipeline import build_ladder, prepare_world
    from emergence_laws.micro.world import MicroWorld
    from emergence_laws.models import load_model
    from emergence_laws.study.jobs import training_subset

    torch.set_num_threads(args.threads)
    cfg = default_config(args.seed)
    cfg = replace(cfg, ladder=replace(cfg.ladder, threads=args.ladder_threads))
    key = cfg.ladder_key()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    world, _task_path, ref_path = prepare_world(cfg, cache / f"world-{key}")
    ladder = build_ladder(cfg, world, cache / f"ladder-{key}", log=print)
    task = world.task()
    pool_task = MicroWorld(replace(cfg.world, n_train=args.pool)).task()
    assert pool_task.test == task.test and pool_task.train[: len(task.train)] == task.train
    chance = 1.0 / cfg.world.n_choices

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state = json.loads(out.read_text()) if out.exists() else {}
    if state.get("curve") is None:
        print(f"seed {args.seed}: few-shot curve of {len(ladder)} checkpoints", flush=True)
        state["curve"] = curve(cfg, ladder, task, ref_path, args.shots)
    rows = state["curve"]
    first = first_above(rows, chance, cfg.alpha)
    if first is None:
        print("the few-shot curve never leaves chance", file=sys.stderr)
        return 3
    budget = rows[first]["flops"]
    state.update(seed=args.seed, first_above_chance=rows[first]["model"], emergence_flops=budget,
                 emergence_loss=rows[first]["pretrain_loss"], commit=git_commit(), cpu=cpu_model(), torch=torch.__version__,
                 threads=args.threads, command=" ".join(["python", "research/lever.py", *(argv or sys.argv[1:])]))
    runs = state.setdefault("runs", [])
    done = {(r["model"], r["format"], r["n"], r["subset"], r["epochs"], r["lr"], r["max_batch"]) for r in runs}
    by_name = {r["name"]: r for r in ladder}
    picks = []
    for f in args.fractions:
        below = [r for r in rows if r["flops"] <= f * budget * (1 + 1e-9)]
        if below:
            picks.append((f, below[-1]))
    print(f"emergence at {rows[first]['model']} (loss {rows[first]['pretrain_loss']:.4f}); finetuning "
          + ", ".join(f"{r['model']} ({r['flops'] / budget:.3f} of its compute)" for _, r in picks), flush=True)
    for f, r in picks:
        for fmt in args.formats:
            for n in args.amounts:
                for subset in range(args.subsets):
                    ident = (r["model"], fmt, n, subset, args.epochs, args.lr, args.max_batch)
                    if ident in done:
                        continue
                    bs = batch_for(n, args.max_batch)
                    lr = args.lr * math.sqrt(bs / 16)
                    steps = max(1, round(args.epochs * n / bs))
                    model, tok = load_model(by_name[r["model"]]["path"], device="cpu", dtype="float32")
                    examples = training_subset(pool_task, n, subset)
                    fc = FinetuneConfig(method="full", lr=lr, max_steps=steps, batch_size=bs, seed=subset, train_shots=fmt)
                    stats: dict = {}
                    t0 = time.perf_counter()
                    model = finetune(model, tok, pool_task, examples, fc, stats=stats, in_place=True, progress=False)
                    train_s = time.perf_counter() - t0
                    acc = {}
                    for shots in sorted({0, args.shots}):
                        res = evaluate_task(model, tok, task, shots=shots, seed=subset, batch_size=64, progress=False)
                        acc[shots] = float(res.metrics["accuracy"])
                    run = {"model": r["model"], "fraction": r["flops"] / budget, "target_fraction": f,
                           "pretrain_loss": r["pretrain_loss"], "fewshot": r["accuracy"], "format": fmt, "n": n,
                           "subset": subset, "epochs": args.epochs, "lr": args.lr, "max_batch": args.max_batch,
                           "batch": bs, "lr_used": lr, "steps": stats.get("steps"), "tokens": stats.get("tokens"),
                           "train_s": round(train_s, 1), "final_loss": stats.get("final_loss"),
                           "acc_0shot": acc[0], f"acc_{args.shots}shot": acc[args.shots]}
                    runs.append(run)
                    print(f"  {r['model']} ({run['fraction']:.3f}) fmt {fmt} n {n} s{subset}: bs {bs} lr {lr:.2g} "
                          f"{run['steps']} steps {train_s:.0f}s -> 0-shot {acc[0]:.3f}, {args.shots}-shot "
                          f"{acc[args.shots]:.3f} (few-shot before {r['accuracy']:.3f})", flush=True)
                    out.write_text(json.dumps(state, indent=1))
    out.write_text(json.dumps(state, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
