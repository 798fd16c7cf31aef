"""`emergence status study.yaml`: how much of a study's job grid is done, per checkpoint and cell."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "status",
        help="show a study's job grid: done/pending per checkpoint x data amount",
        description=("Compare a study's job grid with its results store: for each checkpoint, finished/total "
                     "jobs for measuring (params, pretraining loss), each few-shot setting (k=shots) and each "
                     "finetuning data amount (n=examples), and which checkpoints are hub ids. Reads only; runs "
                     "nothing."),
    )
    p.add_argument("study", help="study config YAML (see examples/)")
    p.add_argument("--store", help="results store (.db) to compare with (default: the config's store)")
    p.add_argument("--json", action="store_true", help="print the state as one JSON object")
    p.set_defaults(func=run)


def hub_line(cfg) -> str | None:
    """Which ladder entries are hub ids, in words (None when every checkpoint is local)."""
    from emergence_laws.study.ladder import hub_ids

    ids = hub_ids(cfg.ladder)
    if not ids:
        return None
    return (f"hub ids ({len(ids)} of {len(cfg.ladder)} checkpoints; downloaded by transformers, which needs a network "
            f"or a warm cache): {', '.join(ids)}")


def run(args: argparse.Namespace) -> int:
    from emergence_laws.study.config_yaml import load_study
    from emergence_laws.study.ladder import hub_ids
    from emergence_laws.study.status import grid_status

    cfg = load_study(args.study)
    status = grid_status(cfg, store=args.store)
    if args.json:
        print(json.dumps({**status.to_dict(), "hub_ids": hub_ids(cfg.ladder)}, indent=2))
    else:
        print(status.format())
        line = hub_line(cfg)
        if line:
            print(line)
    return 0
