"""Quality and speed of `emergence compare`: runs compared by the compute at which each reaches emergence.

    python benchmarks/bench_compare.py                          # the tables of docs/guide/compare.md
    python benchmarks/bench_compare.py --tables2 6 --tables3 4  # a smoke run
    python benchmarks/bench_compare.py --runtime-only           # the 3 groups x 500 rows timing alone

Tables of 2 and 3 runs come from :mod:`emergence_laws.laws.synthetic_runs` (built on the project's
generator, :mod:`emergence_laws.laws.synthetic`): each run has its own true emergence law (D0 unknown
in [N, 10 N]; checkpoint offsets, run-to-run variance and a few-shot floor shift at the "low" strength
of bench_calibration: 0.01 nats, 0.01 nats, 0.02; binomial noise, n_eval 500) and its own loss-vs-FLOPs
curve; the ladder stops 2-6x (in FLOPs) before the run's few-shot emergence, so every few-shot row is at
chance. True FLOPs are log-uniform over one decade, so pairs land at every ratio from 1x to 10x.
Every table is compared with the defaults of `emergence compare` (200 replicates per run).

Reports, over runs: the predicted FLOPs' error (x: max(pred/true, true/pred)), how often the 90% FLOPs
interval covers the true FLOPs and its median width (hi/lo, x), with and without the likelihood's ridge;
over pairs: the share called the right way round and the probability given, by the true ratio; a
reliability table (predicted probability bins vs how often the call was right). Then the runtime of
the command on 3 runs x 500 rows (20 checkpoints x 4 amounts x 6 subsets + 20 few-shot rows each).

Writes benchmarks/results/compare.json (every run and pair, the summary, the machine, the commit).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from emergence_laws.analysis.table_compare import compare_table
from emergence_laws.errors import EmergenceError
from emergence_laws.jsonutil import clean
from emergence_laws.laws.compute import quantiles
from emergence_laws.laws.synthetic import Misspecification
from emergence_laws.laws.synthetic_runs import draw_runs, runs_frame
from emergence_laws.provenance import cpu_model

ROOT = Path(__file__).resolve().parents[1]
#: The misspecification of every run ("low" of bench_calibration's "all four").
SPEC = Misspecification(checkpoint_sd=0.01, run_sd=0.01, floor_shift=0.02, n_eval=500)
#: Predicted-probability bins of the reliability table.
BINS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001)
#: True-ratio classes of the pairs, as the issue states its targets.
CLASSES: tuple[tuple[str, float, float], ...] = (("< 1.3x", 1.0, 1.3), ("1.3-2x", 1.3, 2.0), (">= 2x", 2.0, np.inf))


def machine() -> dict:
    """CPU model, cores, load and commit: the stamp of every figure."""
    cpu = cpu_model()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = [line[3:] for line in subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                                     capture_output=True, text=True).stdout.splitlines()]
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "?", []
    return {"cpu": cpu, "cores": os.cpu_count(), "load_1_5_15": list(os.getloadavg()), "python": platform.python_version(),
            "commit": commit + ("+uncommitted" if dirty else ""), "uncommitted_files": dirty}


def one_table(args: tuple) -> dict:
    """Draw and compare one table of ``n_runs`` runs (picklable, for --jobs)."""
    n_runs, seed, bootstrap = args
    runs = draw_runs(n_runs, SPEC, seed)
    df = runs_frame(runs)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = compare_table(df, bootstrap=bootstrap, seed=0)
        except EmergenceError as exc:
            return {"n_runs": n_runs, "seed": seed, "error": str(exc), "runs": [], "pairs": []}
    secs = time.perf_counter() - t0
    out_runs = []
    for run, g in zip(runs, res.groups):
        rec = {"group": run.name, "true_flops": run.true_flops, "true_ahead": run.true_flops / run.last_flops,
               "truth_nats": run.truth, "slope": run.slope, "identified": g.identified, "reason": g.reason}
        if g.identified:
            lo, hi = g.interval
            rec.update({
                "flops": g.point, "flops_interval": [lo, hi],
                "fold_error": max(g.point / run.true_flops, run.true_flops / g.point),
                "covered": (lo or 0.0) <= run.true_flops <= (hi if hi is not None else np.inf),
                "ridge_flops_interval": _ridge_interval(g),
                "width_x": None if lo is None or hi is None else hi / lo,
                "emergence_point": g.fit["emergence_point"], "interval": g.fit["interval"],
                "error_nats": g.fit["emergence_point"] - run.truth,
                # where the error comes from: the predicted E(D0) through the true curve, the truth through the fitted one
                "fold_error_law_only": _fold(_true_scale(run, g.fit["emergence_point"]), run.true_flops),
                "fold_error_curve_only": _fold(g.curve.scale_at(run.truth), run.true_flops),
            })
        out_runs.append(rec)
    truth = {r.name: r.true_flops for r in runs}
    pairs = []
    for p in res["pairs"]:
        tf, ts = truth[p["first"]], truth[p["second"]]
        pairs.append({"first": p["first"], "second": p["second"], "p_first": p["p_first"],
                      "true_ratio": max(tf, ts) / min(tf, ts), "right": tf < ts, "ratio": p["ratio"],
                      "ratio_interval": p["ratio_interval"]})
    return {"n_runs": n_runs, "seed": seed, "seconds": secs, "runs": out_runs, "pairs": pairs}


def _true_scale(run, loss: float) -> float:
    """FLOPs at which the run's true loss curve reaches ``loss`` nats (inf: below its irreducible loss)."""
    e_irr, R, a = run.curve
    return run.last_flops * ((loss - e_irr) / R) ** (-1.0 / a) if loss > e_irr else np.inf


