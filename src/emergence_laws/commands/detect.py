"""`emergence detect RESULTS`: which tasks are emergent on a scaling table, where, and how sharply."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "detect",
        help="classify every task's scaling curve as emergent / smooth / flat / noisy",
        description=(
            "Classify each task x metric x family curve of a results table as emergent (at chance, then a "
            "sharp rise), smooth, flat (no rise) or noisy, with the emergent scale (5-95% bootstrap interval) "
            "and the evidence: chance level, last at-chance and first above-chance models, the fit, a "
            "threshold-free sharpness. Compares discrete and continuous metrics of the same task and, where "
            "a table holds two prompting methods (prompt_method column, *_cot_* task names, or several "
            "shots), the scale at which one starts to beat the other."
        ),
    )
    p.add_argument("results", help="results table: .csv/.tsv, .parquet, .db store, or lm-eval .json / folder")
    p.add_argument("--x", choices=("pretrain_loss", "flops", "params"), default=None,
                   help="scale axis (default: pretrain_loss if the table has it, else flops, else params)")
    p.add_argument("--task", help="only this task")
    p.add_argument("--metric", help="only this metric")
    p.add_argument("--family", help="only this model family")
    p.add_argument("--group", choices=("family", "pooled", "both"), default="both",
                   help="detect within each family, on all models pooled, or both (default)")
    p.add_argument("--scales", help="for lm-eval JSON: CSV mapping model -> pretrain_loss/flops/params")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--out", help="folder to write detect.json, figures (PNG) and report.html")
    p.add_argument("--no-report", action="store_true", help="with --out: skip figures and report.html")
    p.set_defaults(func=run)


def _fmt_scale(x: str, v) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if x == "pretrain_loss" else f"{v:.2e}"


def format_table(payload: dict) -> str:
    """Plain-text table: one line per curve."""
    x = payload["x"]
    rows = payload["series"]
    head = f"{'task':<36} {'metric':<22} {'family':<20} {'label':<9} {'emergent scale [5%, 95%]':<30} sharp"
    lines = [payload["summary"], head, "-" * len(head)]
    for r in rows:
        if r["label"] == "emergent":
            sc = f"{_fmt_scale(x, r['emergent_scale'])} [{_fmt_scale(x, r['scale_lo'])}, {_fmt_scale(x, r['scale_hi'])}]"
        else:
            sc = "-"
        lines.append(
            f"{str(r['task'])[:36]:<36} {str(r['metric'])[:22]:<22} {str(r['family'])[:20]:<20} "
            f"{r['label']:<9} {sc:<30} {r['sharpness']:.2f}"
        )
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
    from pathlib import Path

    from emergence_laws.analysis.detect import detect_table
    from emergence_laws.results import load_results

    if args.out:
        from emergence_laws.commands.fit import make_out_dir

        make_out_dir(args.out)  # fail on a bad --out before any work
    df = load_results(args.results, scales=args.scales)
    payload = detect_table(df, x=args.x, task=args.task, metric=args.metric, family=args.family, group=args.group)
    payload = {"kind": "detect", **payload}
    payload["provenance"] = provenance(args)
    if args.out:
        out = Path(args.out)
        write_outputs(payload, out, report=not args.no_report)
    if args.json:
        print(json.dumps({k: v for k, v in payload.items() if k != "points"}, allow_nan=False))
    else:
        print(format_table(payload))
        if args.out:
            print(f"\nwrote {Path(args.out) / 'detect.json'}" + ("" if args.no_report else
                                                               f", figures and {Path(args.out) / 'report.html'}"))
    return 0


def provenance(args: argparse.Namespace) -> dict:
    import datetime as dt
    from pathlib import Path

    from emergence_laws import __version__

    cmd = ["emergence", "detect", str(args.results)]
    for flag in ("x", "task", "metric", "family"):
        if getattr(args, flag):
            cmd += [f"--{flag}", str(getattr(args, flag))]
    if args.group != "both":
        cmd += ["--group", args.group]
    return {
        "data": str(Path(args.results).resolve()),
        "command": " ".join(cmd),
        "config": "defaults of emergence_laws.laws.detect.DetectConfig (see `config` in the results)",
        "tool_version": f"emergence-laws {__version__}",
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def write_outputs(payload: dict, out, *, report: bool = True):
    """detect.json (with points), figures and report.html into the folder `out`."""
    from pathlib import Path

    from emergence_laws.report.html import render_report
    from emergence_laws.report.plots_detect import (
        detect_report_body,
        write_detect_figures,
    )

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "detect.json").write_text(json.dumps(payload, indent=1, allow_nan=False), encoding="utf-8")
    if not report:
        return out / "detect.json"
    figs = write_detect_figures(payload, out)
    return render_report(detect_report_body(payload), figs, out / "report.html", title="Emergence detection", kind="detect",
                         provenance=payload["provenance"])
