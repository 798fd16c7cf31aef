"""Examples/s and peak memory of `evaluate_task` vs lm-evaluation-harness, side by side.

Same checkpoint (a tiny Llama/GPT-NeoX saved to disk, or `--model PATH`: a Hugging Face folder or
a `.gguf` file, dequantised once into the cache both tools read), same local multiple-choice task
(synthetic, or `--task PATH`: any task file `load_task` reads, e.g. a BIG-bench task.json, written
out as JSONL + an lm-eval task YAML), same batch size, same shots, and the same few-shot
demonstrations (ours with the lm-eval sampler and lm-eval's seed 1234). Each timing covers task
loading + prompts + scoring + metrics from an already-loaded model (lm-eval: `simple_evaluate` on
a prebuilt `HFLM`; ours: `load_task` + `evaluate_task`). The tools run in turns, the order
alternating each round, so a load on the machine falls on both; the median of `--repeats` rounds
after one warm-up round is reported, as wall-clock examples/s and as examples per CPU-second of the
process (`time.process_time`: on a shared machine the wall clock also counts waiting for a core). Both report accuracy (per-example parity is a test:
`tests/test_lmeval_parity.py`).

Peak memory (`--memory`): each tool evaluates once in a fresh child process; reported is that
process's peak resident set size (VmHWM) and its size right after loading the model.

    python benchmarks/bench_eval_vs_lmeval.py [--n 200] [--shots 0 5] [--arch llama] [--threads 1]
    python benchmarks/bench_eval_vs_lmeval.py --model SmolLM2-135M-Instruct.Q4_1.gguf \\
        --task hindu_knowledge/task.json --n 100 --shots 0 3 --memory
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
from memory import peak_rss_mb, rss_mb

WORDS = ["the", "cat", "dog", "is", "an", "apple", "tree", "runs", "in", "on", "her", "red", "blue", "big", "small", "old", "new"]
TOOLS = ("lm_eval", "emergence_laws")
SEED = 1234  # lm-eval's default few-shot seed

YAML = """task: bench_mc
dataset_path: json
dataset_kwargs:
  data_files:
    train: {dir}/train.jsonl
    test: {dir}/test.jsonl
training_split: train
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: choices
doc_to_target: answer
target_delimiter: {target_delimiter}
fewshot_delimiter: {fewshot_delimiter}
metric_list:
  - metric: acc
  - metric: acc_norm
