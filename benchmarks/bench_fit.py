"""Benchmark: the emergence-law fit + bootstrap, end to end and on a fixed table (issues 2, 12, 29).

    python benchmarks/bench_fit.py                    # one JSON line per measurement
    python benchmarks/bench_fit.py --only cli --src OTHER/src   # the CLI targets with another checkout's code

``cli`` (issue 29's targets, 2 cores, default options): `emergence fit` as a user runs it (a
subprocess: start-up, reading the file, fit, 200 bootstrap replicates, the likelihood's ridge, the
scale inversion), wall and CPU seconds (the child's user + system time), on

- ``example``: the bundled 144-row table (target <= 3 s);
- ``ladder100``: 100 checkpoints x 4 data amounts x 2 random subsets + few-shot rows = 900 rows
  (:mod:`ladders`; target <= 10 s);
- ``ladder2000``: 2,000 checkpoints, 18,000 rows (target <= 60 s).

``table`` (issues 2 and 12): fit + 200 replicates in-process on a 500-row table drawn from a known
law (binomial noise, n_eval=500): 20 checkpoints x 4 data amounts (16-1024) x 6 random subsets + 20
few-shot rows, target < 2 s: what `emergence fit` does (D0 unknown in [N, 10 N] with its weights over
a grid of 9 values, checkpoints x subsets resampled, every replicate refitted from several starts,
the ridge). The interval before issue 12 (D0 = N, rows resampled within subsets, replicates
warm-started from the point fit) and its naive reference (each replicate refitted by scipy's
L-BFGS-B, ``--compare``) were timed with options since removed; benchmarks/README.md has their
figures, and this script at commit 76f17b8 (the last that has them) reruns them.

Times are wall-clock (and CPU), best and median of --repeats runs, excluding imports and table
generation for ``table``. Every line carries the load (1-minute average).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from emergence_laws.laws.bootstrap import fit_and_bootstrap
from emergence_laws.laws.law import EmergenceLaw
from emergence_laws.laws.synthetic import draw_rows, law_data
from emergence_laws.provenance import cpu_model

TRUE = EmergenceLaw(k=0.12, alpha=1.2, C=2.6, A=0.45, B=0.25, delta=0.0, d0=5.0, shots=5)

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: The CLI targets of issue 29: (name, checkpoints of a ladder or None for the bundled example, target s).
CLI_TARGETS: tuple[tuple[str, int | None, float], ...] = (
    ("example", None, 3.0),
    ("ladder100", 100, 10.0),
    ("ladder2000", 2000, 60.0),
)

def table():
    return law_data(draw_rows(TRUE, np.linspace(2.0, 4.4, 20), [16, 64, 256, 1024], seeds=6, rng=0))


def cli_run(path: str, src: str | None) -> tuple[float, float, dict]:
    """`emergence fit PATH --json` in a subprocess: (wall s, CPU s of the child, its JSON)."""
    env = dict(os.environ)
    env.pop("EMERGENCE_PROGRESS", None)
    if src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(src).resolve()), env.get("PYTHONPATH")]))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "emergence_laws", "fit", path, "--json"], capture_output=True,
                       text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"bench_fit: error: `emergence fit {path}` failed: {r.stderr.strip()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(r.stdout)


def cli_targets(repeats: int, src: str | None, info: dict, names: list[str] | None = None) -> None:
    """The issue-29 targets: `emergence fit` end to end on the example and on ladders of 100 and 2000 checkpoints."""
    from ladders import ladder_table

    with tempfile.TemporaryDirectory() as tmp:
        for name, n_ckpt, target in CLI_TARGETS:
            if names and name not in names:
                continue
            if n_ckpt is None:
                path, rows = "example", 144
            else:
                df = ladder_table(n_ckpt, 1).frame()
                path, rows = str(Path(tmp) / f"ladder{n_ckpt}.csv"), len(df)
                df.to_csv(path, index=False)
            runs = [cli_run(path, src) for _ in range(repeats)]
            walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
            out = runs[0][2]
            print(json.dumps({
                "bench": f"emergence fit {name}", "rows": rows, **info, "code": src or "this checkout",
                "best_s": round(min(walls), 2), "median_s": round(statistics.median(walls), 2),
                "best_cpu_s": round(min(cpus), 2), "target_s": target, "load": round(os.getloadavg()[0], 2),
                "emergence_point": round(out["emergence_point"], 4),
                "interval": [round(x, 4) for x in out["interval"]],
            }), flush=True)


def table_default(args, info: dict) -> None:
    """Fit + bootstrap in-process on the 500-row table, as `emergence fit` does."""
    data = table()
    info = {**info, "rows": data.n_rows}
    fit_and_bootstrap(data, 10)  # warm caches
    runs, cpu = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        law, _ = fit_and_bootstrap(data, args.bootstrap, 0)
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(
        json.dumps(
            {
                "bench": "fit+bootstrap, default",
                "bootstrap": args.bootstrap,
                **info,
                "best_s": round(min(runs), 3),
                "median_s": round(statistics.median(runs), 3),
                "best_cpu_s": round(min(cpu), 3),
                "target_s": 2.0,
                "load": round(os.getloadavg()[0], 2),
                "emergence_point": round(law.point_estimate, 4),
                "truth": round(TRUE.few_shot_emergence_point, 4),
                "interval": [round(x, 4) for x in law.interval],
            }
        ),
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5, help="runs per measurement (the CLI targets: at most 3)")
    ap.add_argument("--only", choices=("cli", "table"), help="only the CLI targets, or only the 500-row table")
    ap.add_argument("--src", help="run the CLI targets with the package in this src folder (e.g. an older checkout)")
    ap.add_argument("--cli", nargs="+", choices=[t[0] for t in CLI_TARGETS], help="only these CLI targets")
    args = ap.parse_args()
    info = {"cpus": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version()}
    if args.only != "table":
        cli_targets(min(args.repeats, 3), args.src, info, args.cli)
    if args.only != "cli":
        table_default(args, info)


if __name__ == "__main__":
    main()
