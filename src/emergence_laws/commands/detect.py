"""`emergence detect RESULTS`: which tasks are emergent on a scaling table, where, and how sharply."""

from __future__ import annotations

import argparse
import json
import sys

from emergence_laws.commands.common import (
    add_direction_options,
    add_where_option,
    directions,
    load_table,
    make_out_dir,
    provenance,
)

#: options of `emergence detect` recorded in the provenance of its results
DETECT_OPTIONS: tuple[str, ...] = ("x", "task", "metric", "family", "model", "group", "scales", "higher_is_better",
                                   "lower_is_better", "where")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "detect",
        help="classify every task's scaling curve as emergent / smooth / flat / noisy / not identifiable / warm-up",
        description=(
            "Classify each task x metric x family curve of a results table (or each run of a checkpoint log: "
            "a step column, one row per run x step x task x metric) as emergent (at chance, then a rise), "
            "smooth, flat (no rise), noisy, not identifiable (too few points before the rise) or warm-up (at "
            "chance only while the loss still falls from random init), with the emergent scale (5-95% "
            "interval) and the evidence: chance level, last at-chance and first above-chance checkpoints, the "
            "fit, a threshold-free sharpness. README: 'Detect emergence' defines each label. Compares discrete and continuous metrics of the same task and, where "
            "a table holds two prompting methods (prompt_method column, *_cot_* task names, or several "
            "shots), the scale at which one starts to beat the other."
        ),
    )
    p.add_argument("results", help="results table: .csv/.tsv, .parquet, .db store, or lm-eval .json / folder")
    p.add_argument("--x", choices=("pretrain_loss", "pretrain_bpb", "bpb", "flops", "params", "tokens", "step"),
                   default=None,
                   help="scale axis (default: the first the table fills: pretrain_loss, pretrain_bpb, flops, params, "
                        "tokens, step); bpb = pretrain_bpb, bits per byte, comparable across tokenizers; flops, params, "
                        "tokens and step are read on a log scale")
    p.add_argument("--task", help="only this task")
    p.add_argument("--metric", help="only this metric")
    p.add_argument("--family", help="only this model family")
    p.add_argument("--model", help="only this model (in a checkpoint log with a step column: this run)")
    p.add_argument("--group", choices=("family", "pooled", "both"), default="both",
                   help="detect within each family (each run of a checkpoint log), on everything pooled, or both "
                        "(default)")
    p.add_argument("--scales", help="for lm-eval JSON: CSV mapping model (and step) -> pretrain_loss/flops/params")
    add_direction_options(p)
    add_where_option(p)
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--out", help="folder to write detect.json, figures (PNG) and report.html")
    p.add_argument("--no-report", action="store_true", help="with --out: skip figures and report.html")
    p.set_defaults(func=run)


def _fmt_scale(x: str, v) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if x in ("pretrain_loss", "pretrain_bpb") else f"{v:.2e}"


def format_table(payload: dict) -> str:
    """Plain-text table: one line per curve, columns as wide as their longest entry (nothing cut)."""
    x = payload["x"]
    rows = payload["series"]
    group_by = payload.get("group_by", "family")
    keys = payload.get("curve_keys") or ["task", "metric", "shots", "n_train", "family"]
    cols = ["task", "metric", "family", "shots"] + [
        k for k in keys
        if k not in ("task", "metric", "family", "shots")
        and any(r.get(k) not in (None, 0 if k == "n_train" else None) for r in rows)
    ]
    table = [[*(group_by if c == "family" else c for c in cols), "label", "emergent scale [5%, 95%]", "sharp"]]
    for r in rows:
        if r["emergent_scale"] is not None:
            sc = f"{_fmt_scale(x, r['emergent_scale'])} [{_fmt_scale(x, r['scale_lo'])}, {_fmt_scale(x, r['scale_hi'])}]"
        else:
            sc = "-"
        table.append([*("-" if r.get(c) is None else str(r[c]) for c in cols), str(r["label"]), sc,
                      f"{r['sharpness']:.2f}"])
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in table]
    lines = [payload["summary"], text[0], "-" * max(len(t) for t in text), *text[1:]]
    comps = payload.get("metric_comparison") or []
    if comps:
        lines.append("")
        lines.append("Discrete vs continuous metric:")
        for c in comps:
            lines.append(f"  {c['task']} [{c['family']}]: {c['verdict']}")
    prompts = payload.get("prompting") or []
    if prompts:
        lines.append("")
        lines.append("Augmented prompting (A beats B from scale):")
        for p in prompts:
            cross = "never" if p["crossover_scale"] is None else _fmt_scale(x, p["crossover_scale"])
            lines.append(
                f"  {p['method_a']} vs {p['method_b']} [{p['family']}, {p['metric']}]: {cross} "
                f"(gain at top {p['gain_at_top']:+.3f})"
            )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from emergence_laws.analysis.detect import detect_table

    if args.out:
        make_out_dir(args.out)  # fail on a bad --out before any work
    df = load_table(args, select=("task", "metric", "family", "model"))
    payload = detect_table(df, x=args.x, task=args.task, metric=args.metric, family=args.family, model=args.model,
                           group=args.group, directions=directions(args))
    payload = {"kind": "detect", **payload}
    payload["provenance"] = provenance(
        args, "detect", DETECT_OPTIONS,
        config="defaults of emergence_laws.laws.detect.DetectConfig (see `config` in the results)",
    )
    if args.out:
        write_outputs(payload, args.out, report=not args.no_report)
    if args.json:
        print(json.dumps({k: v for k, v in payload.items() if k != "points"}, allow_nan=False))
    else:
        print(format_table(payload))
        if args.out:
            out = make_out_dir(args.out)
            print(f"\nwrote {out / 'detect.json'}" + ("" if args.no_report else f", figures and {out / 'report.html'}"))
    for w in payload.get("warnings") or []:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def write_outputs(payload: dict, out, *, report: bool = True):
    """detect.json (with points), figures and report.html into the folder `out`."""
    from emergence_laws.report.html import render_report
    from emergence_laws.report.plots_detect import (
        detect_report_body,
        write_detect_figures,
    )

    out = make_out_dir(out)
    (out / "detect.json").write_text(json.dumps(payload, indent=1, allow_nan=False), encoding="utf-8")
    if not report:
        return out / "detect.json"
    figs = write_detect_figures(payload, out)
    return render_report(detect_report_body(payload), figs, out / "report.html", title="Emergence detection", kind="detect",
                         provenance=payload["provenance"])
