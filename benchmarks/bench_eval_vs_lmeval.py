"""Examples/s of `evaluate_task` vs lm-evaluation-harness, side by side in one process.

Same checkpoint (a tiny Llama or GPT-NeoX saved to disk, loaded once by each tool), same local
multiple-choice task (JSONL + lm-eval task YAML), same batch size, same shots. Each timing covers
task loading + prompt building + scoring + metrics from an already-loaded model (lm-eval:
`simple_evaluate` on a prebuilt `HFLM`; ours: `load_task` + `evaluate_task`); median of `--repeats`
runs after one warm-up. Also checks that both tools give the same accuracy.

    python benchmarks/bench_eval_vs_lmeval.py [--n 200] [--shots 0 5] [--arch llama] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: `tests.tiny_models`

import torch

from tests.tiny_models import save_tiny_model

WORDS = ["the", "cat", "dog", "is", "an", "apple", "tree", "runs", "in", "on", "her", "red", "blue", "big", "small", "old", "new"]

YAML = """task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    train: {dir}/train.jsonl
    test: {dir}/test.jsonl
training_split: train
test_split: test
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: choices
doc_to_target: answer
metric_list:
  - metric: acc
  - metric: acc_norm
"""


def write_task(d: Path, n: int) -> Path:
    rng = random.Random(0)

    def sent(lo, hi):
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))

    for split, count in (("train", 100), ("test", n)):
        with open(d / f"{split}.jsonl", "w") as fh:
            for _ in range(count):
                row = {"question": sent(4, 16), "choices": [sent(1, 4) for _ in range(4)], "answer": rng.randrange(4)}
                fh.write(json.dumps(row) + "\n")
    y = d / "bench_mc.yaml"
    y.write_text(YAML.format(name="bench_mc", dir=d))
    return y


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="test questions (4 choices each)")
    ap.add_argument("--shots", type=int, nargs="+", default=[0, 5])
    ap.add_argument("--arch", default="llama", choices=["llama", "gpt_neox"])
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads for both (default: $EMERGENCE_THREADS, else the CPUs this process may use)")
    ap.add_argument("--out", default="benchmarks/results/eval_vs_lmeval.json")
    args = ap.parse_args()
    from emergence_laws.threads import resolve_threads, set_torch_threads

    args.threads = resolve_threads(args.threads)
    set_torch_threads(args.threads)

    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from emergence_laws.evaluation import evaluate_task
    from emergence_laws.models import count_params, load_model
    from emergence_laws.tasks import load_task

    tmp = Path(tempfile.mkdtemp(prefix="bench_eval_"))
    model_dir = save_tiny_model(tmp / "model", arch=args.arch, hidden=args.hidden, layers=args.layers)
    yaml_path = write_task(tmp, args.n)
    model, tok = load_model(str(model_dir), device="cpu", dtype="float32")
    lm = HFLM(pretrained=str(model_dir), dtype="float32", device="cpu", batch_size=args.batch_size)
    tm = TaskManager(include_path=str(tmp), include_defaults=False)

    def run_lmeval(shots):
        out = lm_eval.simple_evaluate(model=lm, tasks=["bench_mc"], task_manager=tm, num_fewshot=shots,
                                      batch_size=args.batch_size, verbosity="ERROR")
        return out["results"]["bench_mc"]["acc,none"]

    def run_ours(shots):
        task = load_task(yaml_path)
        return evaluate_task(model, tok, task, shots=shots, batch_size=args.batch_size).metrics["accuracy"]

    rows = []
    for shots in args.shots:
        rec = {"arch": args.arch, "params": count_params(model), "n_examples": args.n, "choices": 4,
               "shots": shots, "batch_size": args.batch_size, "threads": args.threads}
        for name, fn in (("lm_eval", run_lmeval), ("emergence_laws", run_ours)):
            acc = fn(shots)  # warm-up (dataset caches, first-call overheads)
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                fn(shots)
                times.append(time.perf_counter() - t0)
            sec = statistics.median(times)
            rec[f"{name}_seconds"] = sec
            rec[f"{name}_examples_per_s"] = args.n / sec
            rec[f"{name}_accuracy"] = acc
        rec["speedup"] = rec["emergence_laws_examples_per_s"] / rec["lm_eval_examples_per_s"]
        rows.append(rec)
        print(json.dumps(rec), flush=True)

    print(f"\n{'shots':>5} | {'lm-eval ex/s':>12} | {'ours ex/s':>10} | {'speedup':>7} | acc (lm-eval / ours)")
    for r in rows:
        print(f"{r['shots']:>5} | {r['lm_eval_examples_per_s']:>12.1f} | {r['emergence_laws_examples_per_s']:>10.1f} | "
              f"{r['speedup']:>6.2f}x | {r['lm_eval_accuracy']:.3f} / {r['emergence_laws_accuracy']:.3f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "eval_vs_lmeval", "lm_eval_version": lm_eval.__version__ if hasattr(lm_eval, "__version__") else None,
                               "torch": torch.__version__, "rows": rows}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
