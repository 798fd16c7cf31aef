"""The label rules of issue 26 on generated checkpoint logs shaped like published ones (OLMo, Pythia):
~40-190 checkpoints, a random-init checkpoint at step 0, a noisy floor at or below chance (answer-bias
floors like 0.22), 14,000 evaluation questions (MMLU), then the shape each rule is about."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emergence_laws.analysis.table_detect import detect_table
from emergence_laws.laws.curve_suite import KINDS, RIGHT, draw_curve, warmup
from emergence_laws.laws.curve_labels import DetectConfig, classify_curve, find_jump, theil_sen_slope, trend_p_value
from emergence_laws.metrics import resolve
from emergence_laws.results import validate_table
from emergence_laws.testing.checkpoint_logs import log_steps, loss_at, shaped_run


def detect(rows: list[dict], **kw) -> dict:
    return detect_table(validate_table(pd.DataFrame(rows)), x="pretrain_loss", **kw)


def only(payload: dict, family: str) -> dict:
    (r,) = [r for r in payload["series"] if r["family"] == family]
    return r


def step_up(loss_at_jump: float, floor: float, top: float):
    return lambda loss: floor if loss > loss_at_jump else top


# ---------------------------------------------------------------------------------------------
# rule 1: a statistically real but tiny rise is marginal, not emergent (also pooled)


def marginal_runs(rng: np.random.Generator, top: float) -> list[dict]:
    """MMLU 0-shot over the checkpoints of three runs: 0.22-0.26 (an answer-bias floor 0.237 with
    checkpoint-to-checkpoint variation), then 0.28-0.31 once the loss is below 2.55 nats."""
    rows = []
    for name, params, n in (("run-7b", 7e9, 120), ("run-12b", 12e9, 150), ("run-1b", 1e9, 90)):
        rows += shaped_run(name, params, log_steps(n), step_up(2.55, 0.237, top), n_eval=14000, rng=rng,
                           extra_sd=0.008)
    return rows


def test_a_rise_of_three_points_above_chance_is_marginal_per_run_and_pooled():
    p = detect(marginal_runs(np.random.default_rng(0), top=0.295))
    for fam in ("run-7b", "run-12b", "run-1b", "(all)"):
        r = only(p, fam)
        assert r["label"] == "marginal", (fam, r["reason"])
        assert r["trend_evidence"] >= DetectConfig().trend_bic  # statistically real ...
        assert 0 < r["reach"] < DetectConfig().min_reach  # ... but under a tenth of the way from chance to 1
        assert "stays near chance" in r["reason"] and r["emergent_scale"] is None


def test_the_same_shape_well_above_chance_is_emergent():
    p = detect(marginal_runs(np.random.default_rng(0), top=0.45))
    for fam in ("run-7b", "run-12b", "run-1b", "(all)"):
        r = only(p, fam)
        assert r["label"] == "emergent", (fam, r["reason"])
        assert r["reach"] > 0.2


def test_the_effect_size_rule_reads_the_registry_best():
    assert resolve("accuracy").best == 1.0 and resolve("exact_match").best == 1.0
    assert resolve("brier").best == 0.0 and float(resolve("brier").orient(0.0)) == 2.0
    assert resolve("loglik").best is None and resolve("bpb").best is None and resolve("bleu").best is None
    # without a best score (a continuous metric) the rule does not apply
    u = np.linspace(-4, -2, 60)
    y = np.where(u > -2.6, 0.07, 0.0) + np.random.default_rng(1).normal(0, 0.005, u.size)
    assert classify_curve(u, y, chance=0.0, best=1.0).label == "marginal"
    assert classify_curve(u, y, chance=0.0, best=None).label == "emergent"


# ---------------------------------------------------------------------------------------------
# rule 2: a jump after fewer than the needed pre-jump checkpoints is not identifiable, never smooth


@pytest.mark.parametrize("k,seed", [(1, 0), (1, 1), (2, 2)])
def test_a_jump_after_one_or_two_checkpoints_at_chance_is_not_identifiable(k, seed):
    """13B, MC format: 0.23-0.27 on the first checkpoints (warm-up, then k past it), then 0.27 -> 0.40
    between two adjacent checkpoints, then a slow climb."""
    rng = np.random.default_rng(seed)
    params, steps = 13e9, log_steps(60)
    loss = np.array([loss_at(params, s) for s in steps])
    w0 = int(np.argmax(~warmup(loss)))  # first checkpoint past warm-up
    assert w0 >= 3  # step 0 and at least two warm-up checkpoints before it
    jump = float(loss[w0 + k - 1] + loss[w0 + k]) / 2
    rows = shaped_run("run-13b", params, steps, lambda L: 0.25 if L > jump else 0.40 + 0.1 * (jump - L),
                      n_eval=14000, rng=rng, extra_sd=0.008)
    r = only(detect(rows), "run-13b")
    assert r["label"] == "not identifiable", r["reason"]
    assert r["reason"].startswith(f"not identifiable ({k} pre-jump point")
    last, first = r["bracket"]  # loss: the last checkpoint at chance, then the first above
    assert (last, first) == (pytest.approx(loss[w0 + k - 1], abs=1e-4), pytest.approx(loss[w0 + k], abs=1e-4))
    assert first < jump < last


def test_three_checkpoints_at_chance_then_the_same_jump_is_emergent():
    rng = np.random.default_rng(3)
    params, steps = 13e9, log_steps(60)
    loss = np.array([loss_at(params, s) for s in steps])
    w0 = int(np.argmax(~warmup(loss)))
    jump = float(loss[w0 + 4] + loss[w0 + 5]) / 2
    rows = shaped_run("run-13b", params, steps, lambda L: 0.25 if L > jump else 0.40 + 0.1 * (jump - L),
                      n_eval=14000, rng=rng, extra_sd=0.008)
    r = only(detect(rows), "run-13b")
    assert r["label"] == "emergent", r["reason"]
    assert r["n_floor"] == 5


# ---------------------------------------------------------------------------------------------
# rule 3: the emergent scale lies inside [first above chance, last at chance]


def test_emergent_scale_is_inside_the_bracket_when_the_ramp_leaves_its_floor_early():
    """7B: at chance for ~30 checkpoints, then a slow linear climb whose first checkpoints stay inside the
    at-chance band: the ramp's onset lies before checkpoints still at chance; the emergent scale does not."""
    rng = np.random.default_rng(4)
    params, steps = 7e9, log_steps(150)
    loss = np.array([loss_at(params, s) for s in steps])
    onset = float(loss[40])
    rows = shaped_run("run-7b", params, steps, lambda L: 0.22 + max(onset - L, 0.0) * 2.0, n_eval=14000, rng=rng,
                      extra_sd=0.005)
    p = detect(rows)
    r = only(p, "run-7b")
    assert r["label"] == "emergent", r["reason"]
    last, first = r["bracket"]
    assert r["onset"] > last  # the ramp's onset: a higher loss than the last checkpoint at chance ...
    x, v = (np.asarray(p["points"][r["series"]][k]) for k in ("x", "value"))
    assert ((x < r["onset"]) & (v <= r["at_chance_up_to"])).sum() >= 2  # ... with checkpoints at chance after it
    assert first <= r["emergent_scale"] <= last  # the emergent scale: inside the bracket
    assert r["scale_lo"] <= first and r["scale_hi"] >= r["emergent_scale"]


