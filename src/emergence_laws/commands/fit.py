"""`emergence fit RESULTS`: fit the emergence law to a results table and predict few-shot emergence (no torch)."""

from __future__ import annotations

import argparse
import json
import sys

from emergence_laws.commands.common import (
    LAW_OPTIONS,
    LOSS_AXES,
    SIGMOID_TERMS,
    add_baseline_and_output_options,
    add_law_options,
    add_loss_axis_option,
    check_bootstrap,
    directions,
    law_arguments,
    load_table,
    make_out_dir,
    on_loss_axis,
    provenance,
    run_in_flags,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "fit",
        help="fit the emergence law to a results table; predict the few-shot emergence point (nats)",
        description=(
            "Fit Perf(L, D) = A*ReLU(E(D) - L) + B jointly to finetuned runs (every checkpoint x data amount x "
            "seed) and few-shot rows, with E(D) = k*(log D)^alpha + C, and predict the few-shot emergence point "
            "E(D0) in pretraining loss (nats/token), with a 90% interval (bootstrap over checkpoints and random "
            "subsets, D0 unknown in [N, 10 N] unless given) and, when the table has params/flops, the scale at "
            "which it is reached with its interval (Snell et al., 2024)."
        ),
    )
    p.add_argument(
        "results",
        help="results table: .csv/.tsv, .parquet, .db store, lm-eval .json, or `example` (the bundled example table)",
    )
    p.add_argument("--task", help="task to fit (needed when the table holds several)")
    add_law_options(p, bootstrap=200)
    add_loss_axis_option(p)
    add_baseline_and_output_options(
        p, sigmoid="sigmoid: fit only the few-shot sigmoid baseline (works without finetuned rows)",
        out="prediction.json and PNG plots")
    run_in_flags(p, run, SIGMOID_TERMS)


#: options of `emergence fit` recorded in the provenance of its results
FIT_OPTIONS: tuple[str, ...] = ("task", *LAW_OPTIONS, "baseline", "x")


def _fmt_scale(scale: dict | None) -> str | None:
    from emergence_laws.report.summary import scale_words

    words = scale_words(scale)
    if not words:
        return None
    n = max((scale[a]["n_models"] for a in scale), default=0)
    return f"≈ {words} (scaling-law fit over {n} checkpoints)"


def run(args: argparse.Namespace) -> int:
    from emergence_laws.analysis.table_fit import baseline_table, fit_table
    from emergence_laws.laws.terms import renamed

    check_bootstrap(args)
    out = make_out_dir(args.out) if args.out else None  # fail on a bad --out before any work
    from emergence_laws.progress import show_progress

    df = on_loss_axis(load_table(args), args.x)
    if args.baseline == "sigmoid":
        res = baseline_table(df, task=args.task, metric=args.metric, directions=directions(args))
    else:
        with show_progress(not args.no_progress):  # a bar on a terminal, else a line every ~30 s, with an ETA
            res = fit_table(df, task=args.task, **law_arguments(args))
    x_axis, unit = LOSS_AXES[args.x]
    out_json = renamed({**res.to_json(), "provenance": provenance(args, "fit", FIT_OPTIONS), "x_axis": x_axis,
                        "x_unit": unit})  # the core's notes name its arguments: here, the flags
    files = []
    if out is not None:
        from emergence_laws.report import plots_fit

        if args.baseline == "sigmoid":
            files.append(plots_fit.plot_sigmoid_baseline(res, out / "sigmoid_baseline.png"))
        else:
            files.append(plots_fit.plot_law_fit(res, out / "law_fit.png", unit=unit))
            files.append(plots_fit.plot_shift(res, out / "emergence_shift.png", unit=unit))
        (out / "prediction.json").write_text(json.dumps(out_json, indent=2) + "\n")
        files.insert(0, out / "prediction.json")
    if args.json:
        print(json.dumps(out_json))
    else:
        _print_text(res, files, sigmoid=args.baseline == "sigmoid", unit=unit)
    if args.baseline == "sigmoid" and not res["identified"]:
        from emergence_laws.errors import NotIdentifiableError

        raise NotIdentifiableError(
            f"task {res['task']}: the few-shot curve has not started to rise, so the sigmoid's elbow is no prediction; "
            "add stronger checkpoints, or finetuned rows and fit the emergence law"
        )
    return 0


def _print_text(res, files: list, *, sigmoid: bool, unit: str = "nats") -> None:
    u = unit
    if sigmoid:
        if res["identified"]:
            print(
                f"task {res['task']} ({res['metric']}): few-shot sigmoid baseline, tangent elbow at {res['axis']} = "
                f"{res['emergence_point']:.4g}"
            )
        else:
            print(
                f"task {res['task']} ({res['metric']}): few-shot sigmoid baseline NOT identified: the curve has not "
                "started to rise"
            )
    else:
        iv, (lo, hi) = res["interval"], res["d0_range"]
        ivs = f" [90%: {iv[0]:.3f}, {iv[1]:.3f}]" if iv else ""
        d0s = f"D0 in [{lo:g}, {hi:g}] examples" if hi > lo else f"D0 = {lo:g} examples"
        print(
            f"task {res['task']} ({res['metric']}): few-shot emergence predicted at pretraining loss "
            f"{res['emergence_point']:.3f} {u}{ivs}, {d0s}"
        )
        if iv:
            print("  the interval includes: " + "; ".join(res["interval_includes"]))
        p = res["law"]["params"]
        basis = "(ln D)" if res["law"]["form"] == "logpower" else "D"
        print(
            f"  law at D0 = {res['d0']:.3g}: E(D) = {p['k']:.4g} {basis}^{p['alpha']:.3g} + {p['C']:.4g} {u}; "
            f"A = {p['A']:.3g} per {u[:-1] if u == 'nats' else u}, B = {p['B']:.3g}, few-shot floor shift "
            f"{p['delta']:+.3g}; {res['n_rows']} rows"
        )
        obs = res.get("fewshot_observed")
        if obs:
            print(
                "  observed few-shot elbow: "
                + (
                    f"{obs['E']:.3f} {u}"
                    if obs["emerged"]
                    else f"not yet (flat down to {obs['strongest_loss']:.3f} {u})"
                )
            )
    s = _fmt_scale(res.get("scale"))
    if s:
        print("  " + s)
    for f in files:
        print(f"  wrote {f}")
    from emergence_laws.laws.terms import named

    for w in res["warnings"]:
        print(f"warning: {named(w)}", file=sys.stderr)
