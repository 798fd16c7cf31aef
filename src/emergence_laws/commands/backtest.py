"""`emergence backtest RESULTS --task T --cutoff-loss X`: predict from weaker checkpoints, score against the truth."""

from __future__ import annotations

import argparse
import json
import sys

#: options of `emergence backtest` recorded in the provenance of its results
BACKTEST_OPTIONS: tuple[str, ...] = (
    "task", "cutoff_loss", "metric", "method", "d0", "form", "elbow", "bootstrap", "seed",
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "backtest",
        help="fit on checkpoints weaker than a cutoff loss and compare with the observed few-shot emergence",
        description=(
            "Fit the emergence law using only checkpoints with pretraining loss above --cutoff-loss (nats), "
            "predict the few-shot emergence point, and compare it with the elbow of a ReLU fitted to the full "
            "few-shot curve. Reports the error in nats (<= 0.1 = success), and the compute ratio between the "
            "first post-emergence checkpoint and the strongest one used (when flops are known)."
        ),
    )
    p.add_argument("results", help="results table: .csv/.tsv, .parquet, .db store, lm-eval .json, or `example`")
    p.add_argument("--task", required=True, help="task to backtest")
    p.add_argument(
        "--cutoff-loss", type=float, required=True, help="use only checkpoints with pretrain_loss above this (nats)"
    )
    p.add_argument("--metric", help="metric (default: accuracy, acc, acc_norm, exact_match, ... in that order)")
    p.add_argument("--method", help="finetuning method when rows mix several (full, lora)")
    p.add_argument("--d0", type=float, help="low-data limit D0 in examples (default: the few-shot rows' shots)")
    p.add_argument("--form", choices=("logpower", "power"), default="logpower", help="E(D) form (default logpower)")
    p.add_argument("--elbow", choices=("relu", "softplus"), default="relu", help="elbow shape (default relu)")
    p.add_argument(
        "--bootstrap", type=int, default=0, metavar="N", help="bootstrap replicates for the prediction's interval"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--out", help="directory for backtest.json and backtest.png")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emergence_laws.analysis.fit import backtest_table
    from emergence_laws.commands.fit import make_out_dir, provenance, resolve_results
    from emergence_laws.errors import InputError
    from emergence_laws.results import load_results

    if args.bootstrap < 0:
        raise InputError(f"--bootstrap {args.bootstrap} is negative; use 0 (no interval) or e.g. 200")
    df = load_results(resolve_results(args.results))
    res = backtest_table(
        df,
        args.task,
        args.cutoff_loss,
        metric=args.metric,
        d0=args.d0,
        form=args.form,
        elbow=args.elbow,
        bootstrap=args.bootstrap,
        seed=args.seed,
        method=args.method,
    )
    out_json = {**res.to_json(), "provenance": provenance(args, "backtest", BACKTEST_OPTIONS)}
    files = []
    if args.out:
        from emergence_laws.report.plots_fit import plot_backtest

        out = make_out_dir(args.out)
        (out / "backtest.json").write_text(json.dumps(out_json, indent=2) + "\n")
        files = [out / "backtest.json", plot_backtest(res, out / "backtest.png")]
    if args.json:
        print(json.dumps(out_json))
        return 0
    iv = res["interval"]
    ivs = f" (5-95%: {iv[0]:.3f}-{iv[1]:.3f})" if iv else ""
    verdict = "success" if res["success"] else "miss"
    print(
        f"task {res['task']} ({res['metric']}), fit on {res['n_checkpoints_fit']} checkpoints with loss > "
        f"{res['cutoff_loss']:g} nats:"
    )
    print(
        f"  predicted {res['predicted']:.3f}{ivs}, actual {res['actual']:.3f} nats, error {res['error_nats']:.3f} nats ({verdict})"
    )
    if res["compute_ahead"] is not None:
        print(f"  predicted {res['compute_ahead']:.2f}x compute ahead of the strongest model used")
    sb = res.get("sigmoid_baseline")
    if sb:
        tag = "" if sb["identified"] else ", not identified: the weak models' few-shot curve is flat"
        print(f"  few-shot sigmoid baseline: {sb['emergence_point']:.3f} nats, error {sb['error_nats']:.3f}{tag}")
    for f in files:
        print(f"  wrote {f}")
    for w in res["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    return 0
