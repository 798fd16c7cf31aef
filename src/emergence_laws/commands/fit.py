"""`emergence fit RESULTS`: fit the emergence law to a results table and predict few-shot emergence (no torch)."""

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
    directions,
    load_table,
    make_out_dir,
    on_loss_axis,
    provenance,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "fit",
        help="fit the emergence law to a results table; predict the few-shot emergence point (nats)",
        description=(
            "Fit Perf(L, D) = A*ReLU(E(D) - L) + B jointly to finetuned runs (every checkpoint x data amount x "
            "seed) and few-shot rows, with E(D) = k*(log D)^alpha + C, and predict the few-shot emergence point "
            "E(D0) in pretraining loss (nats/token), with a bootstrap 5-95% interval and, when the table has "
            "params/flops, the scale at which it is reached (Snell et al., 2024)."
        ),
    )
    p.add_argument(
        "results",
        help="results table: .csv/.tsv, .parquet, .db store, lm-eval .json, or `example` (the bundled example table)",
    )
    p.add_argument("--task", help="task to fit (needed when the table holds several)")
    add_law_options(p, bootstrap=200)
    add_loss_axis_option(p)
    p.add_argument(
        "--baseline",
        choices=("none", "sigmoid"),
        default="none",
        help="sigmoid: fit only the few-shot sigmoid baseline (works without finetuned rows)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--out", help="directory for prediction.json and PNG plots")
    p.set_defaults(func=run)


#: options of `emergence fit` recorded in the provenance of its results
FIT_OPTIONS: tuple[str, ...] = ("task", *LAW_OPTIONS, "baseline", "x")


def _fmt_scale(scale: dict | None) -> str | None:
    if not scale:
        return None
    parts = []
    for axis in ("params", "flops"):
        s = scale.get(axis)
        if s:
            at = s.get("at_loss")
            parts.append(
                f"{at:.3g} {axis}" if at else f"unreachable in {axis} (below the fitted irreducible loss {s['E']:.3f})"
            )
    n = max((scale[a]["n_models"] for a in scale), default=0)
    return f"≈ {' / '.join(parts)} (scaling-law fit over {n} checkpoints)" if parts else None


def run(args: argparse.Namespace) -> int:
    from emergence_laws.analysis.fit import baseline_table, fit_table

    check_bootstrap(args)
    df = on_loss_axis(load_table(args), args.x)
    if args.baseline == "sigmoid":
        res = baseline_table(df, task=args.task, metric=args.metric, directions=directions(args))
    else:
        res = fit_table(
            df,
            task=args.task,
            metric=args.metric,
            d0=args.d0,
            form=args.form,
            elbow=args.elbow,
            bootstrap=args.bootstrap,
            seed=args.seed,
            method=args.method,
            directions=directions(args),
        )
    res["provenance"] = provenance(args, "fit", FIT_OPTIONS)
    res["x_axis"], res["x_unit"] = LOSS_AXES[args.x]
    files = []
    if args.out:
        from emergence_laws.report import plots_fit

        out = make_out_dir(args.out)
        if args.baseline == "sigmoid":
            files.append(plots_fit.plot_sigmoid_baseline(res, out / "sigmoid_baseline.png"))
        else:
            files.append(plots_fit.plot_law_fit(res, out / "law_fit.png"))
            files.append(plots_fit.plot_shift(res, out / "emergence_shift.png"))
        (out / "prediction.json").write_text(json.dumps(res, indent=2) + "\n")
        files.insert(0, out / "prediction.json")
    if args.json:
        print(json.dumps(res))
    else:
        _print_text(res, files, sigmoid=args.baseline == "sigmoid")
    if args.baseline == "sigmoid" and not res["identified"]:
        from emergence_laws.errors import NotIdentifiableError

        raise NotIdentifiableError(
            f"task {res['task']}: the few-shot curve has not started to rise, so the sigmoid's elbow is no prediction; "
            "add stronger checkpoints, or finetuned rows and fit the emergence law"
        )
    return 0


def _print_text(res: dict, files: list, *, sigmoid: bool) -> None:
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
        iv = res["interval"]
        ivs = f" (5-95%: {iv[0]:.3f}-{iv[1]:.3f})" if iv else ""
        u = res.get("x_unit", "nats")
        print(
            f"task {res['task']} ({res['metric']}): few-shot emergence predicted at pretraining loss "
            f"{res['emergence_point']:.3f} {u}{ivs}, D0={res['d0']:g}"
        )
        p = res["law"]["params"]
        basis = "(ln D)" if res["law"]["form"] == "logpower" else "D"
        print(
            f"  law: E(D) = {p['k']:.4g} {basis}^{p['alpha']:.3g} + {p['C']:.4g} {u}; A = {p['A']:.3g} per unit of "
            f"loss, B = {p['B']:.3g}, few-shot floor shift {p['delta']:+.3g}; {res['n_rows']} rows"
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
    for w in res["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
