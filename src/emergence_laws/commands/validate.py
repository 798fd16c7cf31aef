"""`emergence validate RESULTS`: check a results table against the contract and summarise it."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate",
        help="check a results table (CSV, Parquet, SQLite store, lm-eval JSON) and summarise it",
        description=(
            "Check a results table against the contract: required columns model, task, metric, value, "
            "n_train, shots and a scale column (pretrain_loss in nats/token, flops, or params); numeric "
            "types; value ranges; duplicates. Prints a summary, or the first problem and its fix."
        ),
    )
    p.add_argument("results", help="results table: .csv/.tsv, .parquet, .db store, or lm-eval .json / folder")
    p.add_argument("--scales", help="for lm-eval JSON: CSV mapping model -> pretrain_loss/flops/params")
    p.add_argument("--task", help="check only this task's rows (the rows `fit --task` would use)")
    p.add_argument("--metric", help="check only this metric's rows")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=run)


def summarise(df) -> dict:
    """Counts of what the table holds: rows, models (runs) and checkpoints, tasks, metrics, finetuned
    rows, scale columns."""
    from emergence_laws.analysis.series import checkpoint_ids, is_checkpoint_table

    return {
        "n_rows": len(df),
        "n_models": int(df["model"].nunique()),
        "n_checkpoints": int(checkpoint_ids(df).nunique()),
        "checkpoint_log": bool(is_checkpoint_table(df)),
        "tasks": sorted(map(str, df["task"].unique())),
        "metrics": sorted(map(str, df["metric"].unique())),
        "n_finetuned_rows": int((df["n_train"] > 0).sum()),
        "data_amounts": sorted(int(x) for x in df.loc[df["n_train"] > 0, "n_train"].unique()),
        "scale_columns": [c for c in ("pretrain_loss", "flops", "params", "tokens", "step")
                          if c in df.columns and df[c].notna().any()],
    }


def run(args: argparse.Namespace) -> int:
    from emergence_laws.commands.common import load_table

    df = load_table(args)
    summary = {"file": str(args.results), "ok": True, **summarise(df)}
    if args.json:
        print(json.dumps(summary))
        return 0
    tasks = summary["tasks"]
    shown = ", ".join(tasks[:8]) + (f" (+{len(tasks) - 8} more)" if len(tasks) > 8 else "")
    what = (f"{summary['n_models']} runs, {summary['n_checkpoints']} checkpoints" if summary["checkpoint_log"]
            else f"{summary['n_models']} models")
    print(f"{args.results}: ok — {summary['n_rows']} rows, {what}, {len(tasks)} tasks")
    print(f"  tasks: {shown}")
    print(f"  metrics: {', '.join(summary['metrics'])}")
    print(f"  scale columns: {', '.join(summary['scale_columns'])}")
    amounts = summary["data_amounts"]
    print(f"  finetuned rows: {summary['n_finetuned_rows']}" + (f" (n_train: {amounts})" if amounts else ""))
    return 0
