"""`emergence fit RESULTS`: fit the emergence law to a results table and predict few-shot emergence (no torch)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


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
    p.add_argument("--metric", help="metric to fit (default: accuracy, acc, acc_norm, exact_match, ... in that order)")
    p.add_argument("--method", help="finetuning method to fit when rows mix several (full, lora)")
    p.add_argument("--d0", type=float, help="low-data limit D0 in examples (default: the few-shot rows' shots)")
    p.add_argument("--form", choices=("logpower", "power"), default="logpower", help="E(D) form (default logpower)")
    p.add_argument("--elbow", choices=("relu", "softplus"), default="relu", help="elbow shape (default relu)")
    p.add_argument(
        "--bootstrap",
        type=int,
        default=200,
        metavar="N",
        help="bootstrap replicates for the interval (default 200; 0 = none)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap")
    p.add_argument(
        "--baseline",
        choices=("none", "sigmoid"),
        default="none",
        help="sigmoid: fit only the few-shot sigmoid baseline (works without finetuned rows)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--out", help="directory for prediction.json and PNG plots")
    p.set_defaults(func=run)


def resolve_results(path: str) -> str:
    """``example`` (when no such file exists) names the bundled example table; anything else is a path."""
    if path == "example" and not Path(path).exists():
        from importlib.resources import files

        return str(files("emergence_laws") / "data" / "example_results.csv")
    return path


def make_out_dir(path: str | Path) -> Path:
    """Create the `--out` folder (parents included) or raise a one-line InputError."""
    from emergence_laws.errors import InputError

    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot create the directory ({exc.strerror}); choose a writable path") from None
    return out


def provenance(args: argparse.Namespace, command: str, options: tuple[str, ...]) -> dict:
    """Where a result came from: the data file (as given and resolved), the tool version, the options used.

    ``options`` names the argparse destinations to record; each is recorded with its value (``None``
    = not given, the default applied). ``command`` is an equivalent command line.
    """
    import datetime as dt
    import shlex

    from emergence_laws import __version__

    opts = {name: getattr(args, name, None) for name in options}
    cmd = ["emergence", command, str(args.results)]
    for name, value in opts.items():
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        cmd += [flag] if value is True else [flag, str(value)]
    return {
        "data": str(args.results),
        "data_resolved": str(Path(resolve_results(str(args.results))).resolve()),
        "version": __version__,
        "tool_version": f"emergence-laws {__version__}",
        "command": shlex.join(cmd),
        "options": opts,
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


#: options of `emergence fit` recorded in the provenance of its results
FIT_OPTIONS: tuple[str, ...] = ("task", "metric", "method", "d0", "form", "elbow", "bootstrap", "seed", "baseline")


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
    return f"≈ {' / '.join(parts)} (scaling-law fit over {n} models)" if parts else None


def run(args: argparse.Namespace) -> int:
    from emergence_laws.analysis.fit import baseline_table, fit_table
    from emergence_laws.errors import InputError
    from emergence_laws.results import load_results

    if args.bootstrap < 0:
        raise InputError(f"--bootstrap {args.bootstrap} is negative; use 0 (no interval) or e.g. 200")
    df = load_results(resolve_results(args.results))
    if args.baseline == "sigmoid":
        res = baseline_table(df, task=args.task, metric=args.metric)
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
        )
    out_json = {**res.to_json(), "provenance": provenance(args, "fit", FIT_OPTIONS)}
    files = []
    if args.out:
        from emergence_laws.report import plots_fit

        out = make_out_dir(args.out)
        if args.baseline == "sigmoid":
            files.append(plots_fit.plot_sigmoid_baseline(res, out / "sigmoid_baseline.png"))
        else:
            files.append(plots_fit.plot_law_fit(res, out / "law_fit.png"))
            files.append(plots_fit.plot_shift(res, out / "emergence_shift.png"))
        (out / "prediction.json").write_text(json.dumps(out_json, indent=2) + "\n")
        files.insert(0, out / "prediction.json")
    if args.json:
        print(json.dumps(out_json))
        return 0
    if args.baseline == "sigmoid":
        ok = "" if res["identified"] else " — NOT identified: the curve has not started to rise"
        print(
            f"task {res['task']} ({res['metric']}): few-shot sigmoid baseline, tangent elbow at {res['axis']} = "
            f"{res['emergence_point']:.4g}{ok}"
        )
    else:
        iv = res["interval"]
        ivs = f" (5-95%: {iv[0]:.3f}-{iv[1]:.3f})" if iv else ""
        print(
            f"task {res['task']} ({res['metric']}): few-shot emergence predicted at pretraining loss "
            f"{res['emergence_point']:.3f} nats{ivs}, D0={res['d0']:g}"
        )
        p = res["law"]["params"]
        basis = "(ln D)" if res["law"]["form"] == "logpower" else "D"
        print(
            f"  law: E(D) = {p['k']:.4g} {basis}^{p['alpha']:.3g} + {p['C']:.4g} nats; A = {p['A']:.3g}/nat, "
            f"B = {p['B']:.3g}, few-shot floor shift {p['delta']:+.3g}; {res['n_rows']} rows"
        )
        obs = res.get("fewshot_observed")
        if obs:
            print(
                "  observed few-shot elbow: "
                + (
                    f"{obs['E']:.3f} nats"
                    if obs["emerged"]
                    else f"not yet (flat down to {obs['strongest_loss']:.3f} nats)"
                )
            )
    s = _fmt_scale(res.get("scale"))
    if s:
        print("  " + s)
    for f in files:
        print(f"  wrote {f}")
    for w in res["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    return 0
