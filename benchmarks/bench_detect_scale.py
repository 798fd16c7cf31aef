"""Benchmark: `emergence detect` on big tables: time per row from 500 to 100,000 rows, and the
990,000-row table of issue 29 (55 tasks x 2,000 checkpoints) end to end, with its peak memory.

    nice -n 10 python benchmarks/bench_detect_scale.py              # scaling + the 990,000-row run (~3 min)
    python benchmarks/bench_detect_scale.py --skip-big               # scaling only
    python benchmarks/bench_detect_scale.py --json benchmarks/results/detect_scale.json

Tables are shaped like a finetuning study's results (the shape `emergence fit` reads): per task,
checkpoints along a loss ladder (4.5 -> 2.0 nats), each evaluated few-shot and finetuned on 4 data
amounts x 2 random subsets (9 rows per checkpoint), values drawn from a known emergence law with
binomial noise (n_eval 500). Each (task, n_train) is one curve of `detect` (subsets averaged).

Scaling: `detect_table` (the library call the CLI makes; series building, labels, intervals,
the elbow evidence) timed in this process on tables of one task with 56-11,112 checkpoints
(500-100,000 rows) and of 5 and 11 tasks x 2,000 checkpoints; time per row should be flat or
falling. The big run: `emergence detect TABLE.csv --no-progress` in a child process (loading and
validating the CSV included), wall and CPU time and the child's peak resident memory (VmHWM).
Goal (issue 29): <= 2 min and <= 1 GB on 2 cores. Every line says the load average, since a
busy machine stretches wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emergence_laws.provenance import cpu_model, git_commit

import numpy as np
import pandas as pd

from emergence_laws.analysis.table_detect import detect_table
from emergence_laws.laws.law import EmergenceLaw
from emergence_laws.laws.synthetic import draw_rows

AMOUNTS = (16, 64, 256, 1024)
#: (tasks, checkpoints) of the scaling tables: 504 to 100,008 rows
SIZES = ((1, 56), (1, 222), (1, 1111), (1, 5556), (1, 11112), (5, 2000), (11, 2000))
BIG = (55, 2000)  #: the issue's 990,000-row table

CHILD = """
import sys, time
sys.path.insert(0, {bench!r})
from memory import peak_rss_mb
from emergence_laws.cli import main
t, c = time.perf_counter(), time.process_time()
rc = main(["detect", {path!r}, "--no-progress"])
print("RESULT", rc, time.perf_counter() - t, time.process_time() - c, peak_rss_mb(), file=sys.stderr)
"""


def table(n_tasks: int, n_ckpt: int, seed: int = 0) -> pd.DataFrame:
    """The results table (see the module docstring): n_tasks x n_ckpt x 9 rows."""
    rng = np.random.default_rng(seed)
    losses = np.linspace(4.5, 2.0, n_ckpt)
    names = np.array([f"ckpt-{i:05d}" for i in range(n_ckpt)])
    parts = []
    for t in range(n_tasks):
        law = EmergenceLaw(k=0.12, alpha=1.2, C=float(rng.uniform(2.4, 3.2)), A=0.45, B=0.25, delta=0.0, d0=5.0,
                           shots=5)
        r = draw_rows(law, losses, AMOUNTS, seeds=2, rng=rng)
        parts.append(pd.DataFrame({
            "model": names[r["model_index"]], "family": "ladder", "task": f"task{t:02d}", "metric": "accuracy",
            "value": r["value"], "n_train": r["n_train"].astype(int), "shots": r["shots"], "seed": r["seed"],
            "method": np.where(r["n_train"] > 0, "full", "none"), "pretrain_loss": r["pretrain_loss"],
            "chance": 0.25, "n_eval": r["n_eval"],
        }))
    return pd.concat(parts, ignore_index=True)


def load() -> float:
    return round(os.getloadavg()[0], 2)


def scaling(repeats: int) -> list[dict]:
    out = []
    for n_tasks, n_ckpt in SIZES:
        df = table(n_tasks, n_ckpt)
        times, cpus = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            p = detect_table(df, x="pretrain_loss", with_points=False)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        best, cpu = min(times), min(cpus)
        rec = {"rows": len(df), "tasks": n_tasks, "checkpoints": n_ckpt, "curves": len(p["series"]),
               "seconds": round(best, 3), "cpu_seconds": round(cpu, 3),
               "us_per_row": round(1e6 * best / len(df), 1), "us_cpu_per_row": round(1e6 * cpu / len(df), 1),
               "load_1min": load()}
        print(json.dumps(rec), flush=True)
        out.append(rec)
    return out


def big_run(tmp: Path) -> dict:
    n_tasks, n_ckpt = BIG
    path = tmp / "big.csv"
    t0 = time.perf_counter()
    table(n_tasks, n_ckpt).to_csv(path, index=False)
    made = time.perf_counter() - t0
    code = CHILD.format(bench=str(Path(__file__).resolve().parent), path=str(path))
    before = load()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    line = next((ln for ln in proc.stderr.splitlines() if ln.startswith("RESULT")), None)
    if line is None:
        raise SystemExit(f"the detect run failed:\n{proc.stderr[-2000:]}")
    _, rc, wall, cpu, peak = line.split()
    rows = n_tasks * n_ckpt * (1 + 2 * len(AMOUNTS))
    rec = {"rows": rows, "tasks": n_tasks, "checkpoints": n_ckpt, "exit": int(rc), "wall_seconds": round(float(wall), 1),
           "cpu_seconds": round(float(cpu), 1), "peak_rss_mb": round(float(peak)), "table_written_in_s": round(made, 1),
           "load_1min_before": before, "load_1min_after": load(), "summary": proc.stdout.splitlines()[0]}
    print(json.dumps(rec), flush=True)
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2, help="scaling runs per size (the best is kept)")
    ap.add_argument("--skip-big", action="store_true", help="skip the 990,000-row end-to-end run")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    info = {"commit": git_commit(Path(__file__).parent), "cpu": cpu_model(), "cpus": os.cpu_count(),
            "python": platform.python_version()}
    print(json.dumps(info), flush=True)
    res: dict = {"machine": info, "scaling": scaling(args.repeats)}
    if not args.skip_big:
        with tempfile.TemporaryDirectory() as tmp:
            res["big"] = big_run(Path(tmp))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
