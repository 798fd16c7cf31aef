"""Benchmark of `emergence detect`'s labels on generated checkpoint-log curves of known kind.

    python benchmarks/bench_labels.py                    # seeds 0 1 2, 280 curves each (~1 min on 2 cores)
    python benchmarks/bench_labels.py --seeds 0 --json benchmarks/results/labels.json

The suite (emergence_laws.laws.curve_suite: emergent with 3-30 pre-jump checkpoints, smooth, flat,
marginal rise, noisy, late jump with 1-2 pre-jump checkpoints, warm-up plateau; 40-190
checkpoints per run plus random init; binomial noise for n_eval 100-14,000; floors at chance or up
to 0.04 below it) runs through the same code as `emergence detect` (analysis.table_detect.detect_table,
default DetectConfig, x = pretrain_loss). Printed per seed: the confusion matrix (rows: the truth,
columns: the label), each label's precision and each kind's recall, emergent recall by the number
of pre-jump checkpoints, and the goals (precision >= 0.95 for `emergent` and `smooth`, recall >=
0.9 for `emergent` with >= 5 pre-jump checkpoints).

The label rules were chosen from principles, not fitted to this suite; seeds 0-2 are the reported
ones, and development used other seeds (100-102).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from emergence_laws.analysis.table_detect import detect_table
from emergence_laws.laws.curve_suite import KINDS, RIGHT, draw_suite, suite_rows
from emergence_laws.laws.curve_labels import LABELS, DetectConfig
from emergence_laws.provenance import cpu_model, git_commit

GOALS = {"precision emergent": 0.95, "precision smooth": 0.95, "recall emergent (>= 5 pre-jump)": 0.9}


def run_seed(seed: int, config: DetectConfig) -> dict:
    """Labels of one seed's suite, with the truth, as a dict of summaries."""
    curves = draw_suite(seed)
    df = pd.DataFrame(suite_rows(curves))
    t0 = time.perf_counter()
    payload = detect_table(df, x="pretrain_loss", config=config, with_points=False)
    elapsed = time.perf_counter() - t0
    by_task = {r["task"]: r for r in payload["series"]}
    records = []
    for i, c in enumerate(curves):
        r = by_task[f"curve{i:03d}"]
        records.append({"kind": c.kind, "label": r["label"], "k_pre": c.k_pre, "n_eval": c.n_eval,
                        "n": len(c.steps) - 1, "reach": round(c.reach, 3), "shape": c.shape, "reason": r["reason"],
                        "right": r["label"] in RIGHT[c.kind]})
    return {"seed": seed, "curves": len(curves), "seconds": round(elapsed, 1), **summarise(records),
            "wrong": [r for r in records if not r["right"]]}


def summarise(records: list[dict]) -> dict:
    conf = {k: {lab: 0 for lab in LABELS} for k in KINDS}
    for r in records:
        conf[r["kind"]][r["label"]] += 1
    precision = {}
    for lab in LABELS:
        given = [r for r in records if r["label"] == lab]
        precision[lab] = None if not given else round(sum(r["right"] for r in given) / len(given), 3)
    recall = {k: round(sum(r["right"] for r in records if r["kind"] == k)
                       / max(1, sum(r["kind"] == k for r in records)), 3) for k in KINDS}
    em = [r for r in records if r["kind"] == "emergent"]
    by_k = {}
    for lo, hi in ((3, 4), (5, 9), (10, 19), (20, 30)):
        sel = [r for r in em if lo <= r["k_pre"] <= hi]
        by_k[f"{lo}-{hi}"] = [sum(r["right"] for r in sel), len(sel)]
    ge5 = [r for r in em if r["k_pre"] >= 5]
    goals = {
        "precision emergent": precision["emergent"],
        "precision smooth": precision["smooth"],
        "recall emergent (>= 5 pre-jump)": round(sum(r["right"] for r in ge5) / max(1, len(ge5)), 3),
    }
    return {"confusion": conf, "precision": precision, "recall": recall, "emergent_recall_by_k": by_k,
            "goals": goals, "goals_met": {g: v is not None and v >= GOALS[g] for g, v in goals.items()}}


def print_seed(res: dict) -> None:
    print(f"\n## seed {res['seed']}: {res['curves']} curves, detect {res['seconds']} s\n")
    short = {"not identifiable": "not ident.", "emergent": "emergent"}
    head = ["truth \\ label", *(short.get(lab, lab) for lab in LABELS), "recall"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for k in KINDS:
        row = res["confusion"][k]
        print(f"| {k} | " + " | ".join(str(row[lab]) for lab in LABELS) + f" | {res['recall'][k]:.2f} |")
    prec = [("-" if res["precision"][lab] is None else f"{res['precision'][lab]:.2f}") for lab in LABELS]
    print("| precision | " + " | ".join(prec) + " | |")
    ks = ", ".join(f"{k}: {a}/{b}" for k, (a, b) in res["emergent_recall_by_k"].items())
    print(f"\nemergent recall by pre-jump checkpoints: {ks}")
    print("goals: " + "; ".join(f"{g} {v} ({'met' if res['goals_met'][g] else 'NOT met'}, goal {GOALS[g]})"
                                for g, v in res["goals"].items()))


def stamp() -> dict:
    commit, cpu = git_commit(Path(__file__).parent), cpu_model()
    return {"commit": commit, "cpu": cpu, "cpus": os.cpu_count(),
            "load_1min": round(os.getloadavg()[0], 2), "python": platform.python_version(),
            "numpy": np.__version__}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--json", help="write the results (with every wrongly labelled curve) to this file")
    ap.add_argument("--wrong", action="store_true", help="print every wrongly labelled curve")
    args = ap.parse_args(argv)
    info = stamp()
    print(f"commit {info['commit']}, {info['cpu']} ({info['cpus']} CPUs), load {info['load_1min']}")
    results = []
    for seed in args.seeds:
        res = run_seed(seed, DetectConfig())
        print_seed(res)
        if args.wrong:
            for w in res["wrong"]:
                print(f"  {w['kind']} -> {w['label']}: k={w['k_pre']} n={w['n']} n_eval={w['n_eval']} "
                      f"reach={w['reach']} [{w['shape']}] {w['reason'][:200]}")
        results.append(res)
    if args.json:
        Path(args.json).write_text(json.dumps({"stamp": info, "results": results}, indent=1))
    return 0 if all(all(r["goals_met"].values()) for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
