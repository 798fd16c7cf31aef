"""Run `emergence demo` (the default preset, or --preset quick) on several seeds and tabulate
prediction vs truth.

    python scripts/demo_seeds.py --seeds 0 1 2 3 4 --out docs/demo_seeds.md [--cache DIR] [--threads N]

Each seed is a different world and initialisation: its own ladder, grid and truth. Cached ladders and
jobs are reused. Nothing in the design (D0, thresholds, amounts) was tuned on these seeds' results
beyond the choice of world (research/world_sweep.py compares candidates); D0 is not chosen at all (it is unknown in [N, 10N] and its
uncertainty is in the interval). Figures move a little from machine to machine (torch picks other CPU
kernels); the table says where it was made.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from emergence_laws.provenance import cpu_model, git_commit


def _f(x, fmt: str = "{:.3f}") -> str:
    return "n/a" if x is None else fmt.format(x)


def _ridge(p: dict) -> str:
    """The likelihood's ridge of the headline fit: ``[lo, hi]``, ``a point`` (under 0.01 nats wide) or ``-``."""
    r = (p.get("law") or {}).get("ridge_interval")
    if not r:
        return "-"
    return "a point" if r[1] - r[0] < 0.01 else f"[{r[0]:.3f}, {r[1]:.3f}]"


def _err(e: dict) -> str:
    if "not_identifiable" in e:
        return "n.i."
    return f"{e['error_nats']:.3f}" + ("" if e.get("covered") else " (not covered)")


