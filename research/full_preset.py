"""The 30-minute "full" demo preset of issue 24, kept as a probe: the demo's world and ladder, finetuning in
the paper's prompt -> answer format on 1,024 ... 32,768 examples x 2 subsets, the whole demo analysis.

    python research/full_preset.py --seed 0 --cache /tmp/full/cache --out /tmp/full/s0
    python research/full_preset.py --table research/results/full_preset_s0.csv   # docs/lever.md's grid table

It was built because research/lever.py found the lever its design asks for (at 1/4 of the emergence
compute, 3+ amounts off chance and rising with n), and taken out of the product because the whole grid
shows what the lever is not: the law cannot be fitted on the checkpoints with <= 1/2 of the emergence
compute, so the preset predicts no further ahead (1.15x) than the 10-minute default (docs/lever.md).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path


def full_config(seed: int = 0):
    """The preset: the default demo's world (with a 32,768-example task pool) and ladder (shared with the
    default demo's cache), finetuning without demonstrations on 1k-32k examples x 2 subsets, evaluated
    zero-shot; LoRA rank 1 beside it on 4k and 16k at the 2 strongest checkpoints of the headline fit set."""
    from emergence_laws.micro.config import DemoConfig

    base = DemoConfig()
    cfg = replace(base, world=replace(base.world, n_train=32768),
                  n_train=(1024, 2048, 4096, 8192, 16384, 32768), subsets=2, train_shots=0, lr=3e-3, epochs=4,
                  batch_size=16, compare_n_train=(4096, 16384), compare_checkpoints=2)
    return cfg.with_seed(seed)


def grid_table(results_csv: str) -> str:
    """Markdown: the finetuned test accuracy of every (checkpoint, amount) of a results table, each subset's
    run (full finetuning), beside the checkpoint's pretraining loss, share of the emergence compute and
    few-shot accuracy."""
    import pandas as pd

    t = pd.read_csv(results_csv)
    t = t[t["metric"] == "accuracy"]
    fs = t[t["n_train"] == 0].sort_values("flops")
    chance = float(fs["chance"].iloc[0])
    from scipy.stats import binom

    first = next(r for _, r in fs.iterrows()
                 if binom.sf(round(r["value"] * r["n_eval"]) - 1, int(r["n_eval"]), chance) < 1e-3)
    ft = t[(t["n_train"] > 0) & (t["method"] == "full")]
    amounts = sorted(ft["n_train"].unique())
    lines = ["| checkpoint | loss (nats) | share of emergence compute | few-shot | "
             + " | ".join(f"n = {n:,}" for n in amounts) + " |", "|---|---|---|---|" + "---|" * len(amounts)]
    for _, r in fs.iterrows():
        runs = ft[ft["model"] == r["model"]]
        if runs.empty:
            continue
        cells = [" / ".join(f"{v:.2f}" for v in runs.loc[runs["n_train"] == n].sort_values("seed")["value"]) or "-"
                 for n in amounts]
        lines.append(f"| {r['model']} | {r['pretrain_loss']:.3f} | {r['flops'] / first['flops']:.2f} | "
                     f"{r['value']:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == "--table":
        print(grid_table(sys.argv[2]))
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    from emergence_laws.errors import EmergenceError
    from emergence_laws.micro.pipeline import run_demo

    try:
        pred = run_demo(full_config(args.seed), Path(args.out), Path(args.cache), progress=False, threads=args.threads,
                        log=lambda m: print(f"full preset: {m}", flush=True))
    except EmergenceError as exc:
        print(f"full preset: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"predicted {pred['predicted_emergence_point']:.4f} nats, truth {pred['true_emergence_point']:.4f}, "
          f"k = {pred['k']:g}, {pred['compute_ahead']:.2f}x ahead")
    return 0


if __name__ == "__main__":
    sys.exit(main())
