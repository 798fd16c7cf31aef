"""Benchmark: emergence-law fit + 200 bootstrap replicates on a 500-row table (target < 2 s, 2 cores).

    python benchmarks/bench_fit.py            # prints one JSON line per measurement
    python benchmarks/bench_fit.py --compare  # also the naive reference: one scipy L-BFGS-B fit per replicate

The table is drawn from a known law (binomial noise, n_eval=500): 20 checkpoints x 4 data amounts
(16-1024) x 6 random subsets + 20 few-shot rows = 500 rows. Two ways are timed:

- ``default``: what `emergence fit` does now (D0 unknown in [N, 10 N] with its weights over a grid of
  9 values, checkpoints x subsets resampled, every replicate refitted from several starts);
- ``before issue 12``: D0 = N, rows resampled within subsets, replicates warm-started from the point fit.

Times are wall-clock (and process CPU), best and median of --repeats runs, excluding imports and
table generation. ``--compare`` refits the old way's replicates one by one with scipy's L-BFGS-B
(the batched optimiser's reference).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

from emergence_laws.laws.bootstrap import fit_and_bootstrap
from emergence_laws.laws.fit import fit_law
from emergence_laws.laws.law import EmergenceLaw
from emergence_laws.laws.likelihood import Likelihood
from emergence_laws.laws.optimise import law_bounds, minimise
from emergence_laws.laws.resample import row_weights
from emergence_laws.laws.simulate import simulate_law_data

TRUE = EmergenceLaw(k=0.12, alpha=1.2, C=2.6, A=0.45, B=0.25, delta=0.0, d0=5.0, shots=5)

#: keyword arguments of fit_and_bootstrap for each way timed
WAYS: dict[str, dict] = {
    "default": {},
    "before issue 12": {"d0": 5.0, "resample": "rows", "restarts": 0},
}


def table():
    return simulate_law_data(TRUE, np.linspace(2.0, 4.4, 20), [16, 64, 256, 1024], seeds=6, n_eval=500, rng=0)


def naive(data, n_boot: int):
    """Reference: the old way's resamples, each refitted by scipy L-BFGS-B (analytic gradient) from the point fit."""
    law = fit_law(data, d0=5.0)
    lik = Likelihood(data, law.form, law.elbow, law.beta, law.d0)
    b = law_bounds(data, law)
    W = row_weights(data, n_boot, np.random.default_rng(0))
    E = []
    for w in W:
        x = minimise(lik, law.vector(), b, w).x
        E.append(float(EmergenceLaw(*x, d0=law.d0).few_shot_emergence_point))
    return law, np.percentile(E, [5, 95])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--compare", action="store_true")
    args = ap.parse_args()
    data = table()
    info = {"cpus": os.cpu_count(), "python": platform.python_version(), "rows": data.n_rows}
    for way, kw in WAYS.items():
        fit_and_bootstrap(data, 10, **kw)  # warm caches
        runs, cpu = [], []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            law, _ = fit_and_bootstrap(data, args.bootstrap, 0, **kw)
            runs.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        print(
            json.dumps(
                {
                    "bench": f"fit+bootstrap, {way}",
                    "bootstrap": args.bootstrap,
                    **info,
                    "best_s": round(min(runs), 3),
                    "median_s": round(statistics.median(runs), 3),
                    "best_cpu_s": round(min(cpu), 3),
                    "target_s": 2.0,
                    "emergence_point": round(law.point_estimate, 4),
                    "truth": round(TRUE.few_shot_emergence_point, 4),
                    "interval": [round(x, 4) for x in law.interval],
                }
            )
        )
    if args.compare:
        t0 = time.perf_counter()
        _, iv = naive(data, args.bootstrap)
        print(
            json.dumps(
                {
                    "bench": "naive per-replicate L-BFGS-B (before issue 12's replicates)",
                    "bootstrap": args.bootstrap,
                    **info,
                    "seconds": round(time.perf_counter() - t0, 3),
                    "interval": [round(float(x), 4) for x in iv],
                }
            )
        )


if __name__ == "__main__":
    main()
