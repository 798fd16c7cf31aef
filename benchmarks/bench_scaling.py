"""Benchmark: how `fit`, `backtest` and `detect` scale with the table, from 500 to 100,000 rows.

    python benchmarks/bench_scaling.py                       # every size, one JSON line per measurement
    python benchmarks/bench_scaling.py --rows 500 5000       # some sizes
    python benchmarks/bench_scaling.py --md docs/results/scaling.md   # also write the Markdown table

Tables (:mod:`ladders`): a ladder of checkpoints x 4 data amounts x 2 random subsets + one few-shot row
per checkpoint (9 rows per checkpoint), drawn from a random true law with run-to-run variance, the
ladder extended 0.25 nats past the true few-shot emergence point so that a backtest has a truth to
score against. Each measurement runs in a fresh process and times the table API that the command
calls, on the table already in memory (no import, no file reading):

- ``fit``: :func:`emergence_laws.analysis.table_fit.fit_table` with the defaults of `emergence fit`
  (200 bootstrap replicates, D0 unknown in [N, 10 N], the likelihood's ridge);
- ``backtest``: :func:`~emergence_laws.analysis.table_fit.backtest_table` with the defaults of
  `emergence backtest` (no bootstrap), cutoff 0.03 nats above the true emergence point;
- ``detect``: :func:`emergence_laws.analysis.table_detect.detect_table` with the defaults of `emergence detect`.

Each JSON line holds the seconds, microseconds per row (flat or falling = cost at most linear in the
table), the distinct points the likelihood works on, the process's peak memory, and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from emergence_laws.provenance import cpu_model, git_commit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: Table sizes measured by default (rows).
ROWS: tuple[int, ...] = (500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)
#: What is timed.
WHAT: tuple[str, ...] = ("fit", "backtest", "detect")
#: The ladder continues this far (nats) past the true few-shot emergence point.
PAST: float = 0.25
#: The backtest fits on checkpoints weaker than the truth + this (nats).
CUTOFF_ABOVE_TRUTH: float = 0.03


def stamp() -> dict:
    """Where and when: commit (and the src files that differ from it), CPU model, cores, load (1-minute average)."""
    try:
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "src"],
                               capture_output=True, text=True, cwd=HERE.parent, check=False).stdout
    except OSError:
        dirty = ""
    changed = [ln[3:] for ln in dirty.splitlines() if ln.strip()]
    return {"commit": git_commit(HERE.parent, dirty_under="src"), "changed": changed, "cpu": cpu_model(),
            "cores": os.cpu_count(), "load": round(os.getloadavg()[0], 2), "python": platform.python_version()}


def measure(what: str, rows: int, bootstrap: int, seed: int) -> dict:
    """Time one command's table API on a table of about ``rows`` rows (in this process)."""
    import warnings

    from ladders import ladder_table, rows_per_checkpoint
    from memory import peak_rss_mb

    warnings.simplefilter("ignore")
    n_ckpt = max(3, round(rows / rows_per_checkpoint()))
    table = ladder_table(n_ckpt, seed, past=PAST)
    df = table.frame()
    out = {"bench": "scaling", "what": what, "rows": len(df), "checkpoints": n_ckpt}
    t0, c0 = time.perf_counter(), time.process_time()
    if what == "fit":
        from emergence_laws.analysis.table_fit import fit_table

        res = fit_table(df, bootstrap=bootstrap, seed=seed)
        out.update(bootstrap=bootstrap, emergence_point=round(res["emergence_point"], 4),
                   interval=[round(x, 4) for x in res["interval"]] if res["interval"] else None)
    elif what == "backtest":
        from emergence_laws.analysis.table_fit import backtest_table

        res = backtest_table(df, "synthetic", table.truth + CUTOFF_ABOVE_TRUTH)
        out.update(predicted=round(res["predicted"], 4), actual=round(res["actual"], 4))
    elif what == "detect":
        from emergence_laws.analysis.table_detect import detect_table

        res = detect_table(df)
        out.update(curves=len(res["series"]))
    else:
        raise SystemExit(f"bench_scaling: error: unknown measurement {what!r}; use one of {', '.join(WHAT)}")
    seconds = time.perf_counter() - t0
    if what in ("fit", "backtest") and res.data is not None:
        out["points"] = _points(res.data)
    cpu = time.process_time() - c0
    out.update(seconds=round(seconds, 3), cpu_s=round(cpu, 3), us_per_row=round(1e6 * seconds / len(df), 2),
               cpu_us_per_row=round(1e6 * cpu / len(df), 2), peak_mb=round(peak_rss_mb(), 1),
               truth=round(table.truth, 4), **stamp())
    return out


