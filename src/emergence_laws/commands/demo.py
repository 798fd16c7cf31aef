"""`emergence demo`: the whole method on a generated micro world, with the true answer beside the prediction."""

from __future__ import annotations

import argparse
from pathlib import Path

from emergence_laws.commands.common import run_in_flags

DESCRIPTION = """\
Run the method end to end on this machine, no downloads: generate a world (a corpus of facts about
thousands of entities and key-value records followed by look-ups; the task is the look-up, whose
few-shot accuracy emerges late and abruptly), pretrain a ladder of tiny Llama checkpoints on it,
measure each checkpoint's pretraining loss, evaluate few-shot, finetune the early checkpoints on
growing amounts of task data (full and LoRA), fit the emergence law on the checkpoints with at most
1/4 of the compute where few-shot accuracy leaves chance (or, where every finetuned curve is still
at chance that far back, on the farthest fit set of the sweep where the law can be fitted; the output
says which), and compare its predicted few-shot emergence point with the truth (the elbow of the
full few-shot curve). Also: the error when the fit sees 1/1, 1/2, 1/4 and 1/8 of that compute beside
the few-shot sigmoid baseline, the shift per data amount, the paper's ablations and LoRA vs full.
Writes results.csv, prediction.json, PNG plots and a self-contained report.html into --out. The
ladder and finished jobs are cached by config (--cache), so a second run takes seconds; runs
sharing a cache take turns. Measured time on 2 CPU cores, cold cache: about 6 minutes alone and 10
beside another CPU-bound job (--quick: 1.5 and 2); the docs' results pages have the figures per seed
and machine."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("demo", help="the method end to end on a generated micro world (CPU, minutes)",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a smaller ladder and grid (for tests; it predicts less far "
                                                        "ahead and need not meet the quality bar)")
    p.add_argument("--out", default="emergence-demo", help="output folder (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="world and initialisation seed (default: %(default)s)")
    p.add_argument("--cache", default=None, help="cache folder for the ladder and the results store "
                                                 "(default: ~/.cache/emergence-laws/demo)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: $EMERGENCE_THREADS, else the CPUs this process may use)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars or progress lines")
    run_in_flags(p, run)
    return p


def run(args: argparse.Namespace) -> int:
    from emergence_laws.errors import InputError

    if args.seed < 0:
        raise InputError(f"--seed must be >= 0, got {args.seed}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder; give a folder path")
    from emergence_laws.commands.common import make_out_dir
    from emergence_laws.threads import resolve_threads

    make_out_dir(out)  # fail in one line now, not after minutes of training
    threads = resolve_threads(args.threads)
    from emergence_laws.micro.config import default_config, quick_config
    from emergence_laws.micro.pipeline import run_demo

    cfg = quick_config(args.seed) if args.quick else default_config(args.seed)
    from emergence_laws.micro.cache import default_cache_dir

    cache = Path(args.cache) if args.cache else default_cache_dir()

    def log(msg: str) -> None:
        print(f"emergence demo: {msg}", flush=True)

    pred = run_demo(cfg, out, cache, progress=not args.no_progress, log=log, threads=threads)
    ahead = pred.get("compute_ahead")
    iv = pred.get("interval")
    print(f"prediction: few-shot emergence at {pred['predicted_emergence_point']:.4f} nats/token"
          + (f" [{iv[0]:.4f}, {iv[1]:.4f}]" if iv else "")
          + f"; truth {pred['true_emergence_point']:.4f}; error {pred['error_nats']:.4f} nats"
          + (f"; predicted {ahead:.2f}x ahead in compute" if ahead else ""))
    print(f"wrote {out / 'report.html'}, prediction.json, results.csv and plots ({pred['timings_s']['total']:.0f} s)")
    return 0
