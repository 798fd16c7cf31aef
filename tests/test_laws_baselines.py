"""Baselines (few-shot sigmoid, plain power law), the scaling-law inversion, and the real public tables."""

from __future__ import annotations

import numpy as np
import pytest

from emergence_laws.analysis.table_fit import baseline_table, fit_table, scaling_inversion
from emergence_laws.errors import NotIdentifiableError
from emergence_laws.laws.law_backtest import backtest
from emergence_laws.laws.baselines import fit_power_law_law, fit_sigmoid_baseline
from emergence_laws.laws.law import EmergenceLaw
from emergence_laws.laws.scaling import fit_scaling_law
from emergence_laws.laws.synthetic import draw_rows, law_data
from emergence_laws.results import load_results
from tests.conftest import PUBLIC_DATA

TRUTHS = [
    EmergenceLaw(k=0.12, alpha=1.2, C=2.6, A=0.45, B=0.25, delta=0.0, d0=5.0, shots=5),
    EmergenceLaw(k=0.3, alpha=0.8, C=2.4, A=0.5, B=0.2, delta=0.02, d0=3.0, shots=3),
    EmergenceLaw(k=0.05, alpha=1.6, C=2.9, A=0.4, B=0.1, delta=-0.05, d0=8.0, shots=8),
]
LADDER = np.linspace(2.0, 4.4, 18)


@pytest.fixture(scope="module")
def openlm():
    return load_results(PUBLIC_DATA / "openlm_scaling_evals.csv")


@pytest.fixture(scope="module")
def obsscaling():
    return load_results(PUBLIC_DATA / "obsscaling_evals.csv")


def test_sigmoid_baseline_fails_visibly_on_pre_emergence_data_where_the_law_does_not():
    """Same rows for both (checkpoints with loss above the true few-shot emergence point + 0.05 nats)."""
    law_err, sig_err, identified = [], [], []
    for t in TRUTHS:
        for s in range(3):
            data = law_data(draw_rows(t, LADDER, [16, 64, 256, 1024], seeds=2, rng=s))
            bt = backtest(data, t.few_shot_emergence_point + 0.05, d0=t.d0)  # D0 known: the law's own error
            law_err.append(bt.error_nats)
            sig_err.append(bt.sigmoid_error_nats)
            identified.append(bt.sigmoid.identified)
    ml, ms = float(np.median(law_err)), float(np.median(sig_err))
    print(
        f"\npre-emergence backtests ({len(law_err)}): emergence law median error {ml:.3f} nats "
        f"(max {max(law_err):.3f}); few-shot sigmoid median error {ms:.3f} nats (min {min(sig_err):.3f}), "
        f"identified in {sum(identified)}/{len(identified)}"
    )
    assert not any(identified)  # the baseline says it cannot see the jump
    assert ml <= 0.1
    assert ms > 0.3 and ms > 3 * ml


def test_power_law_baseline_uses_the_same_interface():
    t = TRUTHS[0]
    data = law_data(draw_rows(t, LADDER, [16, 64, 256, 1024], seeds=2, rng=0))
    law = fit_power_law_law(data)
    assert law.form == "power" and np.isfinite(law.few_shot_emergence_point)
    assert np.all(np.diff(law.emergence_point(np.array([16, 64, 256, 1024]))) >= 0)


def test_scaling_law_recovers_and_inverts():
    N = np.geomspace(1e7, 1e10, 9)
    L = 1.7 + 400.0 / N**0.3
    s = fit_scaling_law(N, L, "params")
    assert s.E == pytest.approx(1.7, abs=1e-3) and s.alpha == pytest.approx(0.3, abs=1e-3)
    assert s.scale_at(float(1.7 + 400.0 / 3e8**0.3)) == pytest.approx(3e8, rel=1e-3)
    assert s.scale_at(1.6) is None  # below the irreducible loss: unreachable
    with pytest.raises(NotIdentifiableError, match="3\\+ models"):
        fit_scaling_law([1e8, 1e9], [3.0, 2.8])


def test_real_openlm_fit_says_what_is_missing(openlm):
    with pytest.raises(NotIdentifiableError, match=r"no finetuned rows \(n_train > 0\).*add them") as e:
        fit_table(openlm, task="squad")
    assert "\n" not in str(e.value)


def test_real_openlm_sigmoid_baseline_and_scaling_inversion(openlm):
    rpj = openlm[openlm.family == "open_lm-rpj"]
    full = baseline_table(rpj, task="squad")
    assert full["identified"] and 2.9 < full["emergence_point"] < 3.53
    flops = full["scale"]["flops"]
    assert flops["n_models"] >= 30 and flops["rmse"] < 0.2
    assert 1e18 < flops["at_loss"] < 1e23
    # the inversion is monotone: a lower loss needs more compute
    inv = scaling_inversion(rpj, 2.6)["flops"]["at_loss"]
    assert inv > scaling_inversion(rpj, 3.0)["flops"]["at_loss"]
    # only pre-emergence models (loss > 3.3): the sigmoid cannot locate the jump
    pre = baseline_table(rpj, task="squad", cutoff_loss=3.3)
    assert not pre["identified"]
    assert any("not a prediction" in w for w in pre["warnings"])
    print(
        f"\nopen_lm rpj squad sigmoid: full {full['emergence_point']:.3f} nats, "
        f"pre-emergence only {pre['emergence_point']:.3f} (not identified)"
    )


def test_real_obsscaling_few_shot_only(obsscaling):
    with pytest.raises(NotIdentifiableError, match="no finetuned rows.*no pretrain_loss"):
        fit_table(obsscaling, task="gsm8k")
    res = baseline_table(obsscaling, task="gsm8k", metric="exact_match[strict-match]")
    assert res["axis"] == "flops" and res["emergence_point"] > 0
    # without pretrain_loss there is no loss -> compute inversion to do
    assert scaling_inversion(obsscaling, 2.5) is None


def test_sigmoid_on_a_clean_sigmoid_is_identified():
    x = np.linspace(2.0, 4.0, 20)
    y = 0.25 + 0.6 / (1 + np.exp(-8 * (2.8 - x)))
    sig = fit_sigmoid_baseline(x, y)
    assert sig.identified and sig.x0 == pytest.approx(2.8, abs=0.01)
    assert sig.emergence_point == pytest.approx(2.8 + 2 / 8, abs=0.02)


def test_every_fourth_real_task_refuses_the_law_plainly_and_runs_the_baseline(openlm, obsscaling):
    from emergence_laws.errors import EmergenceError

    counts = {"identified": 0, "not identified": 0}
    for df in (openlm, obsscaling):
        for task in sorted(df.task.unique())[::4]:
            sub = df[df.task == task]
            metric = min(sub.metric.unique())
            with pytest.raises(NotIdentifiableError, match="no finetuned rows"):
                fit_table(sub, task=task, metric=metric)
            try:
                res = baseline_table(sub, task=task, metric=metric)
            except EmergenceError as exc:  # allowed only as a one-line user error, never a crash
                assert "\n" not in str(exc)
                continue
            assert res["emergence_point"] is None or np.isfinite(res["emergence_point"])
            counts["identified" if res["identified"] else "not identified"] += 1
    print(f"\nreal tasks, few-shot sigmoid baseline: {counts}")
    assert counts["identified"] > 0 and counts["not identified"] > 0
