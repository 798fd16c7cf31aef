"""`emergence demo`: the whole method on a generated micro world, with the true answer beside the prediction."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DESCRIPTION = """\
Run the method end to end on this machine, no downloads: generate a world (corpus, reference text, a
key-value recall task whose few-shot accuracy emerges abruptly), pretrain a ladder of tiny Llama
checkpoints on it, measure each checkpoint's pretraining loss, evaluate few-shot, finetune the
checkpoints still at chance on growing amounts of task data (full and LoRA), fit the emergence law
on those pre-emergence checkpoints only, and compare its predicted few-shot emergence point with the
truth (the elbow of the full few-shot curve). Writes results.csv, prediction.json, PNG plots and a
self-contained report.html into --out. The ladder and finished jobs are cached by config
(--cache), so a second run is fast."""


def _default_cache() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "emergence-laws" / "demo"


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("demo", help="the method end to end on a generated micro world (CPU, ~10 min)",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a smaller ladder and grid (about 2 minutes; for tests)")
    p.add_argument("--out", default="emergence-demo", help="output folder (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="world and initialisation seed (default: %(default)s)")
    p.add_argument("--cache", default=None, help="cache folder for the ladder and the results store "
                                                 "(default: ~/.cache/emergence-laws/demo)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from emergence_laws.errors import InputError

    if args.seed < 0:
        raise InputError(f"--seed must be >= 0, got {args.seed}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder; give a folder path")
    from emergence_laws.commands.fit import make_out_dir

    make_out_dir(out)  # fail in one line now, not after minutes of training
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    from emergence_laws.micro.config import default_config, quick_config
    from emergence_laws.micro.pipeline import run_demo

    cfg = quick_config(args.seed) if args.quick else default_config(args.seed)
    cache = Path(args.cache) if args.cache else _default_cache()

    def log(msg: str) -> None:
        print(f"emergence demo: {msg}", flush=True)

    pred = run_demo(cfg, out, cache, progress=not args.no_progress, log=log)
    ahead = pred.get("compute_ahead")
    print(f"prediction: few-shot emergence at {pred['predicted_emergence_point']:.4f} nats/token; truth "
          f"{pred['true_emergence_point']:.4f}; error {pred['error_nats']:.4f} nats"
          + (f"; made {ahead:.2f}x ahead in compute" if ahead else ""))
    print(f"wrote {out / 'report.html'}, prediction.json, results.csv and plots ({pred['timings_s']['total']:.0f} s)")
    return 0
