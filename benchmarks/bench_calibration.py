"""Calibration of the few-shot emergence interval: how often a nominal 90% interval covers the truth.

    python benchmarks/bench_calibration.py                      # the full table (~1 h on 2 busy cores)
    python benchmarks/bench_calibration.py --tables 8 --quick   # a smoke run
    python benchmarks/bench_calibration.py --demo out-seed0 out-seed1 out-seed2   # + demo outputs as rows
    python benchmarks/bench_calibration.py --demo-only --demo out-seed0 ...       # only the demo rows

Synthetic tables come from :mod:`emergence_laws.laws.synthetic`: a random true emergence law and
ladder per table, with one misspecification at a time at three strengths (checkpoint offsets,
run-to-run finetuning variance, a few-shot floor shift, binomial noise), all four together, and
none; the true D0 is always unknown (log-uniform in [N, 10 N]). Every table is fitted two ways:

- ``new``: the default interval (D0 unknown in [N, 10 N], checkpoints x subsets resampled, several
  starts per replicate, widened to the likelihood's ridge; point estimate = the replicates' median);
- ``new (D0 known)``: the same, told the true D0.

The interval before issue 12 (D0 = N, rows resampled within random subsets, replicates warm-started
from the point fit; the ``today`` columns of ``benchmarks/results/calibration.json`` and
docs/results/calibration.md) was measured with options since removed (``resample="rows"``,
``restarts=0``); to rerun it, run this script in a worktree of commit 76f17b8, the last that has them
(``git worktree add ../old 76f17b8 && cd ../old && PYTHONPATH=src python benchmarks/bench_calibration.py``).

Four stress cells (a checkpoint offset or run variance of 0.08 nats with little binomial noise; the
true D0 at either end of the range) are reported apart from the overall figure.

Reports, per misspecification and strength and overall: coverage (share of tables whose 90%
interval holds the true few-shot emergence point), median interval width and median absolute
error of the point estimate (nats). Writes every table's numbers and the summary as JSON
(default ``benchmarks/results/calibration.json``) and prints the summary as a Markdown table.

``--demo DIR``: a folder written by ``emergence demo`` (its ``prediction.json`` holds ``interval``,
``true_emergence_point`` and ``predicted_emergence_point``); each becomes a row of its own, and
together a "demo" row, with whatever interval the demo published.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np

from emergence_laws.errors import EmergenceError
from emergence_laws.jsonutil import clean
from emergence_laws.laws.bootstrap import fit_and_bootstrap
from emergence_laws.laws.synthetic import Misspecification, draw_table

#: (misspecification, strength label, spec). Strength 0 of every kind is the "none" row.
CELLS: list[tuple[str, str, Misspecification]] = [
    ("none", "-", Misspecification()),
    *[("checkpoint offsets", f"sd {s:g} nats", Misspecification(checkpoint_sd=s)) for s in (0.01, 0.02, 0.04)],
    *[("run-to-run variance", f"sd {s:g} nats", Misspecification(run_sd=s)) for s in (0.01, 0.02, 0.04)],
    *[("few-shot floor shift", f"|delta| {s:g}", Misspecification(floor_shift=s)) for s in (0.02, 0.04, 0.08)],
    *[("binomial noise", f"n_eval {n}", Misspecification(n_eval=n)) for n in (2000, 200, 100)],
    *[
        ("all four", label, Misspecification(checkpoint_sd=s, run_sd=s, floor_shift=f, n_eval=n))
        for label, s, f, n in (("low", 0.01, 0.02, 1000), ("medium", 0.02, 0.04, 500), ("high", 0.04, 0.08, 200))
    ],
]

#: Stress cells, outside the model's declared assumptions or where one effect dominates; reported apart
#: from the overall figure (which pools :data:`CELLS`).
STRESS: list[tuple[str, str, Misspecification]] = [
    ("stress: checkpoint offsets", "sd 0.08 nats, n_eval 2000", Misspecification(checkpoint_sd=0.08, n_eval=2000)),
    ("stress: run-to-run variance", "sd 0.08 nats, n_eval 2000", Misspecification(run_sd=0.08, n_eval=2000)),
    ("stress: D0 at the range's ends", "true D0 = N", Misspecification(d0_factor=(1.0, 1.0))),
    ("stress: D0 at the range's ends", "true D0 = 10 N", Misspecification(d0_factor=(10.0, 10.0))),
]

#: Fields of a fit's record that follow from point, lo, hi and the truth (left out of the JSON files).
DERIVED = ("covered", "width", "error", "seconds")


def compact_json(obj) -> str:
    """Strict, compact JSON, floats rounded to 5 decimals, per-fit records without their :data:`DERIVED` fields."""
    def rnd(x):
        if isinstance(x, float):
            return round(x, 5)
        if isinstance(x, dict):
            if "point" in x and "lo" in x and "demo" not in x:  # a synthetic table's fit, not a demo row
                x = {k: v for k, v in x.items() if k not in DERIVED}
            return {k: rnd(v) for k, v in x.items()}
        if isinstance(x, list):
            return [rnd(v) for v in x]
        return x

    return json.dumps(rnd(clean(obj)), separators=(",", ":"), allow_nan=False) + "\n"


def estimate(table, known: bool, bootstrap: int, seed: int, **kw) -> dict:
    """Fit one table (told the true D0 when ``known``; ``kw``: more keywords of fit_and_bootstrap); the point
    estimate, the 90% interval, and the time taken."""
    data = table.law_data()
    if known:
        kw["d0"] = table.law.d0
    t0 = time.perf_counter()
    try:
        law, _ = fit_and_bootstrap(data, bootstrap, seed, **kw)
    except EmergenceError as exc:
        return {"failed": str(exc)}
    point = law.point_estimate
    lo, hi = law.interval
    out = {
        "point": point,
        "lo": lo,
        "hi": hi,
        "covered": bool(lo <= table.truth <= hi),
        "width": hi - lo,
        "error": abs(point - table.truth),
        "seconds": time.perf_counter() - t0,
    }
    if law.ridge_interval is not None:  # the interval's two parts: the replicates' 5-95% and the ridge
        out["boot"], out["ridge"] = list(law.bootstrap_interval), list(law.ridge_interval)
    return out


def run_cell(args: tuple) -> list[dict]:
    """All tables of one cell (picklable, for --jobs); ``variants``: (name, D0 known?, keywords of fit_and_bootstrap)."""
    kind, label, spec, seeds, bootstrap, variants = args
    warnings.simplefilter("ignore")
    out = []
    for s in seeds:
        table = draw_table(spec, s)
        rec = {"misspecification": kind, "strength": label, "table_seed": s, "truth": table.truth,
               "true_d0": table.law.d0, "shots": table.shots, "rows": int(table.rows["value"].size)}
        for name, known, kw in variants:
            rec[name] = estimate(table, known, bootstrap, seed=s, **kw)
        out.append(rec)
    return out


def summarise(records: list[dict], variants: list[str]) -> dict:
    """Coverage, median width and median error per variant over ``records``."""
    out = {"tables": len(records)}
    for v in variants:
        ok = [r[v] for r in records if v in r and "failed" not in r[v]]
        out[v] = {
            "fitted": len(ok),
            "failed": sum(1 for r in records if v in r and "failed" in r[v]),
            "coverage": float(np.mean([o["covered"] for o in ok])) if ok else None,
            "covered": int(sum(o["covered"] for o in ok)),
            "median_width": float(np.median([o["width"] for o in ok])) if ok else None,
            "median_error": float(np.median([o["error"] for o in ok])) if ok else None,
        }
        parts = [o for o in ok if "boot" in o]
        if parts:  # the interval's bootstrap part alone, and how often the ridge widened it
            truth = [r["truth"] for r in records if v in r and "boot" in r[v]]
            out[v]["bootstrap_part"] = {
                "covered": int(sum(o["boot"][0] <= t <= o["boot"][1] for o, t in zip(parts, truth))),
                "median_width": float(np.median([o["boot"][1] - o["boot"][0] for o in parts])),
                "widened": int(sum(o["ridge"][0] < o["boot"][0] or o["ridge"][1] > o["boot"][1] for o in parts)),
            }
    return out


def _demo_seed(pred: dict):
    """The demo's world seed (prediction.json keeps the config: config.world.seed)."""
    cfg = pred.get("config") or {}
    return (cfg.get("world") or {}).get("seed", cfg.get("seed"))


