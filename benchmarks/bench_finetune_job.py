"""Examples per second of one finetuning job on the micro model, before and after the cheap-job changes.

    python benchmarks/bench_finetune_job.py                   # current code: the default and --full recipes
    python benchmarks/bench_finetune_job.py --before 1106fe4  # + the code of that commit, same checkpoint

A job is what the demo's grid runs per (checkpoint, amount, subset): build the training prompts, train
(full finetuning, AdamW, batch 16, lr 3e-3, `--epochs` passes), evaluate the 400 test questions. Recipes:

- ``4-shot``: the default demo's format (4 demonstrations in each training prompt, evaluated 4-shot);
- ``prompt->answer``: `emergence demo --full`'s format (no demonstrations, evaluated zero-shot).

Every job runs in a fresh subprocess with 1 torch thread on the same checkpoint (the demo's model shape,
142,656 parameters, pretrained here for `--steps` steps). `--before REV` also runs the 4-shot job with
the package's source from that commit (a temporary git worktree), so that the speed-up of the code
and of the format are measured apart, in one run. Prints one JSON line per job and a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from emergence_laws.provenance import cpu_model, git_commit

REPO = Path(__file__).resolve().parents[1]

JOB = textwrap.dedent("""
    import json, random, sys, time
    import torch
    torch.set_num_threads(1)
    from emergence_laws.evaluation import evaluate_task
    from emergence_laws.finetuning import FinetuneConfig, finetune
    from emergence_laws.models import load_model
    from emergence_laws.tasks import load_task
    ckpt, task_path, n, shots, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    task = load_task(task_path)
    examples = random.Random("subset:0").sample(list(task.train), n)
    model, tok = load_model(ckpt, device="cpu", dtype="float32")
    t0 = time.perf_counter()
    kw = dict(method="full", lr=3e-3, batch_size=16, seed=0, max_steps=max(1, round(epochs * n / 16)))
    try:
        cfg = FinetuneConfig(**kw, train_shots=shots)
    except TypeError:  # the code before the settings were declared once called it `shots`
        cfg = FinetuneConfig(**kw, shots=shots)
    stats = {}
    model = finetune(model, tok, task, examples, cfg, stats=stats, in_place=True, progress=False)
    t1 = time.perf_counter()
    res = evaluate_task(model, tok, task, shots=shots, seed=0, batch_size=64, progress=False)
    t2 = time.perf_counter()
    print(json.dumps({"train_s": t1 - t0, "eval_s": t2 - t1, "steps": stats["steps"], "tokens": stats["tokens"],
                      "accuracy": float(res.metrics["accuracy"])}))
""")


def make_checkpoint(folder: Path, steps: int, n_train: int) -> tuple[Path, Path]:
    """A checkpoint of the demo's model shape pretrained for `steps` steps, and the demo's task with a
    pool of `n_train` training examples, written as JSONL."""
    from dataclasses import replace

    from emergence_laws.micro.config import default_config
    from emergence_laws.micro.pretrain import pretrain_ladder
    from emergence_laws.micro.world import MicroWorld, write_task_jsonl

    cfg = default_config(0)
    world = MicroWorld(replace(cfg.world, n_train=n_train))
    ladder = replace(cfg.ladder, steps=steps, checkpoints=1, first_checkpoint=0, spacing="linear", threads=1)
    records = pretrain_ladder(world, ladder, folder / "ladder")
    task = write_task_jsonl(world.task(), folder / "task.jsonl")
    return Path(records[-1]["path"]), task


def run_job(src: Path, ckpt: Path, task: Path, n: int, shots: int, epochs: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "EMERGENCE_THREADS": "1",
           "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", JOB, str(ckpt), str(task), str(n), str(shots), str(epochs)],
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench_finetune_job: a job failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=8192, help="finetuning examples per job (default: %(default)s)")
    p.add_argument("--epochs", type=float, default=1.0, help="passes over them (default: %(default)s)")
    p.add_argument("--steps", type=int, default=300, help="pretraining steps of the checkpoint (default: %(default)s)")
    p.add_argument("--before", default=None, metavar="REV", help="also run the 4-shot job with this commit's code")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    args = p.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-ft-job-"))
    worktree = None
    try:
        ckpt, task = make_checkpoint(scratch, args.steps, max(args.n, 2048))
        plan = [("now", REPO / "src", "4-shot", 4), ("now", REPO / "src", "prompt->answer", 0)]
        if args.before:
            worktree = scratch / "before"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), args.before],
                           check=True, capture_output=True)
            plan.insert(0, (args.before, worktree / "src", "4-shot", 4))
        rows = []
        for code, src, recipe, shots in plan:
            r = run_job(src, ckpt, task, args.n, shots, args.epochs)
            seen = args.n * args.epochs
            row = {"code": code, "recipe": recipe, "n": args.n, "epochs": args.epochs, **{k: round(v, 3) if
                   isinstance(v, float) else v for k, v in r.items()},
                   "examples_per_s": round(seen / (r["train_s"] + r["eval_s"]), 1),
                   "train_examples_per_s": round(seen / r["train_s"], 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
        base = rows[0]["examples_per_s"]
        summary = {"speedup_vs_first": {f"{r['code']} {r['recipe']}": round(r["examples_per_s"] / base, 2) for r in rows},
                   "cpu": cpu_model(), "load": [round(x, 2) for x in os.getloadavg()], "commit": git_commit(REPO)}
        print(json.dumps(summary), flush=True)
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps({"summary": summary, "jobs": rows}, indent=1))
    finally:
        if worktree is not None:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