def _fold(pred: float | None, truth: float) -> float:
    """max(pred / truth, truth / pred); inf when there is no prediction."""
    return np.inf if pred is None or not np.isfinite(pred) or pred <= 0 else max(pred / truth, truth / pred)


def _ridge_interval(g) -> list:
    """The compute interval with the likelihood's ridge added (what `--ridge` reports), for the comparison."""
    lo, hi = (float(v) for v in quantiles(g.draws, [0.05, 0.95]))
    if g.fit.law.ridge_interval is not None:
        r_lo, r_hi = g.fit.law.ridge_interval
        at_hi, at_lo = g.curve.scale_at(r_hi), g.curve.scale_at(r_lo)
        lo = min(lo, at_hi if at_hi is not None else np.inf)
        hi = max(hi, at_lo if at_lo is not None else np.inf)
    return [lo, hi]


def _band(runs: list[dict], key: str, edges: tuple[float, ...]) -> list[dict]:
    """Runs split by ``key`` at ``edges``: per band, the FLOPs error and the interval's coverage and width."""
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        rs = [r for r in runs if lo <= r[key] < hi]
        if rs:
            out.append({"band": [lo, hi], "n": len(rs), "within_2x": sum(r["fold_error"] <= 2 for r in rs),
                        "median_fold_error": float(np.median([r["fold_error"] for r in rs])),
                        "covered": sum(r["covered"] for r in rs),
                        "median_width_x": float(np.median([r["width_x"] if r["width_x"] is not None else np.inf
                                                           for r in rs])),
                        "median_abs_error_nats": float(np.median([abs(r["error_nats"]) for r in rs]))})
    return out


