"""Snapshot of `emergence detect` labels on the public tables and the generated checkpoint logs, to diff
label rules before and after a change (issue 26).

    python research/detect_label_snapshot.py OUT.json          # writes {series: [label, scale, reason]}
    python research/detect_label_snapshot.py --diff A.json B.json   # which labels changed, with both reasons

Tables: data/public/openlm_scaling_evals.csv by pretrain_loss; data/public/obsscaling_evals.csv by
FLOPs (its two scale quirks corrected as scripts/detect_table.py does); emergence_laws/testing/checkpoint_logs.py's
generated log (seeds 0-2) by pretrain_loss.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "scripts")]


def snapshot() -> dict[str, list]:
    from detect_table import fix_obsscaling_quirks

    from emergence_laws.analysis.table_detect import detect_table
    from emergence_laws.results import load_results, validate_table
    from emergence_laws.testing.checkpoint_logs import checkpoint_log

    data = REPO / "data" / "public"
    tables = {
        "openlm": (load_results(data / "openlm_scaling_evals.csv"), "pretrain_loss"),
        "obs": (fix_obsscaling_quirks(load_results(data / "obsscaling_evals.csv"))[0], "flops"),
    }
    for seed in range(3):
        tables[f"ckptlog{seed}"] = (validate_table(checkpoint_log(seed=seed)), "pretrain_loss")
    out: dict[str, list] = {}
    for name, (df, x) in tables.items():
        p = detect_table(df, x=x, with_points=False)
        for r in p["series"]:
            out[f"{name}: {r['series']}"] = [r["label"], r["emergent_scale"], r["reason"]]
    return out


def diff(a: dict, b: dict) -> None:
    changed = [(k, a[k], b[k]) for k in a if k in b and a[k][0] != b[k][0]]
    moved = [(k, a[k], b[k]) for k in a if k in b and a[k][0] == b[k][0] == "emergent" and a[k][1] != b[k][1]]
    pairs: dict[tuple, int] = {}
    for _, x, y in changed:
        pairs[(x[0], y[0])] = pairs.get((x[0], y[0]), 0) + 1
    print(f"{len(changed)} of {len(a)} labels changed; {len(moved)} emergent scales moved")
    for (x, y), n in sorted(pairs.items(), key=lambda t: -t[1]):
        print(f"  {x} -> {y}: {n}")
    for k, x, y in changed:
        print(f"\n{k}\n  before: {x[0]} ({x[2]})\n  after:  {y[0]} ({y[2]})")
    for k, x, y in moved:
        print(f"\n{k}: emergent scale {x[1]} -> {y[1]}")


if __name__ == "__main__":
    if sys.argv[1] == "--diff":
        diff(json.loads(Path(sys.argv[2]).read_text()), json.loads(Path(sys.argv[3]).read_text()))
    else:
        Path(sys.argv[1]).write_text(json.dumps(snapshot(), indent=0))