def demo_rows(dirs: list[str]) -> list[dict]:
    """One row per demo output folder: its published interval against its true emergence point."""
    rows = []
    for d in dirs:
        path = Path(d) / "prediction.json" if Path(d).is_dir() else Path(d)
        try:
            pred = json.loads(path.read_text())
            lo, hi = (float(x) for x in pred["interval"])
            truth = float(pred["true_emergence_point"])
            point = float(pred.get("predicted_emergence_point", pred.get("emergence_point")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            sys.exit(f"bench_calibration: error: --demo {d}: no usable prediction.json ({type(exc).__name__}: {exc}); "
                     "pass a folder written by `emergence demo` (interval, true_emergence_point)")
        rows.append({
            "demo": str(d), "seed": _demo_seed(pred), "truth": truth, "point": point,
            "lo": lo, "hi": hi, "covered": bool(lo <= truth <= hi), "width": hi - lo, "error": abs(point - truth),
            "d0": pred.get("d0", (pred.get("law") or {}).get("d0")), "d0_range": pred.get("d0_range"),
            "interval_includes": pred.get("interval_includes"),
        })
    return rows


def _md(text: str) -> str:
    """A table cell's text with its pipes escaped (``|delta|``)."""
    return str(text).replace("|", "\\|")


def _fmt(s: dict | None, v: str) -> str:
    x = (s or {}).get(v) or {}
    if not x.get("fitted"):
        return "– | – | –"
    return f"{x['covered']}/{x['fitted']} ({100 * x['coverage']:.0f}%) | {x['median_width']:.3f} | {x['median_error']:.3f}"


def _cells_in_order(summary: dict) -> list[dict | None]:
    """Main cells, then None (the overall row), then the stress cells."""
    main = [c for c in summary["cells"] if not c["misspecification"].startswith("stress")]
    stress = [c for c in summary["cells"] if c["misspecification"].startswith("stress")]
    return [*main, None, *stress]


def markdown(summary: dict, demos: list[dict]) -> str:
    """The full table: coverage, median width and median error for the two fits of every cell."""
    variants = ("new", "new_known")
    lines = [
        "| misspecification | strength | tables | coverage | width | error | D0 known: coverage | width | error |",
        "|---|---|---|" + "---|" * 6,
    ]
    for cell in _cells_in_order(summary):
        if cell is None:
            o = summary["overall"]
            lines.append(f"| **overall** | | {o['tables']} | " + " | ".join(
                "**" + _fmt(o, v).replace(" | ", "** | **") + "**" for v in variants) + " |")
            continue
        lines.append(f"| {cell['misspecification']} | {_md(cell['strength'])} | {cell['tables']} | "
                     + " | ".join(_fmt(cell, v) for v in variants) + " |")
    if demos:
        lines += ["", "| demo output | seed | published interval | truth | covered | width | error |", "|---|---|---|---|---|---|---|"]
        for d in demos:
            lines.append(f"| {d['demo']} | {d['seed']} | [{d['lo']:.4f}, {d['hi']:.4f}] | {d['truth']:.4f} | "
                         f"{'yes' if d['covered'] else 'no'} | {d['width']:.4f} | {d['error']:.4f} |")
        cov = sum(d["covered"] for d in demos)
        lines.append(f"| **all demos** | | | | **{cov}/{len(demos)}** | **{np.median([d['width'] for d in demos]):.4f}** | "
                     f"**{np.median([d['error'] for d in demos]):.4f}** |")
    return "\n".join(lines)


def ridge_table(summary: dict, variant: str = "new") -> str:
    """How the likelihood's ridge changed the interval: coverage and width of the bootstrap part alone
    and of the whole interval, and on how many tables the ridge reached past the bootstrap part."""
    lines = ["| misspecification | strength | ridge widened | coverage: bootstrap part → interval "
             "| median width: bootstrap part → interval |", "|---|---|---|---|---|"]
    for cell in _cells_in_order(summary):
        c = summary["overall"] if cell is None else cell
        x = c.get(variant) or {}
        b = x.get("bootstrap_part")
        if not b:
            continue
        name, strength = ("**overall**", "") if cell is None else (cell["misspecification"], _md(cell["strength"]))
        n = x["fitted"]
        lines.append(f"| {name} | {strength} | {b['widened']}/{n} | {b['covered']}/{n} → {x['covered']}/{n} "
                     f"| {b['median_width']:.3f} → {x['median_width']:.3f} |")
    return "\n".join(lines)


def compact(summary: dict) -> str:
    """The docs' table: coverage, width and error with D0 unknown, and the error with D0 known."""
    def pct(x: dict) -> str:
        return "–" if not x.get("fitted") else f"{100 * x['coverage']:.0f}%"

    def num(x: dict, key: str) -> str:
        return "–" if not x.get("fitted") else f"{x[key]:.3f}"

    lines = [
        (
            "| misspecification | strength | coverage of the 90% interval | median width (nats) | median error (nats) "
            "| median error, D0 known |"
        ),
        "|---|---|---|---|---|---|",
    ]
    for cell in _cells_in_order(summary):
        c = summary["overall"] if cell is None else cell
        name, strength = ("**overall**", "") if cell is None else (cell["misspecification"], _md(cell["strength"]))
        n, nk = c.get("new", {}), c.get("new_known", {})
        lines.append(f"| {name} | {strength} | **{pct(n)}** | {num(n, 'median_width')} | {num(n, 'median_error')} "
                     f"| {num(nk, 'median_error')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tables", type=int, default=40, help="tables per misspecification x strength (default 40)")
    ap.add_argument("--seed", type=int, default=0, help="base seed of the tables (default 0; the design used 1)")
    ap.add_argument("--bootstrap", type=int, default=200, help="replicates per interval (default 200, as `fit`)")
    ap.add_argument("--quick", action="store_true", help="only the none / all-four cells")
    ap.add_argument("--no-known", action="store_true", help="skip the D0-known fits")
    ap.add_argument("--no-stress", action="store_true", help="skip the stress cells")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--demo", nargs="+", default=[], metavar="DIR", help="demo output folders to add as rows")
    ap.add_argument("--demo-only", action="store_true", help="only the demo rows (no synthetic tables)")
    ap.add_argument("--out", default=None, help="the JSON to write (default: benchmarks/results/calibration.json, "
                                               "or calibration_demos.json with --demo-only)")
    args = ap.parse_args(argv)

    demos = demo_rows(args.demo)
    variants = [("new", False, {})]
    if not args.no_known:
        variants += [("new_known", True, {})]
    names = [v[0] for v in variants]
    cells = [] if args.demo_only else [c for c in CELLS if not args.quick or c[0] in ("none", "all four")]
    if not (args.demo_only or args.quick or args.no_stress):
        cells += STRESS
    jobs = [
        (kind, label, spec, [args.seed * 1_000_000 + 1000 * i + j for j in range(args.tables)], args.bootstrap, variants)
        for i, (kind, label, spec) in enumerate(CELLS + STRESS)
        if (kind, label, spec) in cells
    ]
    t0 = time.perf_counter()
    if args.jobs > 1:
        from multiprocessing import Pool

        with Pool(args.jobs) as pool:
            per_cell = pool.map(run_cell, jobs)
    else:
        per_cell = []
        for job in jobs:
            per_cell.append(run_cell(job))
            print(f"  {job[0]}, {job[1]}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    records = [r for recs, job in zip(per_cell, jobs) for r in recs if not job[0].startswith("stress")]
    summary = {
        "cells": [
            {"misspecification": kind, "strength": label, "spec": asdict(spec), **summarise(recs, names)}
            for (kind, label, spec, *_), recs in zip(jobs, per_cell)
        ],
        "overall": summarise(records, names),  # the main grid (CELLS); stress cells are reported apart
    }
    if demos:
        summary["demo"] = {"runs": len(demos), "covered": sum(d["covered"] for d in demos),
                           "median_width": float(np.median([d["width"] for d in demos])),
                           "median_error": float(np.median([d["error"] for d in demos]))}
    out = {
        "bench": "calibration",
        "nominal": 0.90,
        "tables_per_cell": args.tables,
        "base_seed": args.seed,
        "bootstrap": args.bootstrap,
        "methods": {"new": "D0 unknown in [N, 10N]; checkpoints x random subsets resampled; several starts per replicate; "
                           "the interval widened to the likelihood's ridge; point = median of the replicates"},
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - t0, 1),
        "summary": summary,
        "demos": demos,
        "tables": records,
    }
    path = Path(args.out or Path(__file__).parent / "results" / ("calibration_demos.json" if args.demo_only else "calibration.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(compact_json(out))
    print(markdown(summary, demos))
    if summary["cells"]:
        print("\n" + ridge_table(summary))
        print("\n" + compact(summary))
    print(f"\nwrote {path} ({out['seconds']} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
