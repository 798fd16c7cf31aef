"""Regenerate docs/detect_results.md: what `emergence detect` finds on the public scaling tables.

    python scripts/detect_table.py --out docs/detect_results.md   # ~20 s on 2 CPU cores
    python scripts/detect_table.py --out docs/detect_results.md --readme README.md   # and README's headline block

Runs the same code as `emergence detect` (emergence_laws.analysis.table_detect.detect_table, default
DetectConfig) on data/public/openlm_scaling_evals.csv (x = pretrain_loss, C4 validation nats)
and data/public/obsscaling_evals.csv (x = flops), and writes markdown tables.

ObsScaling's two known scale quirks (data/public/README.md) are corrected here, in a copy,
before detection, and the labels that the correction changes are listed: BTLM-3B's tokens read
627T (really 0.627T, so its FLOPs are 1000x too high) and open_llama_7b_v2 is listed at 13B
params (really 7B). `--raw` skips the correction.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "public"

HEADLINE_OPENLM = [
    ("squad", "open_lm-rpj"), ("squad", "open_lm-rw_original"), ("squad", "open_lm-c4_original"),
    ("jeopardy", "open_lm-rpj"), ("bigbench_qa_wikidata", "open_lm-rpj"), ("bigbench_cs_algorithms", "open_lm-rpj"),
    ("hellaswag", "open_lm-rpj"), ("lambada_openai", "open_lm-rpj"), ("arc_easy", "open_lm-rpj"),
    ("piqa", "open_lm-rpj"), ("mmlu", "open_lm-rpj"), ("simple_arithmetic_nospaces", "open_lm-rpj"),
]
HEADLINE_OBS = [
    ("arithmetic_3ds", "acc", "(all)"), ("arithmetic_3ds", "acc", "GPT-Neo/J"), ("arithmetic_2dm", "acc", "(all)"),
    ("arithmetic_2da", "acc", "(all)"), ("arithmetic_3da", "acc", "(all)"),
    ("word_unscrambling", "exact_match", "(all)"), ("ipa_transliterate", "exact_match", "(all)"),
    ("parsinlu_qa", "acc", "(all)"), ("mmlu", "acc", "(all)"), ("gsm8k", "exact_match", "(all)"),
    ("hellaswag", "acc_norm", "(all)"), ("arc_challenge", "acc_norm", "(all)"), ("winogrande", "acc", "(all)"),
    ("truthfulqa_mc2", "mc2", "(all)"),
]


def fix_obsscaling_quirks(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Correct the two documented scale errors of ObsScaling (a copy; the CSV stays as published)."""
    df = df.copy()
    notes = []
    btlm = df["model"] == "cerebras/btlm-3b-8k-base"
    if btlm.any() and (df.loc[btlm, "tokens"] > 1e14).all():
        df.loc[btlm, "tokens"] = df.loc[btlm, "tokens"] / 1000
        df.loc[btlm, "flops"] = 6 * df.loc[btlm, "params"] * df.loc[btlm, "tokens"]
        notes.append("BTLM-3B: tokens 627T -> 0.627T, FLOPs 1.13e25 -> 1.13e22")
    ol = df["model"] == "openlm-research/open_llama_7b_v2"
    if ol.any() and (df.loc[ol, "params"] > 1e10).all():
        df.loc[ol, "params"] = 7e9
        df.loc[ol, "flops"] = 6 * 7e9 * df.loc[ol, "tokens"]
        notes.append("open_llama_7b_v2: params 13B -> 7B, FLOPs 7.8e22 -> 4.2e22")
    return df, notes


def fmt_scale(x: str, v) -> str:
    if v is None or pd.isna(v):
        return ""
    return f"{v:.2f}" if x == "pretrain_loss" else f"{v:.1e}"


def fmt_interval(x: str, r: dict) -> str:
    if r.get("label") != "emergent":
        return "-"
    unit = " nats" if x == "pretrain_loss" else ""
    return f"{fmt_scale(x, r['emergent_scale'])} [{fmt_scale(x, r['scale_lo'])}, {fmt_scale(x, r['scale_hi'])}]{unit}"


