"""How the default interval was chosen: ablations on the design tables (base seed 1, apart from the report's 0).

    python benchmarks/calibration_design.py            # all variants (~40 min on 2 busy cores)
    python benchmarks/calibration_design.py --tables 5 # a smoke run

Each variant changes one thing of the interval and is measured on the same tables (30 per cell) of
six cells of ``bench_calibration.CELLS`` (none; checkpoint offsets 0.04; run-to-run 0.04; floor
shift 0.08; all four medium and high), D0 unknown: the generic starts per replicate
(``REPLICATE_STARTS``), the D0 weights (the prior only), the overdispersion tempering. Then the
default on three cells where one effect dominates the binomial noise (n_eval 2000; seed base 2).
Prints a Markdown table and writes ``benchmarks/results/calibration_design.json``.

The rows of docs/results/calibration.md that set the default against the interval before issue 12
(D0 = N, rows resampled within random subsets, replicates warm-started from the point fit only, and
the rows scheme on the stress cells) were measured with options since removed (``resample="rows"``,
``restarts=0``); this script at commit 76f17b8, the last that has them, reruns them
(``git worktree add ../old 76f17b8 && cd ../old && PYTHONPATH=src python benchmarks/calibration_design.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import bench_calibration as bc

from emergence_laws.laws import bootstrap as boot_mod
from emergence_laws.laws import d0 as d0_mod
from emergence_laws.laws import law_fit as fit_mod
from emergence_laws.laws.synthetic import Misspecification

DESIGN_CELLS = {("none", "-"), ("checkpoint offsets", "sd 0.04 nats"), ("run-to-run variance", "sd 0.04 nats"),
                ("few-shot floor shift", "|delta| 0.08"), ("all four", "medium"), ("all four", "high")}

#: variant -> (generic starts per replicate, patch)
VARIANTS: dict[str, tuple[int, str | None]] = {
    "1 start per replicate (+ the warm one)": (1, None),
    "2 starts (the default)": (2, None),
    "4 starts": (4, None),
    "4 starts, D0 weights = the prior only": (4, "prior"),
    "4 starts, no overdispersion tempering": (4, "no_dispersion"),
}

STRESS = [
    ("checkpoint offsets", "sd 0.08, n_eval 2000", Misspecification(checkpoint_sd=0.08, n_eval=2000)),
    ("run-to-run variance", "sd 0.08, n_eval 2000", Misspecification(run_sd=0.08, n_eval=2000)),
    ("checkpoint offsets", "sd 0.04, n_eval 2000", Misspecification(checkpoint_sd=0.04, n_eval=2000)),
]
STRESS_VARIANTS = {"checkpoints, 2 starts": 2}


def _patch(n_starts: int, kind: str | None):
    """Set the generic starts per replicate, switch off one part of the D0 weights; returns an undo function."""
    saved = (d0_mod.pearson_dispersion, boot_mod.profile_d0, fit_mod.profile_d0, boot_mod.REPLICATE_STARTS)
    boot_mod.REPLICATE_STARTS = n_starts
    if kind == "no_dispersion":
        d0_mod.pearson_dispersion = lambda *a, **k: 1.0
    elif kind == "prior":
        orig = d0_mod.profile_d0

        def prior(*a, **k):
            p = orig(*a, **k)
            return replace(p, weights=np.full(p.grid.size, 1.0 / p.grid.size))

        boot_mod.profile_d0 = fit_mod.profile_d0 = prior

    def undo():
        d0_mod.pearson_dispersion, boot_mod.profile_d0, fit_mod.profile_d0, boot_mod.REPLICATE_STARTS = saved

    return undo


def run_variant(n_starts: int, patch: str | None, cells, base: int, tables: int) -> list[dict]:
    undo = _patch(n_starts, patch)
    try:
        out = []
        for i, kind, label, spec in cells:
            seeds = [base * 1_000_000 + 1000 * i + j for j in range(tables)]
            recs = bc.run_cell((kind, label, spec, seeds, 200, [("v", False, {})]))
            out.append({"misspecification": kind, "strength": label, **bc.summarise(recs, ["v"])["v"],
                        "records": [r["v"] for r in recs]})
        return out
    finally:
        undo()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tables", type=int, default=30)
    ap.add_argument("--part", choices=("all", "main", "stress"), default="all", help="which tables to run")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "calibration_design.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    cells = [(i, k, lab, s) for i, (k, lab, s) in enumerate(bc.CELLS) if (k, lab) in DESIGN_CELLS]
    results = {}
    for name, (n_starts, patch) in VARIANTS.items() if args.part != "stress" else ():
        results[name] = run_variant(n_starts, patch, cells, 1, args.tables)
        print(f"  {name}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    stress = {}
    for name, n_starts in STRESS_VARIANTS.items() if args.part != "main" else ():
        stress[name] = run_variant(n_starts, None, [(i, *c) for i, c in enumerate(STRESS)], 2, args.tables)
        print(f"  stress, {name}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    def row(name: str, per_cell: list[dict]) -> str:
        recs = [r for c in per_cell for r in c["records"] if "failed" not in r]
        cov = np.mean([r["covered"] for r in recs])
        width = np.median([r["width"] for r in recs])
        err = np.median([r["error"] for r in recs])
        cells_txt = " | ".join(f"{100 * c['coverage']:.0f}%" for c in per_cell)
        return f"| {name} | {cells_txt} | **{100 * cov:.0f}%** | {width:.3f} | {err:.3f} |"

    if results:
        head = " | ".join(f"{c['misspecification']} {c['strength']}".replace(" -", "") for c in next(iter(results.values())))
        print(f"| variant | {head} | all | median width | median error |")
        print("|---|" + "---|" * (len(cells) + 3))
        for name, per_cell in results.items():
            print(row(name.strip(), per_cell))
        print()
    if stress:
        head = " | ".join(f"{c['misspecification']} {c['strength']}" for c in next(iter(stress.values())))
        print(f"| resampling | {head} | all | median width | median error |")
        print("|---|" + "---|" * (len(STRESS) + 3))
        for name, per_cell in stress.items():
            print(row(name, per_cell))
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(bc.compact_json({"tables_per_cell": args.tables, "variants": results, "stress": stress,
                                     "seconds": round(time.perf_counter() - t0, 1)}))
    print(f"\nwrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
