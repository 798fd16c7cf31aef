"""Finetuning tokens/s of `finetune()` vs `transformers.Trainer`, side by side in one process.

Same tiny checkpoint, same examples tokenised the same way (`tokenize_examples` + `collate`:
prompt masked, answer-only loss), same optimizer (AdamW, same lr, linear warmup, clipping 1.0),
same batch size and number of steps, fp32 on CPU. Tokens = non-pad tokens processed. Each
timing is the wall time of one whole finetuning call from a loaded model (ours: `finetune()`,
including its model copy; Trainer: constructing `Trainer` + `train()` on a fresh copy); median
of `--repeats` runs after one warm-up. `finetune()` groups batches by length by default, so the
Trainer is run both with its defaults and with `train_sampling_strategy="group_by_length"`.

    python benchmarks/bench_finetune_vs_trainer.py [--methods full lora] [--steps 60] [--out results.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: `tests.tiny_models`

import torch

from tests.tiny_models import build_tiny_model

WORDS = ["the", "cat", "dog", "is", "an", "apple", "tree", "runs", "in", "on", "her", "red", "blue", "big", "small", "old", "new"]


def make_task(n: int):
    from emergence_laws.tasks import Example, TaskSpec

    rng = random.Random(0)

    def sent(lo, hi):
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))

    ex = tuple(Example(prompt="Question: " + sent(6, 20) + "\nAnswer:", target=sent(1, 4)) for _ in range(n))
    return TaskSpec("bench_gen", "generation", ex, ex[:1])


def run_trainer(model, tok, task, cfg, out_dir: str, group_by_length: bool = False) -> tuple[float, int]:
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainingArguments

    from emergence_laws.finetuning import tokenize_examples
    from emergence_laws.finetuning.data import collate

    data = tokenize_examples(tok, task, task.train, append_eos=True)
    dataset = [{"input_ids": ids, "labels": labels} for ids, labels in data]
    pad_id = tok.pad_token_id
    tokens = [0]

    def collator(rows):
        batch = collate([(r["input_ids"], r["labels"]) for r in rows], pad_id)
        tokens[0] += int(batch["attention_mask"].sum())
        return batch

    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    work = copy.deepcopy(model)
    if cfg.method == "lora":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            work = get_peft_model(work, LoraConfig(r=cfg.lora_rank, lora_alpha=2 * cfg.lora_rank, lora_dropout=0.0,
                                                   task_type="CAUSAL_LM", target_modules=None))
    targs = TrainingArguments(
        output_dir=out_dir, per_device_train_batch_size=cfg.batch_size, max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate, warmup_steps=int(cfg.warmup_frac * cfg.max_steps), lr_scheduler_type="linear",
        weight_decay=0.0, max_grad_norm=1.0, logging_strategy="no", save_strategy="no", report_to=[],
        use_cpu=True, dataloader_num_workers=0, disable_tqdm=True, seed=cfg.seed, remove_unused_columns=False,
        train_sampling_strategy="group_by_length" if group_by_length else "random",
    )
    trainer = Trainer(model=work, args=targs, train_dataset=dataset, data_collator=collator)
    trainer.train()
    return time.perf_counter() - t0, tokens[0]


def run_ours(model, tok, task, cfg) -> tuple[float, int]:
    from emergence_laws.finetuning import finetune

    stats: dict = {}
    t0 = time.perf_counter()
    finetune(model, tok, task, task.train, cfg, stats=stats)
    return time.perf_counter() - t0, stats["tokens"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=["full", "lora"])
    ap.add_argument("--arch", default="llama", choices=["llama", "gpt_neox"])
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--n", type=int, default=256, help="finetuning examples")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads for both (default: $EMERGENCE_THREADS, else the CPUs this process may use)")
    ap.add_argument("--out", default="benchmarks/results/finetune_vs_trainer.json")
    args = ap.parse_args()
    from emergence_laws.threads import resolve_threads, set_torch_threads

    args.threads = resolve_threads(args.threads)
    set_torch_threads(args.threads)

    import transformers

    from emergence_laws.finetuning import FinetuneConfig
    from emergence_laws.models import count_params

    model, tok = build_tiny_model(args.arch, hidden=args.hidden, layers=args.layers)
    tok.pad_token = tok.eos_token
    task = make_task(args.n)
    tmp = tempfile.mkdtemp(prefix="bench_ft_")
    rows = []
    for method in args.methods:
        cfg = FinetuneConfig(method=method, lora_rank=1, max_steps=args.steps, batch_size=args.batch_size,
                             warmup_frac=0.1, merge_lora=False)
        rec = {"arch": args.arch, "params": count_params(model), "method": method, "steps": args.steps,
               "batch_size": args.batch_size, "threads": args.threads}
        for name, fn in (("trainer", lambda cfg=cfg: run_trainer(model, tok, task, cfg, tmp)),
                         ("trainer_grouped", lambda cfg=cfg: run_trainer(model, tok, task, cfg, tmp, group_by_length=True)),
                         ("emergence_laws", lambda cfg=cfg: run_ours(model, tok, task, cfg))):
            fn()  # warm-up
            runs = [fn() for _ in range(args.repeats)]
            sec = statistics.median(r[0] for r in runs)
            rec[f"{name}_seconds"] = sec
            rec[f"{name}_tokens"] = runs[0][1]
            rec[f"{name}_tokens_per_s"] = runs[0][1] / sec
        rec["speedup"] = rec["emergence_laws_tokens_per_s"] / rec["trainer_tokens_per_s"]
        rec["speedup_vs_grouped"] = rec["emergence_laws_tokens_per_s"] / rec["trainer_grouped_tokens_per_s"]
        rows.append(rec)
        print(json.dumps(rec), flush=True)

    print(f"\n{'method':>6} | {'Trainer tok/s':>13} | {'Trainer grouped':>15} | {'ours tok/s':>10} | "
          f"{'speedup':>7} | {'vs grouped':>10}")
    for r in rows:
        print(f"{r['method']:>6} | {r['trainer_tokens_per_s']:>13.0f} | {r['trainer_grouped_tokens_per_s']:>15.0f} | "
              f"{r['emergence_laws_tokens_per_s']:>10.0f} | {r['speedup']:>6.2f}x | {r['speedup_vs_grouped']:>9.2f}x")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "finetune_vs_trainer", "transformers": transformers.__version__,
                               "torch": torch.__version__, "rows": rows}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