def fmt_point(x: str, p) -> str:
    if not p:
        return "-"
    name = str(p["model"]).split("/")[-1]
    return f"{name} ({fmt_scale(x, p['x'])}: {p['value']:.3f})"


def md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


def write_readme_block(path: Path, table: str) -> None:
    """Replace the text between `<!-- detect:start -->` and `<!-- detect:end -->` in `path` by `table`."""
    text = path.read_text(encoding="utf-8")
    start, end = "<!-- detect:start -->", "<!-- detect:end -->"
    if start not in text or end not in text:
        raise SystemExit(f"{path}: no {start} ... {end} block to replace")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{table}\n{end}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="markdown file to write (default: stdout)")
    ap.add_argument("--raw", action="store_true", help="do not correct ObsScaling's two known scale quirks")
    ap.add_argument("--readme", help="also rewrite the headline table between <!-- detect:start/end --> in this file")
    args = ap.parse_args(argv)

    from emergence_laws.analysis.table_detect import detect_table
    from emergence_laws.laws.curve_labels import LABELS, DetectConfig
    from emergence_laws.results import load_results

    t0 = time.time()
    openlm = load_results(DATA / "openlm_scaling_evals.csv")
    obs_raw = load_results(DATA / "obsscaling_evals.csv")
    obs, fixes = (obs_raw, []) if args.raw else fix_obsscaling_quirks(obs_raw)
    p_ol = detect_table(openlm, x="pretrain_loss", with_points=False)
    p_ob = detect_table(obs, x="flops", with_points=False)
    changed: list[str] = []
    if fixes:  # which labels does the correction change? (only tasks those two models were evaluated on)
        tasks = sorted(obs_raw.loc[obs_raw["model"].isin(["cerebras/btlm-3b-8k-base",
                                                          "openlm-research/open_llama_7b_v2"]), "task"].unique())
        raw = detect_table(obs_raw[obs_raw["task"].isin(tasks)], x="flops", with_points=False)
        fixed = {r["series"]: r["label"] for r in p_ob["series"]}
        for r in raw["series"]:
            if fixed.get(r["series"]) != r["label"]:
                changed.append(f"{r['series']}: {r['label']} (as published) -> {fixed.get(r['series'])} (corrected)")
    elapsed = time.time() - t0

    ol = {(r["task"], r["family"]): r for r in p_ol["series"]}
    ob = {(r["task"], r["metric"], r["family"]): r for r in p_ob["series"]}
    cfg = DetectConfig()

    lines: list[str] = []
    add = lines.append
    add("<!-- generated by `python scripts/detect_table.py --out docs/detect_results.md`; do not edit by hand -->")
    add("## What `emergence detect` finds on public scaling data\n")
    add("Each curve is one task x metric x model family (or all families pooled, `(all)`), labelled "
        "**emergent** (a flat floor at chance, then a rise well above it), **smooth** (rises, but not from a flat "
        "floor at chance), **flat** (no significant rise), **marginal** (a real rise that stays near chance: its top "
        "under a tenth of the way from chance to the best score), **noisy** (a rise the ramp fit explains less than "
        "half of, or a decrease), **not identifiable** (a jump after only 1-2 points at chance) or **warm-up** "
        "(checkpoint logs only; none here). [The label guide](guide/detect.md) states each rule and its benchmark. "
        "The emergent scale is the onset of a least-squares ramp fit (flat, linear rise, flat) in -loss or log10 "
        "FLOPs, kept inside the bracket [last model at chance, first above], with a 5-95% interval (profile "
        "likelihood joined with a bootstrap over models, widened to cover the bracket). *Sharpness* = 1 - (rise "
        "width / scale range) is threshold-free: 0 = rises evenly over the whole range, 1 = one jump.\n")
    add("Rerun: `python scripts/detect_table.py --out docs/detect_results.md` "
        f"({elapsed:.0f} s here), or per table `emergence detect data/public/openlm_scaling_evals.csv "
        "--x pretrain_loss --out DIR` / `emergence detect data/public/obsscaling_evals.csv --x flops --out DIR` "
        "(adds figures and an HTML report).\n")

    add("### Headline\n")
    rows = []
    for task, fam in HEADLINE_OPENLM:
        r = ol[(task, fam)]
        rows.append(["open_lm, C4 loss", f"{task} (accuracy)", fam.replace("open_lm-", ""), f"**{r['label']}**",
                     fmt_interval("pretrain_loss", r), f"{r['sharpness']:.2f}",
                     fmt_point("pretrain_loss", r["last_at_chance"]) if r["label"] == "emergent" else "-",
                     fmt_point("pretrain_loss", r["first_above_chance"]) if r["label"] == "emergent" else "-"])
    for task, metric, fam in HEADLINE_OBS:
        r = ob[(task, metric, fam)]
        rows.append(["ObsScaling, FLOPs", f"{task} ({metric})", fam, f"**{r['label']}**", fmt_interval("flops", r),
                     f"{r['sharpness']:.2f}",
                     fmt_point("flops", r["last_at_chance"]) if r["label"] == "emergent" else "-",
                     fmt_point("flops", r["first_above_chance"]) if r["label"] == "emergent" else "-"])
    header = ["table, x", "task (metric)", "family", "label", "emergent scale [5%, 95%]", "sharpness",
              "last at chance", "first above chance"]
    add(md_table(header, rows))
    readme_table = md_table(header[:6], [r[:6] for r in rows])
    add("\n*Last at chance*: the biggest model before the onset whose score is within the at-chance band; "
        "*first above chance*: the smallest model from the onset on above it (model, scale: score). Pooled "
        "curves mix families, so some models break the order (Phi and Qwen1.5 do arithmetic early, XGLM "
        "and BLOOM never do): `above_chance_before_onset` and `at_chance_after_onset` in detect.json count "
        "them.\n")

    add("### Counts\n")
    crow = []
    for name, p in (("open_lm by C4 loss", p_ol), ("ObsScaling by FLOPs", p_ob)):
        for grp in ("family", "pooled"):
            sel = [r for r in p["series"] if (r["family"] == "(all)") == (grp == "pooled")]
            c = {lab: sum(r["label"] == lab for r in sel) for lab in LABELS}
            crow.append([name, "per family" if grp == "family" else "all families pooled", len(sel),
                         *(c[lab] for lab in LABELS)])
    add(md_table(["table", "grouping", "curves", *LABELS], crow))

    add("\n### open_lm (104 models, 11M-6.9B params; x = C4 validation loss, nats/token)\n")
    fams = ["open_lm-c4_original", "open_lm-rpj", "open_lm-rw_original", "(all)"]
    rows = []
    for task in sorted({t for t, _ in ol}):
        rpj = ol.get((task, "open_lm-rpj"), {})
        rows.append([task, *[ol[(task, f)]["label"] if (task, f) in ol else "" for f in fams],
                     fmt_interval("pretrain_loss", rpj) if rpj else "", f"{rpj.get('sharpness', 0):.2f}"])
    add(md_table(["task (accuracy)", "C4", "RedPajama", "RefinedWeb", "pooled", "emergent scale, RedPajama",
                  "sharpness, RedPajama"], rows))

    add("\n### ObsScaling (x = pretraining FLOPs; all families pooled, plus families with >= "
        f"{cfg.min_points} models)\n")
    rows = []
    for (task, metric, fam), r in sorted(ob.items()):
        if fam != "(all)":
            continue
        per_fam = [f"{f2}: {r2['label']}" for (t2, m2, f2), r2 in sorted(ob.items())
                   if t2 == task and m2 == metric and f2 != "(all)" and r2["label"] == "emergent"]
        rows.append([task, metric, r["label"], fmt_interval("flops", r), f"{r['sharpness']:.2f}", r["n_models"],
                     r["n_dropped"], ", ".join(f.split(":")[0] for f in per_fam) or "-"])
    add(md_table(["task", "metric", "label (pooled)", "emergent scale [5%, 95%], FLOPs", "sharpness", "models",
                  "rows without FLOPs", "families where emergent on their own"], rows))

    comps = p_ob["metric_comparison"]
    if comps:
        add("\n### Discrete vs continuous metric (ObsScaling: IPA transliterate, exact match vs BLEU)\n")
        add(md_table(["task", "family", "exact match", "BLEU", "models at chance", "Spearman (BLEU vs FLOPs there)",
                      "verdict"],
                     [[c["task"], c["family"], c["discrete_label"], c["continuous_label"], c["n_at_chance"],
                       "" if c["spearman_at_chance"] is None else f"{c['spearman_at_chance']:+.2f}", c["verdict"]]
                      for c in comps]))

    prompts = [p for p in p_ob["prompting"] if p["family"] == "(all)" and p["metric"] == "exact_match[flexible-extract]"]
    if prompts:
        add("\n### Augmented prompting: chain of thought vs plain few-shot (ObsScaling, pooled, flexible-extract "
            "exact match)\n")
        add("Pairs found by task name (`bbh_cot_fewshot_X` vs `bbh_fewshot_X`, `gsm8k_cot` vs `gsm8k`). "
            "Crossover: the smallest FLOPs from which the isotonic fit of (CoT - plain) stays above 0.03 "
            "for at least 3 models; "
            "\"smallest\" = CoT is ahead from the smallest model on.\n")
        rows = []
        for p in sorted(prompts, key=lambda p: p["task"]):
            cross = "never" if p["crossover_scale"] is None else (
                "smallest" if p["beats_from_smallest"] else
                f"{p['crossover_scale']:.1e} [{fmt_scale('flops', p['crossover_lo'])}, "
                f"{fmt_scale('flops', p['crossover_hi']) or 'never'}]")
            rows.append([p["method_a"], p["method_b"], p["n_models"], cross, f"{p['gain_at_bottom']:+.3f}",
                         f"{p['gain_at_top']:+.3f}"])
        add(md_table(["CoT task", "plain task", "models", "CoT beats plain from (FLOPs)", "gain, smallest 20%",
                      "gain, largest 20%"], rows))

    add("\n### Data notes\n")
    add("- Loss values are comparable only within one source; open_lm is read by C4 validation loss, "
        "ObsScaling by FLOPs (it has no common loss).")
    add("- ObsScaling mixes many families: the pooled curve is the headline (most families have 3-8 models); "
        f"families with at least {cfg.min_points} models with FLOPs are also detected on their own.")
    add("- About 6% of ObsScaling rows have no FLOPs (Qwen2, Mistral/Mixtral, GPT-2, RWKV, InternLM2, DeciLM, "
        "Jamba); they are dropped from FLOPs curves and counted per curve (`n_dropped`).")
    if fixes:
        add("- Known scale quirks corrected in a copy before detection: " + "; ".join(fixes) + ". "
            + ("Labels changed by the correction: " + "; ".join(changed) + "." if changed else
               "No label changes because of the correction."))
    else:
        add("- ObsScaling's scale quirks (BTLM-3B tokens, open_llama_7b_v2 params) were left as published (--raw).")
    add("- ObsScaling reports several exact-match variants per BBH/GSM8K task (strict-match, flexible-extract, "
        "...); each is its own curve. Strict-match of plain few-shot BBH is ~0 throughout (the answer format is "
        "not followed), so those curves come out flat.")
    text = "\n".join(lines) + "\n"
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out} ({elapsed:.0f} s)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if args.readme:
        write_readme_block(Path(args.readme), readme_table)
        print(f"updated the headline table in {args.readme}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
