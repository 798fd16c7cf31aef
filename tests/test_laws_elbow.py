"""Single-curve elbow fits (`fit_elbow`): recovery, flat curves, bad input, real data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from emergence_laws.errors import InputError
from emergence_laws.laws.elbow import fit_elbow
from emergence_laws.laws.forms import relu_elbow
from tests.conftest import PUBLIC_DATA


@pytest.mark.parametrize("E_true", [2.6, 3.0, 3.4])
def test_recovers_the_elbow_of_a_noisy_binomial_curve(E_true):
    rng = np.random.default_rng(int(E_true * 10))
    L = np.linspace(2.2, 4.0, 16)
    mu = relu_elbow(L, 0.5, E_true, 0.25)
    y = rng.binomial(1000, mu) / 1000
    ef = fit_elbow(L, y, chance=0.25, n_eval=1000)
    assert ef.emerged
    assert abs(ef.E - E_true) < 0.05
    assert abs(ef.A - 0.5) < 0.1 and abs(ef.B - 0.25) < 0.02
    assert ef.n_past == int(np.sum(L < ef.E))


def test_flat_curve_is_not_emerged_and_reports_no_elbow():
    rng = np.random.default_rng(0)
    L = np.linspace(2.5, 4.0, 12)
    y = rng.binomial(500, 0.25, size=L.size) / 500
    ef = fit_elbow(L, y, chance=0.25, n_eval=500)
    assert not ef.emerged and math.isnan(ef.E) and ef.A == 0.0
    assert ef.e_upper == pytest.approx(2.5)
    np.testing.assert_allclose(ef.predict([2.0, 3.0]), ef.B)
    assert ef.to_json()["E"] is None


def test_softplus_form_and_repeated_losses():
    L = np.repeat(np.linspace(2.2, 4.0, 10), 3)
    y = relu_elbow(L, 0.4, 3.1, 0.1) + np.random.default_rng(1).normal(0, 0.005, L.size)
    ef = fit_elbow(L, y, form="softplus", beta=60)
    assert ef.emerged and abs(ef.E - 3.1) < 0.05


@pytest.mark.parametrize(
    "loss, value, msg",
    [
        ([3.0, 2.5], [0.2], "one value per loss"),
        ([3.0, float("nan"), 2.0], [0.2, 0.3, 0.4], "finite"),
        ([3.0, 3.0, 3.0], [0.2, 0.3, 0.4], "same loss"),
    ],
)
def test_bad_input_raises_one_line_input_error(loss, value, msg):
    with pytest.raises(InputError, match=msg) as e:
        fit_elbow(loss, value)
    assert "\n" not in str(e.value)


def test_real_openlm_squad_emerges_where_the_data_readme_says():
    df = pd.read_csv(PUBLIC_DATA / "openlm_scaling_evals.csv")
    s = df[(df.task == "squad") & (df.family == "open_lm-rpj")]
    ef = fit_elbow(s.pretrain_loss, s.value, chance=0.0, n_eval=s.n_eval)
    # README: <= 0.004 for every model with loss >= 3.53, climbs steeply below ~3.3
    assert ef.emerged and 3.1 < ef.E < 3.53


def test_before_saturation_keeps_the_rise_and_drops_the_flat_top():
    from emergence_laws.laws.elbow import before_saturation

    rng = np.random.default_rng(7)
    E_true = 1.19
    L = np.linspace(1.7, 1.03, 24)  # weakest first, like a ladder
    mu = np.minimum(relu_elbow(L, 8.0, E_true, 0.25), 0.99)  # saturates near 1 soon after the elbow
    y = rng.binomial(200, mu) / 200
    keep = before_saturation(L, y)
    assert keep[L > E_true].all()  # every at-chance and rising checkpoint stays
    assert not keep[L < 1.08].any()  # the saturated top goes
    naive = fit_elbow(L, y, chance=0.25, n_eval=200)
    clipped = fit_elbow(L[keep], y[keep], chance=0.25, n_eval=200)
    assert abs(clipped.E - E_true) < 0.02
    assert abs(clipped.E - E_true) < abs(naive.E - E_true)  # the flat top tilts the plain ReLU fit


def test_before_saturation_keeps_a_curve_without_a_ceiling_nearly_whole():
    from emergence_laws.laws.elbow import before_saturation

    L = np.linspace(4.0, 2.2, 16)
    y = relu_elbow(L, 0.3, 3.0, 0.25)
    keep = before_saturation(L, y)
    assert keep.sum() >= 15  # a linear rise reaches 90% of its span only at its strongest rows
