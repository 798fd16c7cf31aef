"""Discrete vs continuous metric, side by side (Schaeffer et al. 2023; Wei et al. 2022, sec. 5).

Where one task (same family, shots, n_train) is scored by a discrete metric (accuracy, exact
match: right/wrong per example) *and* a continuous one (log-likelihood of the answer, Brier
score, BLEU, bits per byte), this says whether the continuous metric already improves with
scale over the models at which the discrete one sits at chance.

"At chance" models: for a discrete curve with a located jump (emergent, not identifiable,
warm-up), those before the first model above chance; for a flat or marginal one, all models; for
smooth/noisy curves there is no at-chance stretch and the question is moot.
"Improves": Spearman rank correlation between scale and the (oriented) continuous metric over
those models is positive with p < 0.05 (needs at least 4 models).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from emergence_laws.analysis.series import Series, to_u
from emergence_laws.laws.curve_labels import DEFAULT_CONFIG, DetectConfig
from emergence_laws.metrics import is_discrete, resolve


def compare_metrics(series: list[Series], rows: list[dict[str, Any]], x: str, config: DetectConfig = DEFAULT_CONFIG,
                    directions: Mapping[str, bool] | None = None) -> list[dict[str, Any]]:
    """One dict per (discrete, continuous) metric pair of the same task curve."""
    by_sid = {r["series"]: r for r in rows}
    groups: dict[tuple, list] = {}
    for s in series:
        k = tuple((c, v) for c, v in sorted(s.key.items()) if c != "metric")
        groups.setdefault(k, []).append(s)
    out: list[dict[str, Any]] = []
    for members in groups.values():
        disc = [s for s in members if is_discrete(str(s.key["metric"]))]
        cont = [s for s in members if not is_discrete(str(s.key["metric"]))]
        for d in disc:
            rd = by_sid[d.sid]
            for c in cont:
                rc = by_sid[c.sid]
                if rd.get("bracket"):  # emergent, not identifiable, warm-up: the models before the jump
                    jump = _u(rd["bracket"][1], x)
                    at_models = set(d.ids[(d.u < jump - 1e-12) & ~d.init])
                elif rd["label"] in ("flat", "marginal"):  # at or near chance throughout
                    at_models = set(d.ids[~d.init])
                else:
                    at_models = set()
                mask = np.isin(c.ids, list(at_models))
                sign = resolve(str(c.key["metric"]), directions).sign
                rho = p = None
                improves = None
                if mask.sum() >= 4 and np.ptp(c.u[mask]) > 0:
                    from scipy.stats import (
                        spearmanr,  # heavy import: only when a pair exists
                    )

                    res = spearmanr(c.u[mask], sign * c.value[mask])
                    rho, p = float(res.statistic), float(res.pvalue)
                    if np.isfinite(rho):
                        improves = bool(rho > 0 and p < 0.05)
                    else:
                        rho = p = None
                if at_models and improves is not None:
                    verdict = (
                        f"{c.key['metric']} improves (Spearman {rho:+.2f}) while {d.key['metric']} is at chance"
                        if improves else
                        f"{c.key['metric']} does not improve significantly while {d.key['metric']} is at chance"
                    )
                elif not at_models:
                    verdict = f"{d.key['metric']} is {rd['label']}: no at-chance stretch to compare"
                else:
                    verdict = "too few at-chance models to compare"
                out.append({
                    "task": d.key["task"],
                    "family": d.key["family"],
                    "discrete": d.key["metric"],
                    "discrete_label": rd["label"],
                    "discrete_scale": rd["emergent_scale"],
                    "continuous": c.key["metric"],
                    "continuous_label": rc["label"],
                    "continuous_onset": rc["onset"],
                    "n_at_chance": int(mask.sum()),
                    "spearman_at_chance": rho,
                    "p_value": p,
                    "continuous_improves_at_chance": improves,
                    "verdict": verdict,
                    "discrete_series": d.sid,
                    "continuous_series": c.sid,
                })
    return out


def _u(value: float, x: str) -> float:
    return float(to_u(x, np.array([value]))[0])