# ---------------------------------------------------------------------------------------------
# pieces


def test_find_jump_is_where_the_curve_leaves_chance_for_good():
    u = np.arange(12.0)
    y = np.array([0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1], dtype=float)  # a lone point above at 2: not the jump
    assert find_jump(u, y, band=0.5, onset=0.0) == (6, 7)
    y = np.array([0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1], dtype=float)  # one model still at chance past the jump
    assert find_jump(u, y, band=0.5, onset=0.0) == (4, 5)
    assert find_jump(u, y, band=0.5, onset=6.0) == (7, 8)  # from the ramp's onset on
    assert find_jump(u, np.zeros(12), band=0.5, onset=0.0) == (11, None)
    assert find_jump(u, np.r_[np.zeros(11), 1.0], band=0.5, onset=0.0) == (10, 11)  # the last point may stand alone


def test_weighted_theil_sen_ignores_the_noise_of_close_pairs():
    """A flat floor sampled like a checkpoint log on the loss axis (a few points far apart, many close
    together): the plain Theil-Sen slope follows the noise of the close pairs, the weighted one does not."""
    rng = np.random.default_rng(5)
    u = np.r_[-6.0, -4.2, -3.2, np.linspace(-2.9, -2.5, 40)]
    flat = 0.25 + rng.normal(0, 0.01, u.size)
    y = flat + np.where(u > -2.9, np.linspace(-0.015, 0.015, u.size), 0.0)  # a wiggle inside the close cluster
    assert abs(theil_sen_slope(u, y, weighted=True)) < 0.5 * abs(theil_sen_slope(u, y))
    assert trend_p_value(u, 0.0, 0.01) == pytest.approx(0.5)
    assert trend_p_value(u, 0.05, 0.01) < 1e-6 and trend_p_value(u, 0.05, None) is None


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_the_label_suite_is_drawn_as_stated(kind):
    rng = np.random.default_rng(6)
    for _ in range(5):
        c = draw_curve(kind, rng)
        n = len(c.steps) - 1
        assert 40 <= n <= 190 and c.steps[0] == 0 and c.loss[0] == pytest.approx(np.log(50304))
        assert 100 <= c.n_eval <= 14000 and RIGHT[kind]
        w = warmup(c.loss)
        w0 = int(np.argmax(~w))
        if kind in ("emergent", "late jump"):
            lo, hi = (3, 30) if kind == "emergent" else (1, 2)
            assert lo <= c.k_pre <= hi
            assert np.all(c.p[w0: w0 + c.k_pre] == c.p[1])  # at the floor up to the jump ...
            assert c.p[w0 + c.k_pre] > c.p[1]  # ... and above it from there
        if kind == "warm-up":
            assert c.p[w0] >= c.p[1] + 0.5 * (c.p.max() - c.p[1]) - 1e-9  # half the rise before leaving warm-up
        if kind == "smooth":
            assert np.max(np.diff(c.p[1:])) < 0.25 * (c.p.max() - c.p[1]) + 1e-9