def _ablation_tables(rows) -> list[str]:
    """The paper's ablations and the two law forms, per seed: |error| (nats) at the headline's k."""
    from emergence_laws.micro.analysis import shift_text

    if not rows:
        return []
    designs = [a["design"].split(" (")[0] for a in rows[0][1]["ablations"]]
    lines = ["## The paper's ablations", "",
             ("|error| of the prediction (nats) at each seed's headline k when the fit loses part of its design; "
              "n.i. = the law cannot be fitted on what is left; (not covered) = the 90% interval misses the truth."), "",
             "| seed | k | " + " | ".join(designs) + " |", "|---|---|" + "---|" * len(designs)]
    for seed, p, _ in rows:
        lines.append(f"| {seed} | {p['k']:g} | " + " | ".join(_err(a) for a in p["ablations"]) + " |")
    lines += ["", "## Law forms", "", ("|error| (nats) of the log power law (the paper's) and the plain power law on "
              "the same fit set."), "", "| seed | log power law | power law |", "|---|---|---|"]
    for seed, p, _ in rows:
        forms = {f["form"]: f for f in p["law_forms"]}
        lines.append(f"| {seed} | {_err(forms['logpower'])} | {_err(forms['power'])} |")
    lines += ["", "## Shift of emergence per data amount", "",
              ("ReLU elbow of the finetuned accuracy curve (mean over subsets) minus the few-shot truth, nats and as a "
               "compute ratio; at chance = never leaves chance on the finetuned checkpoints."), ""]
    amounts = sorted({s["n_train"] for _, p, _ in rows for s in p["shift_by_amount"]})
    lines += ["| seed | " + " | ".join(f"n={n}" for n in amounts) + " | monotone in log n |",
              "|---|" + "---|" * (len(amounts) + 1)]
    for seed, p, _ in rows:
        by = {s["n_train"]: s for s in p["shift_by_amount"]}
        cells = [shift_text(by.get(n)) for n in amounts]
        lines.append(f"| {seed} | " + " | ".join(cells) + f" | {'yes' if p.get('shift_monotone_in_log_d') else 'no'} |")
    lines += ["", "## LoRA (rank 1) vs full finetuning", "",
              "Mean accuracy over the checkpoints where both ran (the strongest of the fit set).", "",
              "| seed | n | full | LoRA r=1 | checkpoints |", "|---|---|---|---|---|"]
    for seed, p, _ in rows:
        for n, v in sorted((p.get("lora_vs_full") or {}).get("by_amount", {}).items(), key=lambda kv: int(kv[0])):
            lines.append(f"| {seed} | {n} | {v['mean_accuracy_full']:.3f} | {v['mean_accuracy_lora']:.3f} | "
                         f"{v['checkpoints']} |")
    return [*lines, ""]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=("default", "quick"), default="default",
                    help="which demo: the default or --quick (default: %(default)s)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--out", default="docs/demo_seeds.md")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--runs", default="demo-seeds", help="folder for each seed's demo output")
    ap.add_argument("--note", default="", help="a sentence to add under the summary (e.g. what else ran on the machine)")
    ap.add_argument("--from-runs", action="store_true",
                    help="run nothing: tabulate the prediction.json files already in --runs (run time: their own timings)")
    args = ap.parse_args()

    import torch

    from emergence_laws.micro.cache import default_cache_dir
    from emergence_laws.errors import EmergenceError
    from emergence_laws.micro.config import default_config, quick_config
    from emergence_laws.micro.pipeline import run_demo
    from emergence_laws.threads import resolve_threads

    cache = Path(args.cache) if args.cache else default_cache_dir()
    threads = resolve_threads(args.threads)
    preset = {"default": default_config, "quick": quick_config}[args.preset]
    rows = []
    failed: list[tuple[int, str]] = []  # seeds whose demo stopped with a one-line error (exit 3)
    for seed in args.seeds:
        folder = Path(args.runs) / f"seed{seed}"
        if args.from_runs:
            if (folder / "failed.txt").exists():
                failed.append((seed, (folder / "failed.txt").read_text().strip()))
                continue
            pred = json.loads((folder / "prediction.json").read_text())
            rows.append((seed, pred, float(pred.get("timings_s", {}).get("total", float("nan")))))
            threads = pred.get("threads", threads)
            continue
        t0 = time.perf_counter()
        try:
            pred = run_demo(preset(seed), folder, cache, progress=False, threads=threads,
                            log=lambda m, s=seed: print(f"seed {s}: {m}", flush=True))
        except EmergenceError as exc:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "failed.txt").write_text(str(exc) + "\n")
            print(f"seed {seed}: error: {exc}", flush=True)
            failed.append((seed, str(exc)))
            continue
        (folder / "failed.txt").unlink(missing_ok=True)
        rows.append((seed, pred, time.perf_counter() - t0))
    cfg = preset(0)
    lines = [
        f"# `emergence demo{'' if args.preset == 'default' else ' --' + args.preset}` over seeds",
        "",
        (f"Generated by `python scripts/demo_seeds.py --preset {args.preset} --seeds {' '.join(map(str, args.seeds))} "
         f"--out {args.out}` at commit {git_commit()} on {cpu_model()}, {threads} torch thread(s), torch {torch.__version__}. Losses in nats/token on "
         "each world's reference text. Other machines give slightly different figures (other CPU kernels), the same "
         "machine the same ones."),
        "",
        (f"The demo asks for a fit on checkpoints with at most 1/{cfg.k:g} of the pretraining FLOPs of the first "
         f"checkpoint whose {cfg.shots}-shot accuracy is above chance (one-sided binomial p < {cfg.alpha:g}); where the "
         "law cannot be fitted that far ahead (every finetuned curve still at chance) it falls back to the largest k of "
         f"the sweep ({', '.join(f'{k:g}' for k in cfg.ahead)}) where it can, and column k says which. The truth "
         "is the ReLU elbow of the whole few-shot curve, from checkpoints the fit never sees. Compute ahead = FLOPs of "
         "that first above-chance checkpoint / FLOPs of the strongest checkpoint in the fit. The 90% interval spans "
         "the bootstrap's 5-95% percentile, which treats "
         f"D0 as unknown in [{cfg.d0_range[0]:g}, {cfg.d0_range[1]:g}] x shots and resamples checkpoints with their "
         "runs, and the likelihood's ridge: the predictions that fit as well as the best (column ridge; see the "
         "README's intervals section)."),
        "",
        ("| seed | k | fit checkpoints | compute ahead | predicted [90%] | ridge | truth | error (nats) | covered "
         "| sigmoid baseline | error at k = " + " / ".join(f"{k:g}" for k in cfg.ahead)
         + " | largest shift (n) | LoRA r=1 vs full acc. | run time |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    errs, covered, aheads = [], 0, []
    for seed, p, secs in rows:
        iv = p["interval"]
        sig = p.get("sigmoid_baseline") or {}
        sig_txt = ("not identified" if sig and not sig.get("identified") else _f(sig.get("error_nats"))) if sig else "n/a"
        big = max((s for s in p["shift_by_amount"] if s.get("emerged")), key=lambda s: s["n_train"], default=None)
        shift = (f"{big['shift_nats']:+.3f} nats, {big['shift_compute']:.1f}x (n={big['n_train']})"
                 if big and big.get("shift_compute") else "n/a")
        sweep = " / ".join("n.i." if "not_identifiable" in e else f"{e['error_nats']:.3f}" for e in p["ahead_sweep"])
        lora = p.get("lora_vs_full", {}).get("by_amount", {})
        lf = lora[max(lora, key=int)] if lora else None
        errs.append(p["error_nats"])
        aheads.append(p["compute_ahead"])
        covered += bool(p.get("covered"))
        lines.append(
            f"| {seed} | {p['k']:g} | {p['n_checkpoints_fit']} | {p['compute_ahead']:.2f}x | {p['predicted_emergence_point']:.3f}"
            + (f" [{iv[0]:.3f}, {iv[1]:.3f}]" if iv else "")
            + f" | {_ridge(p)} | {p['true_emergence_point']:.3f} | {p['error_nats']:.3f} | {'yes' if p.get('covered') else 'no'}"
            + f" | {sig_txt} | {sweep} | {shift} | "
            + (f"{lf['mean_accuracy_lora']:.2f} vs {lf['mean_accuracy_full']:.2f}" if lf else "n/a")
            + f" | {secs / 60:.1f} min |"
        )
    n_all = len(errs) + len(failed)
    if errs:
        lines += ["", (f"Over {n_all} seeds, {len(errs)} with a prediction: median |error| **{statistics.median(errs):.3f} "
                       f"nats**, max {max(errs):.3f}; {sum(e <= 0.1 for e in errs)} of {n_all} within 0.1 nats; the 90% "
                       f"interval covers the truth in **{covered} of {n_all}**; compute ahead {min(aheads):.2f}x to "
                       f"{max(aheads):.2f}x. n.i. = not identifiable: every finetuned curve of that fit set is still at "
                       "chance. Run time is from a cold cache."), ""]
    else:
        lines += ["", f"None of the {n_all} seeds gave a prediction.", ""]
    for seed, why in failed:
        lines += [f"Seed {seed}: the demo stops with exit 3 and no prediction: {why}", ""]
    if args.note:
        lines += [args.note, ""]
    lines += _ablation_tables(rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