def summarise(tables: list[dict]) -> dict:
    runs = [r for t in tables for r in t["runs"]]
    ok = [r for r in runs if r["identified"]]
    pairs = [p for t in tables for p in t["pairs"]]

    def med(xs):
        xs = [x for x in xs if x is not None]
        return float(np.median(xs)) if xs else None

    def unbounded(key):
        return sum(r[key] is None for r in ok)

    out = {
        "tables": len(tables),
        "tables_failed": sum("error" in t for t in tables),
        "runs": len(runs),
        "identified": len(ok),
        "fold_error": {"median": med([r["fold_error"] for r in ok]), "p90": float(np.percentile([r["fold_error"] for r in ok], 90)) if ok else None,
                       "max": max((r["fold_error"] for r in ok), default=None),
                       "within_2x": sum(r["fold_error"] <= 2 for r in ok)},
        "fold_error_law_only": {"median": med([r["fold_error_law_only"] for r in ok]),
                                "within_2x": sum(r["fold_error_law_only"] <= 2 for r in ok)},
        "fold_error_curve_only": {"median": med([r["fold_error_curve_only"] for r in ok]),
                                  "within_2x": sum(r["fold_error_curve_only"] <= 2 for r in ok)},
        "tables_all_within_2x": sum(all(r.get("fold_error", np.inf) <= 2 for r in t["runs"]) and bool(t["runs"])
                                    for t in tables),
        "coverage": {"covered": sum(r["covered"] for r in ok),
                     "median_width_x": med([np.inf if r["width_x"] is None else r["width_x"] for r in ok]),
                     "unbounded": unbounded("width_x")},
        "coverage_with_ridge": {"covered": sum(r["ridge_flops_interval"][0] <= r["true_flops"] <= r["ridge_flops_interval"][1]
                                               for r in ok),
                                "median_width_x": med([r["ridge_flops_interval"][1] / r["ridge_flops_interval"][0]
                                                       for r in ok]),
                                "unbounded": sum(not np.isfinite(r["ridge_flops_interval"][1]) for r in ok)},
        "by_slope": _band(ok, "slope", (0.06, 0.12, 0.18, 0.25001)),
        "by_ahead": _band(ok, "true_ahead", (2.0, 3.0, 4.0, 6.0001)),
        "emergence_point": {"median_abs_error_nats": med([abs(r["error_nats"]) for r in ok]),
                            "p90_abs_error_nats": float(np.percentile([abs(r["error_nats"]) for r in ok], 90)) if ok else None,
                            "median_error_nats": med([r["error_nats"] for r in ok]),
                            "covered": sum(r["interval"][0] <= r["truth_nats"] <= r["interval"][1] for r in ok)},
        "pairs": {},
        "reliability": [],
    }
    for name, lo, hi in CLASSES:
        ps = [p for p in pairs if lo <= p["true_ratio"] < hi]
        out["pairs"][name] = {
            "n": len(ps),
            "right": sum(p["right"] for p in ps),
            "right_with_p_ge_0.8": sum(p["right"] and p["p_first"] >= 0.8 for p in ps),
            "wrong_with_p_ge_0.8": sum((not p["right"]) and p["p_first"] >= 0.8 for p in ps),
            "median_p_first": med([p["p_first"] for p in ps]),
            # the probability given to the truly cheaper run (1 - p_first when the call was wrong)
            "median_p_truth": med([p["p_first"] if p["right"] else 1 - p["p_first"] for p in ps]),
        }
    for lo, hi in zip(BINS[:-1], BINS[1:]):
        ps = [p for p in pairs if lo <= p["p_first"] < hi]
        out["reliability"].append({"bin": [lo, min(hi, 1.0)], "n": len(ps),
                                   "mean_p": med([float(np.mean([p["p_first"] for p in ps]))]) if ps else None,
                                   "right": sum(p["right"] for p in ps)})
    return out


