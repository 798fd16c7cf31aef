"""Emergence detection on generated curves with known elbows (laws.curve_labels, analysis.table_detect)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emergence_laws.analysis.table_detect import detect_table
from emergence_laws.analysis.prompting import strip_cot
from emergence_laws.errors import InputError
from emergence_laws.laws.curve_labels import (
    DetectConfig,
    classify_curve,
    crossover,
    fit_ramp,
    isotonic_increasing,
    theil_sen_slope,
)


def binomial(p: np.ndarray, n_eval: int, rng: np.random.Generator) -> np.ndarray:
    return rng.binomial(n_eval, np.clip(p, 0, 1)) / n_eval


def elbow_curve(u, elbow, chance=0.25, slope=0.35, top=0.95):
    return np.minimum(chance + slope * np.maximum(u - elbow, 0.0), top)


# ---------------------------------------------------------------------------------------------
# one curve


@pytest.mark.parametrize("elbow,seed", [(21.0, 0), (22.3, 1), (23.4, 2)])
def test_known_elbow_in_log_flops_is_emergent_at_the_right_scale(elbow, seed):
    rng = np.random.default_rng(seed)
    u = np.sort(rng.uniform(19.0, 25.0, 30))  # log10 FLOPs of 30 models
    y = binomial(elbow_curve(u, elbow), 1000, rng)
    det = classify_curve(u, y, chance=0.25, n_eval=1000)
    assert det.label == "emergent", det.reasons
    assert abs(det.onset - elbow) < 0.25  # decades of FLOPs
    assert det.onset_lo <= elbow <= det.onset_hi
    assert det.floor_at_chance is True
    assert det.sharpness > 0.3


def test_exact_zero_floor_elbow_exact_match():
    """Exact match with chance 0: a floor of exact zeros must not break the statistics."""
    u = np.linspace(19, 25, 25)
    y = np.where(u < 22.0, 0.0, 0.3 * (u - 22.0))
    det = classify_curve(u, y, chance=0.0)
    assert det.label == "emergent"
    assert abs(det.onset - 22.0) < 0.15


def test_smooth_sigmoid_is_not_emergent():
    rng = np.random.default_rng(3)
    u = np.linspace(19, 25, 30)
    p = 0.25 + 0.7 / (1 + np.exp(-(u - 22.0) / 1.2))  # a wide S-curve over the whole range
    y = binomial(p, 2000, rng)
    det = classify_curve(u, y, chance=0.25, n_eval=2000)
    assert det.label == "smooth", det.reasons


def test_straight_line_in_log_scale_is_smooth_with_low_sharpness():
    u = np.linspace(19, 25, 20)
    y = 0.3 + 0.08 * (u - 19)
    det = classify_curve(u, y, chance=0.25)
    assert det.label == "smooth"
    assert det.sharpness < 0.1


def test_at_chance_throughout_is_flat():
    rng = np.random.default_rng(4)
    u = np.linspace(19, 25, 25)
    y = binomial(np.full_like(u, 0.25), 500, rng)
    det = classify_curve(u, y, chance=0.25, n_eval=500)
    assert det.label == "flat"


def test_weak_trend_under_heavy_scatter_is_noisy():
    rng = np.random.default_rng(5)
    u = np.linspace(19, 25, 150)
    y = 0.3 + 0.3 * (u - 19) / 6 + rng.normal(0, 0.15, u.size)
    det = classify_curve(u, y, chance=0.25)
    assert det.label == "noisy"
    assert det.r2 < 0.5


def test_inverse_scaling_is_not_a_rise():
    u = np.linspace(19, 25, 20)
    y = 0.8 - 0.08 * (u - 19)
    det = classify_curve(u, y, chance=0.25)
    assert det.label == "noisy"
    assert "decreases" in det.reasons[0]


def test_too_few_models_is_noisy_with_a_reason():
    det = classify_curve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.0, 0.5]), chance=0.0)
    assert det.label == "noisy"
    assert "too few" in det.reasons[0]


def test_ramp_fit_recovers_both_knots():
    u = np.linspace(0, 10, 41)
    y = 0.1 + 0.6 * np.clip((u - 3.0) / 4.0, 0, 1)
    fit = fit_ramp(u, y)
    assert fit.onset == pytest.approx(3.0, abs=0.05)
    assert fit.end == pytest.approx(7.0, abs=0.05)
    assert fit.rise == pytest.approx(0.6, abs=0.01)
    assert fit.rss < 1e-4


def test_isotonic_and_theil_sen_and_crossover():
    assert isotonic_increasing(np.array([1.0, 3.0, 2.0, 4.0])).tolist() == [1.0, 2.5, 2.5, 4.0]
    assert theil_sen_slope(np.arange(10.0), 2 * np.arange(10.0) + np.r_[0, 0, 0, 0, 50, 0, 0, 0, 0, 0]) == 2.0
    u = np.linspace(0, 10, 21)
    d = np.where(u < 6, -0.05, 0.2)
    res = crossover(u, d, n_boot=50)
    assert res["crossover"] == pytest.approx(6.0)
    assert res["lo"] <= 6.0 <= (res["hi"] or np.inf)
    assert crossover(u, -np.ones_like(u))["crossover"] is None


def test_strip_cot():
    assert strip_cot("bbh_cot_fewshot_navigate") == "bbh_fewshot_navigate"
    assert strip_cot("gsm8k_cot") == "gsm8k"
    assert strip_cot("cot_qa") == "qa"
    assert strip_cot("scotland_qa") is None


# ---------------------------------------------------------------------------------------------
# tables


def ladder_table(loss_elbow: float = 3.4, n: int = 24, seed: int = 0) -> pd.DataFrame:
    """A generated ladder by pretraining loss: accuracy with an elbow, log-likelihood smooth throughout."""
    rng = np.random.default_rng(seed)
    loss = np.linspace(5.0, 2.5, n)
    acc = binomial(0.25 + 0.5 * np.maximum(loss_elbow - loss, 0), 2000, rng)
    loglik = -1.0 * loss + rng.normal(0, 0.02, n)  # improves smoothly everywhere
    rows = []
    for i in range(n):
        base = {"model": f"m{i}", "task": "t", "n_train": 0, "shots": 3, "pretrain_loss": loss[i],
                "family": "fam", "n_eval": 2000}
        rows.append({**base, "metric": "accuracy", "value": acc[i], "chance": 0.25})
        rows.append({**base, "metric": "loglik", "value": loglik[i]})
        rows.append({**base, "task": "flat_task", "metric": "accuracy", "chance": 0.25,
                     "value": binomial(np.array([0.25]), 2000, rng)[0]})
    return pd.DataFrame(rows)


def test_table_known_elbow_in_pretraining_loss():
    p = detect_table(ladder_table(3.4), x="pretrain_loss")
    acc = next(r for r in p["series"] if r["task"] == "t" and r["metric"] == "accuracy")
    assert acc["label"] == "emergent"
    assert acc["emergent_scale"] == pytest.approx(3.4, abs=0.08)  # nats
    assert acc["scale_lo"] <= 3.4 <= acc["scale_hi"]
    assert acc["last_at_chance"]["x"] >= acc["first_above_chance"]["x"]  # loss: at-chance models are weaker
    flat = next(r for r in p["series"] if r["task"] == "flat_task")
    assert flat["label"] == "flat"
    # one family only: no separate pooled copy
    assert {r["family"] for r in p["series"]} == {"fam"}


def test_metric_comparison_continuous_improves_while_accuracy_at_chance():
    p = detect_table(ladder_table(3.0), x="pretrain_loss")
    (c,) = p["metric_comparison"]
    assert (c["discrete"], c["continuous"]) == ("accuracy", "loglik")
    assert c["discrete_label"] == "emergent"
    assert c["continuous_improves_at_chance"] is True
    assert c["n_at_chance"] >= 10


def test_metric_comparison_says_no_when_continuous_is_flat_too():
    df = ladder_table(3.0)
    flat_ll = df["metric"] == "loglik"
    df.loc[flat_ll, "value"] = -2.0 + np.random.default_rng(1).normal(0, 0.01, flat_ll.sum())
    df.loc[flat_ll & (df["pretrain_loss"] < 3.0), "value"] += 0.5 * (3.0 - df.loc[flat_ll & (df["pretrain_loss"] < 3.0), "pretrain_loss"])
    (c,) = detect_table(df, x="pretrain_loss")["metric_comparison"]
    assert c["continuous_improves_at_chance"] is False


def test_prompting_crossover_from_prompt_method_column():
    rng = np.random.default_rng(2)
    u = np.linspace(20, 25, 16)
    rows = []
    for i, ui in enumerate(u):
        plain = 0.3 + 0.05 * (ui - 20)
        cot = plain - 0.05 + (0.3 * (ui - 23.0) if ui > 23.0 else 0.0)
        for meth, v in (("fewshot", plain), ("cot", cot)):
            rows.append({"model": f"m{i}", "task": "math", "metric": "exact_match", "n_train": 0, "shots": 8,
                         "flops": 10**ui, "prompt_method": meth, "value": float(np.clip(v + rng.normal(0, 0.01), 0, 1))})
    p = detect_table(pd.DataFrame(rows), x="flops")
    (pr,) = p["prompting"]
    assert pr["marked_by"] == "prompt_method column"
    assert "cot" in pr["method_a"]
    # cot - fewshot = -0.05 + 0.3 (u - 23): positive beyond u = 23.17
    assert np.log10(pr["crossover_scale"]) == pytest.approx(23.17, abs=0.35)
    assert pr["gain_at_top"] > 0.3


def test_pooled_and_family_grouping():
    a = ladder_table(3.4, seed=0)
    b = ladder_table(3.3, seed=1).assign(family="fam2", model=lambda d: "b_" + d["model"])
    p = detect_table(pd.concat([a, b]), x="pretrain_loss", task="t", metric="accuracy")
    fams = sorted(r["family"] for r in p["series"])
    assert fams == ["(all)", "fam", "fam2"]
    assert all(r["label"] == "emergent" for r in p["series"])
    only_pooled = detect_table(pd.concat([a, b]), x="pretrain_loss", task="t", metric="accuracy", group="pooled")
    assert [r["family"] for r in only_pooled["series"]] == ["(all)"]


def test_bad_tables_raise_one_line_input_errors():
    df = ladder_table()
    with pytest.raises(InputError, match="1 model"):
        detect_table(df[df["model"] == "m0"], x="pretrain_loss")
    with pytest.raises(InputError, match="no flops"):
        detect_table(df, x="flops")
    with pytest.raises(InputError, match="no scale column"):
        detect_table(df.drop(columns=["pretrain_loss"]))
    mixed = pd.concat([df.assign(variant="a"), df.assign(variant="b", value=df["value"] * 0.9)])
    with pytest.raises(InputError, match="variant") as exc:
        detect_table(mixed, x="pretrain_loss")
    assert "\n" not in str(exc.value)
    with pytest.raises(InputError, match="no rows with task"):
        detect_table(df, task="nope")


def test_lower_is_better_metric_is_oriented():
    """Brier score falls as the model improves: detection reads it flipped, reports it unflipped."""
    loss = np.linspace(5.0, 2.5, 24)
    brier = 0.75 - 0.4 * np.maximum(3.5 - loss, 0)
    df = pd.DataFrame({"model": [f"m{i}" for i in range(24)], "task": "t", "metric": "brier", "value": brier,
                       "n_train": 0, "shots": 0, "pretrain_loss": loss, "chance": 0.75})
    (r,) = detect_table(df, x="pretrain_loss", config=DetectConfig(n_boot=0))["series"]
    assert r["label"] == "emergent"
    assert r["emergent_scale"] == pytest.approx(3.5, abs=0.06)
    assert r["floor"] == pytest.approx(0.75, abs=0.01)
    assert r["top"] < 0.5


def test_prompting_pairs_by_shots():
    """The same task at 0 and 5 shots: more shots is the augmented method."""
    u = np.linspace(20, 25, 12)
    rows = []
    for i, ui in enumerate(u):
        zero = 0.25 + 0.02 * (ui - 20)
        few = zero + (0.25 * (ui - 22.5) if ui > 22.5 else -0.02)
        for shots, v in ((0, zero), (5, few)):
            rows.append({"model": f"m{i}", "task": "qa", "metric": "accuracy", "n_train": 0, "shots": shots,
                         "params": 10 ** (ui - 12), "value": v, "chance": 0.25})
    (pr,) = detect_table(pd.DataFrame(rows), x="params")["prompting"]
    assert pr["marked_by"] == "shots"
    assert (pr["method_a"], pr["method_b"]) == ("qa 5-shot", "qa 0-shot")
    # 5-shot minus 0-shot = 0.25 (u - 22.5) > 0.03 from u = 22.62 on; models sit every 0.45 decades
    assert 22.5 <= np.log10(pr["crossover_scale"]) + 12 <= 23.2
