"""Probe (issue 29): do two worker processes make the bootstrap's replicates faster on 2 cores?

    python research/parallel_replicates.py [--checkpoints 2000] [--rounds 3]

Times :func:`emergence_laws.laws.bootstrap.bootstrap_law` (200 replicates, no ridge) on a ladder of
``--checkpoints`` checkpoints (benchmarks/ladders.py) in one process, and as two processes of 100
replicates each (other seeds: the timing, not the interval, is compared), alternating, ``--rounds``
times; prints one JSON line per run with wall and CPU seconds and the load. The answer decides whether
`emergence fit` splits its replicates over processes (docs/results/analysis_speed.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def _half(args: tuple) -> float:
    """One worker: half the replicates; returns its CPU seconds."""
    data, law, n, seed = args
    from emergence_laws.laws.bootstrap import bootstrap_law

    warnings.simplefilter("ignore")
    c0 = time.process_time()
    bootstrap_law(data, law, n=n, seed=seed, profile_likelihood=False)
    return time.process_time() - c0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoints", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from ladders import ladder_table

    from emergence_laws.laws.bootstrap import bootstrap_law
    from emergence_laws.laws.law_fit import fit_law

    data = ladder_table(args.checkpoints, 1).law_data()
    law = fit_law(data)
    ctx = get_context("fork")
    with ctx.Pool(2) as pool:
        pool.map(_half, [(data, law, 2, 0), (data, law, 2, 1)])  # warm the workers
        for r in range(args.rounds):
            t0, c0 = time.perf_counter(), time.process_time()
            bootstrap_law(data, law, n=200, seed=r, profile_likelihood=False)
            print(json.dumps({"way": "1 process", "round": r, "wall_s": round(time.perf_counter() - t0, 2),
                              "cpu_s": round(time.process_time() - c0, 2), "load": round(os.getloadavg()[0], 2)}),
                  flush=True)
            t0 = time.perf_counter()
            cpus = pool.map(_half, [(data, law, 100, 2 * r), (data, law, 100, 2 * r + 1)])
            print(json.dumps({"way": "2 processes", "round": r, "wall_s": round(time.perf_counter() - t0, 2),
                              "cpu_s": round(sum(cpus), 2), "load": round(os.getloadavg()[0], 2)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
