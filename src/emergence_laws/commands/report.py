"""`emergence report DIR_OR_JSON`: render a fit/backtest/detect/demo output into one HTML file."""

from __future__ import annotations

import argparse
import json

#: Result file names the command looks for in a folder, and the report kind each one means.
RESULT_FILES: dict[str, str] = {
    "detect.json": "detect",
    "prediction.json": "fit",
    "fit.json": "fit",
    "backtest.json": "backtest",
    "demo.json": "demo",
    "compare.json": "compare",
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="render a fit/backtest/detect/demo output folder (or its JSON) into one HTML file",
        description=(
            "Render the output of `emergence fit`, `backtest`, `detect` or `demo` (a folder holding "
            "prediction.json / backtest.json / detect.json / demo.json and PNG figures, or the JSON file "
            "itself) into one self-contained HTML file: figures embedded, tables, provenance."
        ),
    )
    p.add_argument("source", help="output folder, or its JSON file")
    p.add_argument("--out", help="HTML file to write (default: report.html next to the JSON)")
    p.add_argument("--kind", choices=("fit", "backtest", "detect", "demo", "compare"),
                   help="report kind (default: from the JSON's `kind` key or its file name)")
    p.add_argument("--title", help="page title")
    p.set_defaults(func=run)


def find_result(source) -> tuple:
    """(json path, kind or None) for a folder or a JSON file; InputError when there is none."""
    from pathlib import Path

    from emergence_laws.errors import InputError

    src = Path(source)
    if not src.exists():
        raise InputError(f"{src}: no such file or folder; give an output folder of fit/backtest/detect/demo")
    if src.is_file():
        if src.suffix.lower() != ".json":
            raise InputError(f"{src}: not a .json file; give the output folder or its JSON result")
        return src, RESULT_FILES.get(src.name)
    for name, kind in RESULT_FILES.items():
        if (src / name).is_file():
            return src / name, kind
    jsons = sorted(src.glob("*.json"))
    if len(jsons) == 1:
        return jsons[0], None
    raise InputError(
        f"{src}: no result JSON found (looked for {', '.join(RESULT_FILES)}); run fit/backtest/detect/demo "
        "with --out first"
    )


def result_kind(payload: dict) -> str | None:
    """The kind of a result JSON from its `kind` key or, failing that, the keys only that kind writes."""
    if payload.get("kind") in ("fit", "backtest", "detect", "demo", "compare"):
        return payload["kind"]
    if "pairs" in payload and "groups" in payload:
        return "compare"
    if "series" in payload:
        return "detect"
    if "predicted_emergence_point" in payload or "true_emergence_point" in payload:
        return "demo"
    if "cutoff_loss" in payload:
        return "backtest"
    if "law" in payload or "emergence_point" in payload:
        return "fit"
    return None


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from emergence_laws.errors import InputError
    from emergence_laws.paths import check_output_file
    from emergence_laws.report.html import render_report

    path, kind = find_result(args.source)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); regenerate it") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise InputError(f"{path}: cannot read it as JSON text ({type(exc).__name__}); regenerate it") from None
    if not isinstance(payload, dict):
        raise InputError(f"{path}: expected a JSON object at the top level")
    found = result_kind(payload) or kind
    if args.kind and found and args.kind != found:
        raise InputError(f"{path}: holds a {found} result, not {args.kind}; drop --kind or pass --kind {found}")
    kind = args.kind or found
    if kind not in ("fit", "backtest", "detect", "demo", "compare"):
        raise InputError(f"{path}: cannot tell the report kind; pass --kind fit|backtest|detect|demo|compare")
    folder = path.parent
    out = check_output_file(Path(args.out) if args.out else folder / "report.html", "--out")
    figures = sorted(p for p in folder.glob("*.png"))
    if kind == "detect" and not figures and payload.get("points"):
        from emergence_laws.report.plots_detect import write_detect_figures

        figs = write_detect_figures(payload, folder)
    else:
        figs = figures
    prov = dict(payload.get("provenance") or {})
    prov.setdefault("data", payload.get("data") or payload.get("results") or "(not recorded)")
    prov["result_file"] = str(path.resolve())
    if kind == "detect" and "series" in payload:
        from emergence_laws.report.plots_detect import detect_report_body

        body = detect_report_body(payload)
    else:
        from emergence_laws.report.summary import prediction_summary

        body = {k: v for k, v in payload.items() if k not in ("points", "kind", "provenance")}
        if kind == "compare":
            from emergence_laws.report.plots_compare import compare_summary

            lines = compare_summary(payload)
        else:
            lines = prediction_summary(payload) if kind in ("fit", "backtest", "demo") else None
        if lines and "summary" not in body:
            body = {"summary": lines, **body}
    title = args.title or {"detect": "Emergence detection", "fit": "Emergence prediction",
                           "backtest": "Emergence backtest", "demo": "Emergence demo",
                           "compare": "Emergence compared across runs"}[kind]
    render_report(body, figs, out, title=title, kind=kind, provenance=prov)
    print(f"wrote {out}")
    return 0