def _points(data) -> int:
    """Distinct (checkpoint loss, data amount) points of the fitted rows."""
    from emergence_laws.laws.likelihood import Likelihood

    return Likelihood(data, "logpower", "relu", 30.0, 1.0).n_points


def _on_path(files: list[str]) -> int:
    """How many of ``files`` are in the packages the timed commands run (laws/, analysis/)."""
    return sum(("/laws/" in f) or ("/analysis/" in f) for f in files)


def markdown(results: list[dict], start: dict, end: dict, argv: list[str]) -> str:
    """The table of docs/results/scaling.md: one row per size, seconds and microseconds per row."""
    by = {(r["rows"], r["what"]): r for r in results}
    sizes = sorted({r["rows"] for r in results})
    whats = [w for w in WHAT if any(r["what"] == w for r in results)]
    lines = [
        "# Scaling of fit, backtest and detect with the table",
        "",
        f"Measured at commit `{start['commit']}`"
        + (f" ({', '.join(start['changed'])}; {_on_path(start['changed'])} of them in laws/ or analysis/)"
           if start["changed"] else "")
        + f" on {start['cpu']} ({start['cores']} cores), Python "
        f"{start['python']}, load (1-min average) {start['load']} at the start and {end['load']} at the end, "
        "with `" + " ".join(["python", "benchmarks/bench_scaling.py", *argv]) + "`.",
        "",
        "Each cell: wall seconds / CPU seconds of the command's table API on a table already in memory (a "
        "fresh process per cell), and CPU microseconds per row in brackets (CPU time moves less with the "
        "machine's load than wall time); flat or falling per-row cost means the cost grows at most linearly "
        "with the table. Tables: `benchmarks/ladders.py`, 9 rows per checkpoint (4 data "
        "amounts x 2 random subsets + 1 few-shot row). `fit`: 200 bootstrap replicates and the likelihood's "
        "ridge (the defaults of `emergence fit`); `backtest`: the defaults of `emergence backtest` (no "
        "bootstrap); `detect`: the defaults of `emergence detect`.",
        "",
        "| rows | checkpoints | points | " + " | ".join(f"{w}: wall / CPU s (CPU µs/row)" for w in whats)
        + " | peak MB |",
        "|---|---|---|" + "---|" * len(whats) + "---|",
    ]
    for n in sizes:
        rs = [by.get((n, w)) for w in whats]
        first = next(r for r in rs if r)
        pts = next((r["points"] for r in rs if r and "points" in r), "–")
        cells = [f"{r['seconds']:.2f} / {r['cpu_s']:.2f} ({r['cpu_us_per_row']:.0f})" if r else "–" for r in rs]
        peak = max(r["peak_mb"] for r in rs if r)
        lines.append(f"| {n} | {first['checkpoints']} | {pts} | " + " | ".join(cells) + f" | {peak:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=list(ROWS), help="table sizes (rows)")
    ap.add_argument("--what", nargs="+", choices=WHAT, default=list(WHAT), help="what to time")
    ap.add_argument("--bootstrap", type=int, default=200, help="fit's replicates (default 200, as `emergence fit`)")
    ap.add_argument("--seed", type=int, default=1, help="table and bootstrap seed")
    ap.add_argument("--md", help="also write the Markdown table to this file (e.g. docs/results/scaling.md)")
    ap.add_argument("--one", nargs=2, metavar=("WHAT", "ROWS"), help=argparse.SUPPRESS)  # a child's measurement
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.bootstrap, args.seed)), flush=True)
        return 0
    start = stamp()
    results = []
    for rows in args.rows:
        for what in args.what:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--one", what, str(rows),
                   "--bootstrap", str(args.bootstrap), "--seed", str(args.seed)]
            r = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if r.returncode != 0:
                print(json.dumps({"bench": "scaling", "what": what, "rows": rows, "failed": r.stderr.strip()[-500:]}),
                      flush=True)
                continue
            line = r.stdout.strip().splitlines()[-1]
            results.append(json.loads(line))
            print(line, flush=True)
    if args.md and results:
        given = argv if argv is not None else sys.argv[1:]
        Path(args.md).write_text(markdown(results, start, stamp(), given), encoding="utf-8")
        print(f"wrote {args.md}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
