"""Calibrate `laws/law_check.py` on fitted tables with a known truth: how far a sound law's E(D0) lies
outside its own bootstrap draws (the consistency check must never fire on them), and whether the
checkpoints a law was fitted on ever count as "far outside the losses the law covers".

    nice -n 10 python research/law_check_calibration.py --tables 20 --bootstrap 50

Prints one line per misspecification cell and a summary; JSON with --out FILE.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from emergence_laws.analysis.table_fit import fit_table
from emergence_laws.errors import EmergenceError
from emergence_laws.laws.law import EmergenceLaw, LawDraws
from emergence_laws.laws.law_check import FAR_LOSS_FACTOR, check_law, covered_losses, draws_gap
from emergence_laws.laws.synthetic import Misspecification, draw_table

CELLS = {
    "none": Misspecification(),
    "all four, medium": Misspecification(checkpoint_sd=0.02, run_sd=0.02, floor_shift=0.04, n_eval=500),
    "all four, high": Misspecification(checkpoint_sd=0.04, run_sd=0.04, floor_shift=0.08, n_eval=200),
    "stress: run-to-run sd 0.08": Misspecification(run_sd=0.08, n_eval=2000),
    "stress: checkpoint sd 0.08": Misspecification(checkpoint_sd=0.08, n_eval=2000),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, default=20, help="tables per cell")
    ap.add_argument("--bootstrap", type=int, default=50)
    ap.add_argument("--out")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    records = []
    t0 = time.perf_counter()
    for cell, spec in CELLS.items():
        for seed in range(args.tables):
            table = draw_table(spec, seed)
            try:
                res = fit_table(table.frame(), bootstrap=args.bootstrap, seed=seed)
            except EmergenceError as exc:
                records.append({"cell": cell, "seed": seed, "failed": str(exc)[:80]})
                continue
            obj = json.loads(json.dumps(res.to_json(), default=float))
            law = EmergenceLaw.from_json(obj)
            draws = LawDraws.from_json(law, obj)
            gap, (lo, hi) = draws_gap(law, draws)
            refused = None
            try:
                check_law(law, draws, "file")
            except EmergenceError as exc:
                refused = str(exc)
            c_lo, c_hi = covered_losses(law, obj)
            losses = np.unique(table.rows["pretrain_loss"])
            far = int(np.sum((losses > FAR_LOSS_FACTOR * c_hi) | (losses < c_lo / FAR_LOSS_FACTOR)))
            records.append({"cell": cell, "seed": seed, "gap": gap, "width": hi - lo, "refused": refused,
                            "far_checkpoints": far, "n_checkpoints": int(losses.size),
                            "covered": [c_lo, c_hi], "losses": [float(losses.min()), float(losses.max())]})
    ok = [r for r in records if "gap" in r]
    for cell in CELLS:
        rs = [r for r in ok if r["cell"] == cell]
        gaps = np.array([r["gap"] / max(r["width"], 1e-12) for r in rs])
        print(f"{cell:28s} fitted {len(rs):3d}  max gap {max((r['gap'] for r in rs), default=0):.4f} nats "
              f"({gaps.max(initial=0):.3f} widths)  refused {sum(r['refused'] is not None for r in rs)}  "
              f"checkpoints 'far' {sum(r['far_checkpoints'] for r in rs)}/{sum(r['n_checkpoints'] for r in rs)}")
    print(f"{len(ok)} laws fitted ({len(records) - len(ok)} tables not identifiable), "
          f"{sum(r['refused'] is not None for r in ok)} refused, {time.perf_counter() - t0:.0f} s")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(records, fh)


if __name__ == "__main__":
    main()