def runtime(repeats: int, bootstrap: int) -> dict:
    """Wall time of `emergence compare` (a subprocess, from the CSV) and of compare_table on 3 runs x 500 rows."""
    runs = draw_runs(3, SPEC, 12345, n_checkpoints=20, n_seeds=6)
    df = runs_frame(runs)
    rows = [int((df["family"] == r.name).sum()) for r in runs]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "three_runs.csv"
        df.to_csv(path, index=False)
        cli, api, cli_cpu, api_cpu = [], [], [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            proc = subprocess.run([sys.executable, "-m", "emergence_laws", "compare", str(path), "--json",
                                   "--bootstrap", str(bootstrap)], capture_output=True, text=True)
            c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cli.append(time.perf_counter() - t0)
            cli_cpu.append((c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime))
            if proc.returncode != 0:
                raise SystemExit(f"compare failed: {proc.stderr.strip()}")
            t0, c0 = time.perf_counter(), time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compare_table(df, bootstrap=bootstrap)
            api.append(time.perf_counter() - t0)
            api_cpu.append(time.process_time() - c0)
        # where the time goes: one run's law fit + bootstrap (the other developer's part) vs the rest
        from emergence_laws.analysis.table_fit import fit_table

        one = df[df["family"] == runs[0].name].drop(columns=["flops"])
        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_table(one, bootstrap=bootstrap)
        fit_one = time.perf_counter() - t0
        fit_one_cpu = time.process_time() - c0
    return {"rows_per_group": rows, "bootstrap": bootstrap, "cli_seconds": cli, "api_seconds": api,
            "cli_cpu_seconds": cli_cpu, "api_cpu_seconds": api_cpu,
            "cli_best": min(cli), "cli_median": float(np.median(cli)), "api_best": min(api),
            "fit_table_one_group_seconds": fit_one, "fit_table_one_group_cpu_seconds": fit_one_cpu,
            "target_seconds": 20.0, "load_1_5_15": list(os.getloadavg())}


def markdown(summary: dict, rt: dict | None) -> str:
    s = summary
    n = s["identified"]
    fe, cov, cr, ep = s["fold_error"], s["coverage"], s["coverage_with_ridge"], s["emergence_point"]
    lines = [
        "| runs | identified | predicted FLOPs within 2x | tables with every run within 2x | median / 90th pct / max error (x) "
        "| 90% interval covers the true FLOPs | median width (x) | with --ridge: covers | its median width (x) "
        "| E(D0): median abs error (nats) | E(D0) interval covers |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {s['runs']} | {n} | {fe['within_2x']}/{n} | {s['tables_all_within_2x']}/{s['tables']} | "
        f"{fe['median']:.2f} / {fe['p90']:.2f} / {fe['max']:.2f} | {cov['covered']}/{n} ({100 * cov['covered'] / n:.0f}%) | "
        f"{cov['median_width_x']:.1f} | {cr['covered']}/{n} ({100 * cr['covered'] / n:.0f}%) | {cr['median_width_x']:.1f} | "
        f"{ep['median_abs_error_nats']:.3f} | {ep['covered']}/{n} |",
        "",
        "| where the FLOPs error comes from | median error (x) | within 2x |",
        "|---|---|---|",
        f"| both (what compare reports) | {fe['median']:.2f} | {fe['within_2x']}/{n} |",
        f"| the law alone: predicted E(D0) through the true loss curve | {s['fold_error_law_only']['median']:.2f} | "
        f"{s['fold_error_law_only']['within_2x']}/{n} |",
        f"| the loss curve alone: true E(D0) through the fitted curve | {s['fold_error_curve_only']['median']:.2f} | "
        f"{s['fold_error_curve_only']['within_2x']}/{n} |",
        f"| (E(D0) error, nats: median {ep['median_abs_error_nats']:.3f}, 90th percentile {ep['p90_abs_error_nats']:.3f}) | | |",
        "",
    ]
    for key, title in (("by_slope", "loss curve's slope at the last checkpoint (nats per e-fold of FLOPs)"),
                       ("by_ahead", "true FLOPs / last checkpoint's")):
        lines += [f"| {title} | runs | within 2x | median error (x) | interval covers | median width (x) "
                  "| E(D0) median abs error (nats) |", "|---|---|---|---|---|---|---|"]
        for b in s[key]:
            lines.append(f"| [{b['band'][0]:.2f}, {min(b['band'][1], 99):.2f}) | {b['n']} | {b['within_2x']}/{b['n']} | "
                         f"{b['median_fold_error']:.2f} | {b['covered']}/{b['n']} | {b['median_width_x']:.1f} | "
                         f"{b['median_abs_error_nats']:.3f} |")
        lines.append("")
    lines += [
        "| true FLOPs ratio of the pair | pairs | called the right way round | right with p >= 0.8 | wrong with p >= 0.8 "
        "| median p given to the truly cheaper run |",
        "|---|---|---|---|---|---|",
    ]
    for name, _, _ in CLASSES:
        c = s["pairs"][name]
        if c["n"]:
            lines.append(f"| {name} | {c['n']} | {c['right']}/{c['n']} | {c['right_with_p_ge_0.8']}/{c['n']} | "
                         f"{c['wrong_with_p_ge_0.8']}/{c['n']} | {c['median_p_truth']:.2f} |")
    lines += ["", "| predicted probability (p_first) | pairs | mean p | called right |", "|---|---|---|---|"]
    for b in s["reliability"]:
        if b["n"]:
            lines.append(f"| [{b['bin'][0]:.2f}, {b['bin'][1]:.2f}) | {b['n']} | {b['mean_p']:.2f} | "
                         f"{b['right']}/{b['n']} ({100 * b['right'] / b['n']:.0f}%) |")
    if rt:
        lines += ["", "| 3 runs x rows | replicates | `emergence compare` wall s, best / median | its CPU s (best) "
                      "| compare_table wall s / CPU s (best) | one run's fit_table wall s / CPU s | load (1 min) | target |",
                  "|---|---|---|---|---|---|---|---|",
                  f"| 3 x {rt['rows_per_group'][0]} | {rt['bootstrap']} | {rt['cli_best']:.1f} / {rt['cli_median']:.1f} | "
                  f"{min(rt['cli_cpu_seconds']):.1f} | {rt['api_best']:.1f} / {min(rt['api_cpu_seconds']):.1f} | "
                  f"{rt['fit_table_one_group_seconds']:.1f} / {rt['fit_table_one_group_cpu_seconds']:.1f} | "
                  f"{rt['load_1_5_15'][0]:.1f} | <= 20 s |"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tables2", type=int, default=60, help="tables of 2 runs (default 60)")
    ap.add_argument("--tables3", type=int, default=40, help="tables of 3 runs (default 40)")
    ap.add_argument("--seed", type=int, default=0, help="base seed of the tables (default 0; the design used 1)")
    ap.add_argument("--bootstrap", type=int, default=200, help="replicates per run (default 200, as `compare`)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--repeats", type=int, default=3, help="runtime repeats (default 3)")
    ap.add_argument("--runtime-only", action="store_true", help="only the 3 runs x 500 rows timing")
    ap.add_argument("--no-runtime", action="store_true", help="skip the timing")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "compare.json"), help="the JSON to write")
    args = ap.parse_args(argv)

    stamp_before = machine()
    tables: list[dict] = []
    t0 = time.perf_counter()
    if not args.runtime_only:
        jobs = [(2, args.seed * 1_000_000 + i, args.bootstrap) for i in range(args.tables2)]
        jobs += [(3, args.seed * 1_000_000 + 500_000 + i, args.bootstrap) for i in range(args.tables3)]
        if args.jobs > 1:
            from multiprocessing import Pool

            with Pool(args.jobs) as pool:
                tables = pool.map(one_table, jobs)
        else:
            for i, job in enumerate(jobs):
                tables.append(one_table(job))
                if (i + 1) % 10 == 0:
                    print(f"  {i + 1}/{len(jobs)} tables ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    quality_s = time.perf_counter() - t0
    rt = None if args.no_runtime else runtime(args.repeats, args.bootstrap)
    summary = summarise(tables) if tables else None
    cmd = "python benchmarks/bench_compare.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.runtime_only and Path(args.out).is_file():  # keep the quality results; replace the timing
        out = json.loads(Path(args.out).read_text())
        out["runtime"] = {**rt, "command": cmd, "machine_before": stamp_before, "machine_after": machine()}
        summary = out.get("summary")
    else:
        out = {"command": cmd, "spec": SPEC.__dict__, "seed": args.seed, "machine_before": stamp_before,
               "machine_after": machine(), "quality_seconds": quality_s, "summary": summary, "runtime": rt,
               "tables": tables}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(clean(out), indent=1) + "\n")
    if summary:
        print(markdown(summary, rt))
    elif rt:
        print(json.dumps(clean(rt)))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
