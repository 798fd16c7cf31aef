"""`emergence detect RESULTS`: which tasks are emergent on a scaling table, where, and how sharply."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

from emergence_laws.commands.common import (
    add_direction_options,
    add_where_option,
    directions,
    load_table,
    make_out_dir,
    provenance,
    run_in_flags,
)

#: options of `emergence detect` recorded in the provenance of its results
DETECT_OPTIONS: tuple[str, ...] = ("x", "task", "metric", "family", "model", "group", "scales", "higher_is_better",
                                   "lower_is_better", "where")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "detect",
        help="classify every task's scaling curve as emergent / smooth / flat / marginal / noisy / not identifiable / "
             "warm-up",
        description=(
            "Classify each task x metric x family curve of a results table (or each run of a checkpoint log: "
            "a step column, one row per run x step x task x metric) as emergent (at chance, then a rise), "
            "smooth, flat (no rise), marginal (a real rise that stays near chance), noisy, not identifiable (a jump "
            "after too few checkpoints at chance) or warm-up (at chance only while the loss still falls from random "
            "init), with the emergent scale (90% interval), the bracket (last checkpoint at chance, first above) "
            "and the evidence. docs/guide/detect.md states each label's rule. Compares discrete and continuous "
            "metrics of the same task and, where "
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
    p.add_argument("--no-progress", action="store_true",
                   help="no progress on stderr (default: a bar on a terminal, else a line every ~30 s, when the "
                        "curves take more than a few seconds)")
    run_in_flags(p, run)


#: the text table fits this many columns (the reason is shortened to fit; names are never cut)
WIDTH = 100


def _fmt_scale(x: str, v) -> str:
    """A scale value, short: 3.124 (nats, bits/byte) or 1.2e22 (FLOPs, params, tokens, steps)."""
    if v is None:
        return "-"
    if x in ("pretrain_loss", "pretrain_bpb"):
        return f"{v:.3f}"
    mant, _, exp = f"{v:.1e}".partition("e")
    return f"{mant}e{int(exp)}"


def _cells(x: str, r: dict) -> list[str]:
    """label, emergent scale [interval], bracket (last at chance -> first above) of one row."""
    if r.get("emergent_scale") is not None:
        scale = f"{_fmt_scale(x, r['emergent_scale'])} [{_fmt_scale(x, r['scale_lo'])}, {_fmt_scale(x, r['scale_hi'])}]"
    else:
        scale = "-"
    br = r.get("bracket")
    bracket = "-" if not br else f"{_fmt_scale(x, br[0])}->{_fmt_scale(x, br[1])}"
    return [str(r["label"]), scale, bracket]


def format_table(payload: dict, width: int = WIDTH) -> str:
    """Plain-text table: a header line per curve (task, metric, shots, ...), then one line per run
    (family of a ladder, or run of a checkpoint log) with its label, emergent scale [90% interval],
    bracket (the last checkpoint at chance -> the first above it) and the reason in a few words,
    shortened to fit ``width`` columns (names are never cut; detect.json has the full reason)."""
    x = payload["x"]
    rows = payload["series"]
    group_by = payload.get("group_by", "family")
    keys = [k for k in (payload.get("curve_keys") or ["task", "metric", "shots", "n_train", "family"])
            if k != "family"]
    shown = [k for k in keys if k in ("task", "metric") or any(
        r.get(k) not in (None, 0 if k == "n_train" else None) for r in rows)]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r.get(k) for k in shown), []).append(r)
    head = [group_by, "label", "emergent scale [90%]", "bracket", "why"]
    cells = [[str(r["family"]), *_cells(x, r)] for r in rows]
    widths = [max(len(head[i]), *(len(c[i]) for c in cells)) for i in range(4)]

    def line(parts: list[str], why: str) -> str:
        text = "  " + "  ".join(p.ljust(w) for p, w in zip(parts, widths)) + "  "
        room = max(width - len(text), 12)
        if len(why) > room:
            why = why[: room - 1].rstrip() + "~"
        return (text + why).rstrip()

    unit = payload.get("x_units", "")
    lines = [*textwrap.wrap(payload["summary"], width, break_on_hyphens=False),
             f"scale: {x} ({unit}); bracket: last checkpoint at chance -> first above it",
             line(head[:4], head[4])]
    lines.append("-" * min(width, max(len(t) for t in lines[-1:])))
    for key, members in groups.items():
        name = " | ".join(f"{k}={v}" if k not in ("task", "metric") else str(v)
                          for k, v in zip(shown, key) if v is not None and not (k == "n_train" and v == 0))
        lines.append(name)
        for r in members:
            lines.append(line([str(r["family"]), *_cells(x, r)], str(r.get("brief") or r.get("reason") or "")))
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
    from emergence_laws.analysis.table_detect import detect_table
    from emergence_laws.laws.terms import renamed
    from emergence_laws.progress import show_progress

    if args.out:
        make_out_dir(args.out)  # fail on a bad --out before any work
    df = load_table(args, select=("task", "metric", "family", "model"))
    with show_progress(not args.no_progress):  # a bar on a terminal, else a line every ~30 s, with an ETA
        payload = detect_table(df, x=args.x, task=args.task, metric=args.metric, family=args.family,
                               model=args.model, group=args.group, directions=directions(args))
    payload = {"kind": "detect", **payload}
    payload["warnings"] = renamed(payload.get("warnings") or [])  # the core names its arguments: here, the flags
    payload["provenance"] = provenance(
        args, "detect", DETECT_OPTIONS,
        config="defaults of emergence_laws.laws.curve_labels.DetectConfig (see `config` in the results)",
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
