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
                     "finetuning data amount (n=examples). Reads only; runs nothing."),
    )
    p.add_argument("study", help="study config YAML (see examples/)")
    p.add_argument("--store", help="results store (.db) to compare with (default: the config's store)")
    p.add_argument("--json", action="store_true", help="print the state as one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emergence_laws.config import load_study
    from emergence_laws.study.status import grid_status

    cfg = load_study(args.study)
    status = grid_status(cfg, store=args.store)
    if args.json:
        print(json.dumps(status.to_dict(), indent=2))
    else:
        print(status.format())
    return 0
