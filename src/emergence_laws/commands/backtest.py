"""`emergence backtest RESULTS --task T --cutoff-loss X`: predict from weaker checkpoints, score against the truth."""

from __future__ import annotations

import argparse
import json
import sys

from emergence_laws.commands.common import (
    LAW_OPTIONS,
    SIGMOID_TERMS,
    add_baseline_and_output_options,
    add_law_options,
    check_bootstrap,
    directions,
    law_arguments,
    load_table,
    make_out_dir,
    provenance,
    run_in_flags,
)

#: options of `emergence backtest` recorded in the provenance of its results
BACKTEST_OPTIONS: tuple[str, ...] = ("task", "cutoff_loss", *LAW_OPTIONS, "baseline")


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
    add_law_options(p, bootstrap=0)
    add_baseline_and_output_options(
        p, sigmoid="sigmoid: backtest the few-shot sigmoid baseline alone (no finetuned rows needed)",
        out="backtest.json and backtest.png")
    run_in_flags(p, run, SIGMOID_TERMS)


def run(args: argparse.Namespace) -> int:
    from emergence_laws.analysis.table_fit import backtest_table, sigmoid_backtest_table
    from emergence_laws.errors import NotIdentifiableError
    from emergence_laws.laws.terms import named, renamed

    check_bootstrap(args)
    out = make_out_dir(args.out) if args.out else None  # fail on a bad --out before any work
    df = load_table(args)
    sigmoid = args.baseline == "sigmoid"
    if sigmoid:
        res = sigmoid_backtest_table(df, args.task, args.cutoff_loss, metric=args.metric, directions=directions(args))
    else:
        from emergence_laws.progress import show_progress

        with show_progress(not args.no_progress):  # a bar on a terminal, else a line every ~30 s, with an ETA
            res = backtest_table(df, args.task, args.cutoff_loss, **law_arguments(args))
    out_json = renamed({**res.to_json(), "provenance": provenance(args, "backtest", BACKTEST_OPTIONS)})
    files = []
    if out is not None:
        from emergence_laws.report.plots_fit import plot_backtest, plot_sigmoid_backtest

        (out / "backtest.json").write_text(json.dumps(out_json, indent=2) + "\n")
        plot = plot_sigmoid_backtest if sigmoid else plot_backtest
        files = [out / "backtest.json", plot(res, out / "backtest.png")]
    unidentified = sigmoid and not res["identified"]
    if args.json:
        print(json.dumps(out_json))
    else:
        _print_text(res, files, sigmoid)
        for w in res["warnings"]:
            print(f"warning: {named(w)}", file=sys.stderr)
    if unidentified:
        raise NotIdentifiableError(
            f"task {res['task']}: the few-shot curve above the cutoff {res['cutoff_loss']:g} nats has not started to "
            "rise, so the sigmoid locates no emergence; lower --cutoff-loss or fit the emergence law to finetuned rows"
        )
    return 0


def _print_text(res, files: list, sigmoid: bool) -> None:
    head = "few-shot sigmoid baseline, " if sigmoid else ""
    print(
        f"task {res['task']} ({res['metric']}), {head}fit on {res['n_checkpoints_fit']} checkpoints with loss > "
        f"{res['cutoff_loss']:g} nats:"
    )
    iv = res["interval"]
    ivs = f" [90%: {iv[0]:.3f}, {iv[1]:.3f}]" if iv else ""
    if sigmoid and not res["identified"]:
        print(
            f"  predicted: NOT identified (the curve above the cutoff is flat), actual {res['actual']:.3f} nats"
        )
    else:
        verdict = "success" if res["success"] else "miss"
        print(
            f"  predicted {res['predicted']:.3f}{ivs}, actual {res['actual']:.3f} nats, error {res['error_nats']:.3f} "
            f"nats ({verdict})"
        )
        if res["compute_ahead"] is not None:
            print(f"  predicted {res['compute_ahead']:.2f}x compute ahead of the strongest model used")
        if iv and not sigmoid:
            lo, hi = res["d0_range"]
            d0s = f"D0 in [{lo:g}, {hi:g}] examples" if hi > lo else f"D0 = {lo:g} examples"
            print(f"  {d0s}; the interval includes: " + "; ".join(res["interval_includes"]))
    sb = res.get("sigmoid_baseline")
    if sb:
        tag = "" if sb["identified"] else ", not identified: the weak models' few-shot curve is flat"
        print(f"  few-shot sigmoid baseline: {sb['emergence_point']:.3f} nats, error {sb['error_nats']:.3f}{tag}")
    for f in files:
        print(f"  wrote {f}")
