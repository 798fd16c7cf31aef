"""The science core: emergence-law forms, fits, bootstrap, backtest, baselines (numpy/scipy only, no torch).

Entry points: :func:`fit_elbow` (one curve), :func:`fit_law` (the joint emergence law),
:func:`bootstrap_law` (its interval; :func:`fit_and_bootstrap` does both), :func:`backtest`,
:func:`fit_sigmoid_baseline`, :func:`fit_scaling_law`; :func:`draw_rows` and :func:`draw_table` (synthetic
rows and tables with a known truth). Losses are pretraining losses in nats/token.
"""

from __future__ import annotations

from emergence_laws.laws.law_backtest import Backtest, backtest
from emergence_laws.laws.baselines import (
    SigmoidBaseline,
    fit_power_law_law,
    fit_sigmoid_baseline,
)
from emergence_laws.laws.bootstrap import (
    BootstrapResult,
    bootstrap_law,
    fit_and_bootstrap,
)
from emergence_laws.laws.data import LawData
from emergence_laws.laws.elbow import ElbowFit, fit_elbow
from emergence_laws.laws.law_fit import fit_law
from emergence_laws.laws.forms import (
    log_power_shift,
    power_shift,
    relu_elbow,
    softplus_elbow,
)
from emergence_laws.laws.identifiability import check_identifiable
from emergence_laws.laws.law import EmergenceLaw, LawDraws
from emergence_laws.laws.scaling import ScalingLaw, fit_scaling_law
from emergence_laws.laws.synthetic import Misspecification, draw_rows, draw_table

__all__ = [
    "Backtest",
    "BootstrapResult",
    "ElbowFit",
    "EmergenceLaw",
    "LawData",
    "LawDraws",
    "Misspecification",
    "ScalingLaw",
    "SigmoidBaseline",
    "backtest",
    "bootstrap_law",
    "check_identifiable",
    "draw_rows",
    "draw_table",
    "fit_and_bootstrap",
    "fit_elbow",
    "fit_law",
    "fit_power_law_law",
    "fit_scaling_law",
    "fit_sigmoid_baseline",
    "log_power_shift",
    "power_shift",
    "relu_elbow",
    "softplus_elbow",
]