"""


def synthetic_rows(n: int) -> tuple[list[dict], list[dict]]:
    rng = random.Random(0)

    def sent(lo, hi):
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))

    def rows(count):
        return [{"question": "Question: " + sent(4, 16) + "\nAnswer:", "choices": [sent(1, 4) for _ in range(4)],
                 "answer": rng.randrange(4)} for _ in range(count)]

    return rows(100), rows(n)


def write_task(d: Path, args) -> tuple[Path, int]:
    """JSONL splits + an lm-eval YAML for the benchmark task; returns (yaml path, choices per question)."""
    delims = {"target_delimiter": " ", "fewshot_delimiter": "\n\n"}
    if args.task:
        from emergence_laws.tasks import load_task

        task = load_task(args.task)
        if task.kind != "multiple_choice":
            raise SystemExit(f"--task {args.task}: a multiple-choice task is needed")
        delims = {"target_delimiter": task.target_delimiter, "fewshot_delimiter": task.fewshot_delimiter}

        def rows(exs):
            return [{"question": e.prompt, "choices": list(e.choices), "answer": e.answer} for e in exs]

        train, test = rows(task.train), rows(task.test)[: args.n]
    else:
        train, test = synthetic_rows(args.n)
    args.n = len(test)
    for split, data in (("train", train), ("test", test)):
        with open(d / f"{split}.jsonl", "w") as fh:
            fh.writelines(json.dumps(row) + "\n" for row in data)
    y = d / "bench_mc.yaml"
    y.write_text(YAML.format(dir=d, **{k: json.dumps(v) for k, v in delims.items()}))
    return y, round(statistics.mean(len(r["choices"]) for r in test), 2)


def model_folder(args) -> Path:
    if args.model:
        src = Path(args.model)
        if src.suffix == ".gguf":
            from emergence_laws.models.gguf import converted_gguf

            return converted_gguf(src)
        return src
    from emergence_laws.testing.tiny_models import save_tiny_model

    return save_tiny_model(Path(tempfile.mkdtemp(prefix="bench_eval_model_")), arch=args.arch, hidden=args.hidden,
                           layers=args.layers)


def make_runners(model_dir: Path, yaml_path: Path, args):
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from emergence_laws.evaluation import evaluate_task
    from emergence_laws.models import load_model
    from emergence_laws.tasks import load_task

    model, tok = load_model(str(model_dir), device="cpu", dtype="float32")
    lm = HFLM(pretrained=str(model_dir), dtype="float32", device="cpu", batch_size=args.batch_size)
    tm = TaskManager(include_path=str(yaml_path.parent), include_defaults=False)

    def run_lmeval(shots):
        out = lm_eval.simple_evaluate(model=lm, tasks=["bench_mc"], task_manager=tm, num_fewshot=shots,
                                      batch_size=args.batch_size, verbosity="ERROR", fewshot_random_seed=SEED)
        return out["results"]["bench_mc"]["acc,none"]

    def run_ours(shots):
        task = load_task(yaml_path)
        return evaluate_task(model, tok, task, shots=shots, seed=SEED, sampler="lm-eval",
                             batch_size=args.batch_size).metrics["accuracy"]

    return {"lm_eval": run_lmeval, "emergence_laws": run_ours}, model


def child(args) -> int:
    """One evaluation by one tool in this fresh process; prints its peak RSS (MB) as JSON."""
    from emergence_laws.threads import set_torch_threads

    set_torch_threads(args.threads or 1)
    model_dir = Path(args.child_model)
    yaml_path = Path(args.child_yaml)
    if args.child == "lm_eval":  # each child imports only its own tool
        import lm_eval
        from lm_eval.models.huggingface import HFLM
        from lm_eval.tasks import TaskManager

        lm = HFLM(pretrained=str(model_dir), dtype="float32", device="cpu", batch_size=args.batch_size)
        loaded = rss_mb()
        tm = TaskManager(include_path=str(yaml_path.parent), include_defaults=False)
        lm_eval.simple_evaluate(model=lm, tasks=["bench_mc"], task_manager=tm, num_fewshot=args.child_shots,
                                batch_size=args.batch_size, verbosity="ERROR", fewshot_random_seed=SEED)
    else:
        from emergence_laws.evaluation import evaluate_task
        from emergence_laws.models import load_model
        from emergence_laws.tasks import load_task

        model, tok = load_model(str(model_dir), device="cpu", dtype="float32")
        loaded = rss_mb()
        evaluate_task(model, tok, load_task(yaml_path), shots=args.child_shots, seed=SEED, sampler="lm-eval",
                      batch_size=args.batch_size)
    peak = peak_rss_mb()
    print(json.dumps({"tool": args.child, "rss_after_load_mb": round(loaded, 1), "peak_rss_mb": round(peak, 1)}))
    return 0


def memory(args, model_dir: Path, yaml_path: Path, shots: int) -> dict:
    out = {}
    for tool in TOOLS:
        cmd = [sys.executable, __file__, "--child", tool, "--child-model", str(model_dir), "--child-yaml",
               str(yaml_path), "--child-shots", str(shots), "--batch-size", str(args.batch_size),
               "--threads", str(args.threads)]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise SystemExit(f"memory child {tool} failed:\n{res.stderr[-3000:]}")
        rec = json.loads(res.stdout.strip().splitlines()[-1])
        out[f"{tool}_peak_rss_mb"] = rec["peak_rss_mb"]
        out[f"{tool}_rss_after_load_mb"] = rec["rss_after_load_mb"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="a Hugging Face folder or a .gguf file (default: a tiny model built here)")
    ap.add_argument("--task", help="a multiple-choice task file (default: synthetic questions with 4 choices)")
    ap.add_argument("--n", type=int, default=200, help="test questions (at most the task's test set)")
    ap.add_argument("--shots", type=int, nargs="+", default=[0, 5])
    ap.add_argument("--arch", default="llama", choices=["llama", "gpt_neox"])
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads for both (default: $EMERGENCE_THREADS, else the CPUs this process may use)")
    ap.add_argument("--memory", action="store_true", help="also measure each tool's peak RSS in a child process")
    ap.add_argument("--out", default="benchmarks/results/eval_vs_lmeval.json")
    ap.add_argument("--child", choices=TOOLS, help=argparse.SUPPRESS)
    ap.add_argument("--child-model", help=argparse.SUPPRESS)
    ap.add_argument("--child-yaml", help=argparse.SUPPRESS)
    ap.add_argument("--child-shots", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    from emergence_laws.threads import resolve_threads, set_torch_threads

    args.threads = resolve_threads(args.threads)
    if args.child:
        return child(args)
    set_torch_threads(args.threads)

    import lm_eval

    from emergence_laws.models import count_params

    tmp = Path(tempfile.mkdtemp(prefix="bench_eval_"))
    model_dir = model_folder(args)
    yaml_path, choices = write_task(tmp, args)
    runners, model = make_runners(model_dir, yaml_path, args)
    rows = []
    for shots in args.shots:
        rec = {"model": str(args.model or f"tiny {args.arch}"), "task": str(args.task or "synthetic"),
               "params": count_params(model), "n_examples": args.n, "choices": choices, "shots": shots,
               "batch_size": args.batch_size, "threads": args.threads}
        times: dict[str, list[float]] = {t: [] for t in TOOLS}
        cpu: dict[str, list[float]] = {t: [] for t in TOOLS}
        acc: dict[str, float] = {}
        for round_ in range(args.repeats + 1):  # round 0 warms up (dataset caches, first-call overheads)
            order = TOOLS if round_ % 2 == 0 else TOOLS[::-1]
            for tool in order:
                t0, c0 = time.perf_counter(), time.process_time()
                acc[tool] = runners[tool](shots)
                if round_:
                    times[tool].append(time.perf_counter() - t0)
                    cpu[tool].append(time.process_time() - c0)
        for tool in TOOLS:
            sec = statistics.median(times[tool])
            rec[f"{tool}_seconds"] = sec
            rec[f"{tool}_examples_per_s"] = args.n / sec
            rec[f"{tool}_examples_per_cpu_s"] = args.n / statistics.median(cpu[tool])
            rec[f"{tool}_accuracy"] = acc[tool]
        rec["speedup"] = rec["emergence_laws_examples_per_s"] / rec["lm_eval_examples_per_s"]
        rec["cpu_speedup"] = rec["emergence_laws_examples_per_cpu_s"] / rec["lm_eval_examples_per_cpu_s"]
        rec["paired_speedups"] = [a / b for a, b in zip(times["lm_eval"], times["emergence_laws"])]
        if args.memory:
            rec.update(memory(args, model_dir, yaml_path, shots))
        rows.append(rec)
        print(json.dumps(rec), flush=True)

    print(f"\n{'shots':>5} | {'lm-eval ex/s':>12} | {'ours ex/s':>10} | {'speedup':>7} | acc (lm-eval / ours)"
          + (" | peak RSS MB (lm-eval / ours)" if args.memory else ""))
    for r in rows:
        mem = f" | {r['lm_eval_peak_rss_mb']:.0f} / {r['emergence_laws_peak_rss_mb']:.0f}" if args.memory else ""
        print(f"{r['shots']:>5} | {r['lm_eval_examples_per_s']:>12.2f} | {r['emergence_laws_examples_per_s']:>10.2f} | "
              f"{r['speedup']:>6.2f}x | {r['lm_eval_accuracy']:.3f} / {r['emergence_laws_accuracy']:.3f}{mem}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "eval_vs_lmeval", "lm_eval_version": getattr(lm_eval, "__version__", None),
                               "torch": torch.__version__, "load_avg_end": os.getloadavg(), "rows": rows}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
