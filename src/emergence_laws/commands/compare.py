"""`emergence compare RESULTS --task T --by COLUMN`: which run reaches few-shot emergence on less compute (no torch)."""

from __future__ import annotations

import argparse
import json
import sys

from emergence_laws.commands.common import (
    LAW_OPTIONS,
    LOSS_AXES,
    add_law_options,
    add_loss_axis_option,
    check_bootstrap,
    law_arguments,
    load_table,
    make_out_dir,
    on_loss_axis,
    provenance,
    run_in_flags,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "compare",
        help="compare pretraining runs by the compute at which each reaches few-shot emergence",
        description=(
            "For each group of rows (a value of --by: a pretraining run, data mix, tokenizer), fit the emergence "
            "law and predict the few-shot emergence point E(D0), fit the group's loss against compute "
            "(flops, else tokens, else params) and invert it at E(D0), with a 90% interval that carries both "
            "fits jointly (each bootstrap replicate refits both on the same checkpoint draws). For each pair of "
            "groups: the probability that one gets there on less compute, and the ratio of their compute. "
            "Exit 0 when 2+ groups were compared, 3 when the data identify fewer, 2 on bad input."
        ),
    )
    p.add_argument("results", help="results table: .csv/.tsv, .parquet, .db store, lm-eval .json")
    p.add_argument("--task", help="task to compare on (needed when the table holds several)")
    p.add_argument("--by", default="family", metavar="COLUMN",
                   help="the column whose values are the runs to compare (default: family)")
    p.add_argument("--compute", choices=("flops", "tokens", "params"),
                   help="the compute column of the loss curves (default: flops, else tokens, else params)")
    add_law_options(p, bootstrap=200)
    add_loss_axis_option(p)
    p.add_argument("--ridge", action="store_true",
                   help="widen the compute interval to the emergence point's likelihood ridge, as E(D0)'s interval is "
                        "(default: the joint replicates' 5-95%% range alone, which covers the truth often enough on "
                        "synthetic runs; see docs/guide/compare.md)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--out", help="directory for compare.json and compare.png")
    run_in_flags(p, run, {"loss_axis='pretrain_bpb'": "--x bpb"})


#: options of `emergence compare` recorded in the provenance of its results
COMPARE_OPTIONS: tuple[str, ...] = ("task", "by", "compute", *LAW_OPTIONS, "x", "ridge")


def run(args: argparse.Namespace) -> int:
    from emergence_laws.analysis.table_compare import compare_table
    from emergence_laws.laws.terms import renamed

    check_bootstrap(args)
    out = make_out_dir(args.out) if args.out else None
    df = on_loss_axis(load_table(args), args.x)
    loss_axis, unit = LOSS_AXES[args.x]
    res = compare_table(df, task=args.task, by=args.by, compute=args.compute, ridge=args.ridge, loss_axis=loss_axis,
                        **law_arguments(args))
    out_json = renamed({**res.to_json(), "provenance": provenance(args, "compare", COMPARE_OPTIONS)})
    files = []
    if out is not None:
        from emergence_laws.report.plots_compare import plot_compare

        (out / "compare.json").write_text(json.dumps(out_json, indent=2) + "\n")
        files.append(out / "compare.json")
        if res.compared or any(g.curve is not None for g in res.groups):
            files.append(plot_compare(res, out / "compare.png"))
    if args.json:
        print(json.dumps(out_json))
    if len(res.compared) < 2:  # one error line (the JSON and --out files above keep what was found)
        res.require_two()
    if not args.json:
        print_text(out_json, files)
    return 0


def _num(v, fmt: str = ".3g") -> str:
    return "-" if v is None else format(v, fmt)


def _iv(iv, fmt: str = ".3g") -> str:
    if not iv:
        return ""
    return f" [{_num(iv[0], fmt)}, {'unbounded' if iv[1] is None else format(iv[1], fmt)}]"


def print_text(p: dict, files: list) -> None:
    """The groups' table, the pairs' table, the files written, the warnings (``p``: the comparison's JSON)."""
    unit, cunit = p["loss_unit"], p["compute_unit"]
    print(f"task {p['task']} ({p['metric']}), groups by {p['by']!r}: few-shot emergence in {unit} and in "
          f"{cunit} ({p['compute_axis']} column), 90% intervals")
    rows = [("group", f"E(D0) {unit} [90%]", f"{cunit} [90%]", "x past last checkpoint", "identified")]
    for g in p["groups"]:
        e = "-" if g["emergence_point"] is None else f"{g['emergence_point']:.3f}{_iv(g['interval'], '.3f')}"
        c = "-" if g["flops"] is None else f"{g['flops']:.3g}{_iv(g['flops_interval'])}"
        a = "-" if g["ahead"] is None else f"{g['ahead']:.2g}x"
        rows.append((str(g["group"]), e, c, a, "yes" if g["identified"] else "no"))
    _table(rows)
    for g in p["groups"]:
        if not g["identified"]:
            print(f"  {g['group']}: not identified: {g['reason']}")
    if p["pairs"]:
        print(f"pairs ({cunit}; ratio = second / first):")
        prs = [("first", "second", "P(first gets there on less compute)", "ratio [90%]")]
        for q in p["pairs"]:
            prs.append((str(q["first"]), str(q["second"]), f"{q['p_first']:.2f}",
                        f"{_num(q['ratio'], '.2f')}{_iv(q['ratio_interval'], '.2f')}"))
        _table(prs)
    for f in files:
        print(f"  wrote {f}")
    for w in p["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    for g in p["groups"]:
        for w in g.get("warnings") or []:
            print(f"warning: group {g['group']}: {w}", file=sys.stderr)


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
