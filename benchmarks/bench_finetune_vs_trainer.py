"""Finetuning tokens/s and peak memory of `finetune()` vs `transformers.Trainer`, side by side.

Same checkpoint (a tiny Llama/GPT-NeoX built here, or `--model PATH`: a Hugging Face folder or a
`.gguf` file, dequantised once into the cache both tools read), same examples tokenised the same
way (`tokenize_examples` + `collate`: prompt masked, answer-only loss), same optimizer (AdamW,
same lr, linear warmup, clipping 1.0), same batch size and number of steps, same precision
(`--dtype`: float32, or bfloat16 autocast for both). Tokens = non-pad tokens of the batches
trained on; with `--n` = steps × batch size every tool trains on every example exactly once. Each
timing is the wall time of one whole finetuning call on a fresh copy of the loaded model, the copy
made outside the timing for both (ours: `finetune(..., in_place=True)`; Trainer: constructing
`Trainer` + `train()`). The tools run in turns, the order rotating each round, so a load on the
machine falls on all of them; the median of `--repeats` rounds after one warm-up round is
reported, as wall-clock tokens/s and as tokens per CPU-second of the process (`time.process_time`:
on a shared machine the wall clock also counts the time spent waiting for a core). `finetune()` groups batches by length by default, so the Trainer is run both with its
defaults and with `train_sampling_strategy="group_by_length"`.

Peak memory (`--memory`): each tool finetunes once in a fresh child process (model loaded, then
`--memory-steps` steps); reported is that process's peak resident set size (VmHWM) and its
size right after loading.

    python benchmarks/bench_finetune_vs_trainer.py [--methods full lora] [--steps 60] [--threads 1]
    python benchmarks/bench_finetune_vs_trainer.py --model SmolLM2-135M-Instruct.Q4_1.gguf \\
        --task task.json --steps 20 --batch-size 8 --memory --out results.json
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
from memory import peak_rss_mb, rss_mb

WORDS = ["the", "cat", "dog", "is", "an", "apple", "tree", "runs", "in", "on", "her", "red", "blue", "big", "small", "old", "new"]
TOOLS = ("trainer", "trainer_grouped", "emergence_laws")


def make_task(n: int):
    from emergence_laws.tasks import Example, TaskSpec

    rng = random.Random(0)

    def sent(lo, hi):
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))

    ex = tuple(Example(prompt="Question: " + sent(6, 20) + "\nAnswer:", target=sent(1, 4)) for _ in range(n))
    return TaskSpec("bench_gen", "generation", ex, ex[:1])


def load_task_pool(path: str | None, n: int):
    """The finetuning examples: the first `n` training examples of `--task`, or `n` synthetic ones."""
    if path is None:
        return make_task(n)
    from dataclasses import replace

    from emergence_laws.tasks import load_task

    task = load_task(path)
    pool = tuple(task.train) + tuple(task.test)
    return replace(task, train=pool[:n])


def load_checkpoint(args):
    """(model, tokenizer, source folder): `--model` (a .gguf is converted once) or a tiny model saved to a temp dir."""
    from emergence_laws.models import load_model

    if args.model:
        src = Path(args.model)
        if src.suffix == ".gguf":
            from emergence_laws.models.gguf import converted_gguf

            src = converted_gguf(src)
    else:
        from emergence_laws.testing.tiny_models import save_tiny_model

        src = save_tiny_model(Path(tempfile.mkdtemp(prefix="bench_ft_model_")), arch=args.arch, hidden=args.hidden,
                              layers=args.layers)
    model, tok = load_model(str(src), device="cpu", dtype="float32")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok, src


def config_for(args, method: str):
    from emergence_laws.finetuning import FinetuneConfig

    return FinetuneConfig(method=method, lora_rank=args.lora_rank, max_steps=args.steps, batch_size=args.batch_size,
                          warmup_frac=0.1, merge_lora=False, dtype=args.dtype)


def run_trainer(model, tok, task, cfg, out_dir: str, group_by_length: bool = False) -> dict:
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainingArguments

    from emergence_laws.finetuning import tokenize_examples
    from emergence_laws.finetuning.training_data import collate

    data = tokenize_examples(tok, task, task.train, append_eos=True)
    dataset = [{"input_ids": ids, "labels": labels} for ids, labels in data]
    pad_id = tok.pad_token_id
    tokens: list[int] = []  # per collated batch; the Trainer may collate one batch more than it trains on

    def collator(rows):
        batch = collate([(r["input_ids"], r["labels"]) for r in rows], pad_id)
        tokens.append(int(batch["attention_mask"].sum()))
        return batch

    t0, c0 = time.perf_counter(), time.process_time()
    torch.manual_seed(cfg.seed)
    work = model
    if cfg.method == "lora":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            work = get_peft_model(work, LoraConfig(r=cfg.lora_rank, lora_alpha=2 * cfg.lora_rank, lora_dropout=0.0,
                                                   task_type="CAUSAL_LM", target_modules=None))
    targs = TrainingArguments(
        output_dir=out_dir, per_device_train_batch_size=cfg.batch_size, max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate, warmup_steps=int(cfg.warmup_frac * cfg.max_steps), lr_scheduler_type="linear",
        weight_decay=0.0, max_grad_norm=1.0, logging_strategy="no", save_strategy="no",
        report_to=[], use_cpu=True, dataloader_num_workers=0, disable_tqdm=True, seed=cfg.seed,
        remove_unused_columns=False, bf16=cfg.dtype == "bfloat16",
        train_sampling_strategy="group_by_length" if group_by_length else "random",
    )
    trainer = Trainer(model=work, args=targs, train_dataset=dataset, data_collator=collator)
    result = trainer.train()
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
            "tokens": sum(tokens[: cfg.max_steps]), "mean_loss": float(result.training_loss)}


def run_ours(model, tok, task, cfg) -> dict:
    from emergence_laws.finetuning import finetune

    stats: dict = {}
    t0, c0 = time.perf_counter(), time.process_time()
    finetune(model, tok, task, task.train, cfg, stats=stats, in_place=True)
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0, "tokens": stats["tokens"],
            "mean_loss": sum(stats["losses"]) / len(stats["losses"])}


def run_tool(name: str, model, tok, task, cfg, tmp: str) -> dict:
    if name == "emergence_laws":
        return run_ours(model, tok, task, cfg)
    return run_trainer(model, tok, task, cfg, tmp, group_by_length=name == "trainer_grouped")


def child(args) -> int:
    """One finetuning run of one tool in this fresh process; prints its peak RSS (MB) as JSON."""
    from emergence_laws.threads import set_torch_threads

    set_torch_threads(args.threads or 1)
    model, tok, _ = load_checkpoint(args)
    task = load_task_pool(args.task, args.n)
    loaded = rss_mb()
    cfg = dataclasses.replace(config_for(args, args.child_method), max_steps=args.memory_steps)
    run_tool(args.child, model, tok, task, cfg, tempfile.mkdtemp(prefix="bench_ft_"))
    peak = peak_rss_mb()
    print(json.dumps({"tool": args.child, "method": args.child_method, "rss_after_load_mb": round(loaded, 1),
                      "peak_rss_mb": round(peak, 1)}))
    return 0


def memory(args, method: str) -> dict:
    out = {}
    for tool in TOOLS:
        cmd = [sys.executable, __file__, "--child", tool, "--child-method", method, "--n", str(args.n),
               "--batch-size", str(args.batch_size), "--memory-steps", str(args.memory_steps),
               "--lora-rank", str(args.lora_rank), "--dtype", args.dtype, "--threads", str(args.threads),
               "--arch", args.arch, "--hidden", str(args.hidden), "--layers", str(args.layers)]
        if args.model:
            cmd += ["--model", args.model]
        if args.task:
            cmd += ["--task", args.task]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise SystemExit(f"memory child {tool} failed:\n{res.stderr[-3000:]}")
        rec = json.loads(res.stdout.strip().splitlines()[-1])
        out[f"{tool}_peak_rss_mb"] = rec["peak_rss_mb"]
        out["rss_after_load_mb"] = rec["rss_after_load_mb"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="a Hugging Face folder or a .gguf file (default: a tiny model built here)")
    ap.add_argument("--task", help="a task file whose examples to finetune on (default: synthetic Q/A pairs)")
    ap.add_argument("--methods", nargs="+", default=["full", "lora"])
    ap.add_argument("--arch", default="llama", choices=["llama", "gpt_neox"])
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--n", type=int, default=256, help="finetuning examples")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lora-rank", type=int, default=1)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32",
                    help="both tools: float32, or bfloat16 autocast (Trainer: bf16=True)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads for both (default: $EMERGENCE_THREADS, else the CPUs this process may use)")
    ap.add_argument("--memory", action="store_true", help="also measure each tool's peak RSS in a child process")
    ap.add_argument("--memory-steps", type=int, default=5)
    ap.add_argument("--out", default="benchmarks/results/finetune_vs_trainer.json")
    ap.add_argument("--child", choices=TOOLS, help=argparse.SUPPRESS)
    ap.add_argument("--child-method", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from emergence_laws.threads import resolve_threads, set_torch_threads

    args.threads = resolve_threads(args.threads)
    if args.child:
        return child(args)
    set_torch_threads(args.threads)

    import transformers

    from emergence_laws.models import count_params

    model, tok, src = load_checkpoint(args)
    task = load_task_pool(args.task, args.n)
    tmp = tempfile.mkdtemp(prefix="bench_ft_")
    rows = []
    for method in args.methods:
        cfg = config_for(args, method)
        rec = {"model": str(args.model or f"tiny {args.arch}"), "params": count_params(model), "method": method,
               "lora_rank": args.lora_rank if method == "lora" else None, "steps": args.steps,
               "batch_size": args.batch_size, "n_examples": len(task.train), "dtype": args.dtype,
               "threads": args.threads}
        runs: dict[str, list[dict]] = {t: [] for t in TOOLS}
        for round_ in range(args.repeats + 1):  # round 0 warms up
            k = round_ % len(TOOLS)
            for tool in TOOLS[k:] + TOOLS[:k]:
                fresh = copy.deepcopy(model)  # outside the timing, for every tool
                r = run_tool(tool, fresh, tok, task, cfg, tmp)
                del fresh
                if round_:
                    runs[tool].append(r)
        for tool in TOOLS:
            sec = statistics.median(r["seconds"] for r in runs[tool])
            tokens = statistics.median(r["tokens"] for r in runs[tool])
            rec[f"{tool}_seconds"] = sec
            rec[f"{tool}_tokens"] = tokens
            rec[f"{tool}_tokens_per_s"] = tokens / sec
            rec[f"{tool}_tokens_per_cpu_s"] = tokens / statistics.median(r["cpu_seconds"] for r in runs[tool])
            rec[f"{tool}_mean_loss"] = runs[tool][0]["mean_loss"]  # mean training loss over the steps, nats/token
        rec["speedup"] = rec["emergence_laws_tokens_per_s"] / rec["trainer_tokens_per_s"]
        rec["speedup_vs_grouped"] = rec["emergence_laws_tokens_per_s"] / rec["trainer_grouped_tokens_per_s"]
        rec["cpu_speedup"] = rec["emergence_laws_tokens_per_cpu_s"] / rec["trainer_tokens_per_cpu_s"]
        rec["cpu_speedup_vs_grouped"] = (rec["emergence_laws_tokens_per_cpu_s"]
                                         / rec["trainer_grouped_tokens_per_cpu_s"])
        rec["paired_speedups"] = [
            (o["tokens"] / o["seconds"]) / (t["tokens"] / t["seconds"])
            for o, t in zip(runs["emergence_laws"], runs["trainer"])]
        if args.memory:
            rec.update(memory(args, method))
        rows.append(rec)
        print(json.dumps(rec), flush=True)

    print(f"\n{'method':>6} | {'Trainer tok/s':>13} | {'Trainer grouped':>15} | {'ours tok/s':>10} | "
          f"{'speedup':>7} | {'vs grouped':>10}" + (" | peak RSS MB (Trainer / grouped / ours)" if args.memory else ""))
    for r in rows:
        mem = ""
        if args.memory:
            mem = (f" | {r['trainer_peak_rss_mb']:.0f} / {r['trainer_grouped_peak_rss_mb']:.0f} / "
                   f"{r['emergence_laws_peak_rss_mb']:.0f}")
        print(f"{r['method']:>6} | {r['trainer_tokens_per_s']:>13.0f} | {r['trainer_grouped_tokens_per_s']:>15.0f} | "
              f"{r['emergence_laws_tokens_per_s']:>10.0f} | {r['speedup']:>6.2f}x | {r['speedup_vs_grouped']:>9.2f}x{mem}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "finetune_vs_trainer", "transformers": transformers.__version__,
                               "torch": torch.__version__, "load_avg_end": os.getloadavg(),
                               "source": str(src), "task": args.task or "synthetic", "rows": rows}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
