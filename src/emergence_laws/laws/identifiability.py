"""Can the data determine an emergence law? Plain-language refusals and design warnings.

:func:`check_identifiable` raises :class:`~emergence_laws.errors.NotIdentifiableError` (one line:
what is missing and what to add) when the law cannot be fitted at all:

- no finetuned rows (``n_train > 0``) — e.g. a table of few-shot evaluations only;
- one finetuning data amount (the shift ``E_theta(D)`` needs 2+ amounts);
- one checkpoint (an elbow in loss needs 2+ pretraining losses);
- every finetuned curve flat: at chance (no checkpoint has emerged even after finetuning), or flat above
  chance at every checkpoint (the elbow lies beyond the weakest one).

and returns warnings for the designs the paper's ablations showed to fail (Snell et al., 2024,
errors of ~1 nat): no small-data subsets, a single random subset per amount, few or no late
checkpoints. :func:`post_fit_warnings` adds the checks that need the fitted law.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from emergence_laws.errors import NotIdentifiableError
from emergence_laws.laws.data import LawData
from emergence_laws.laws.elbow import fit_elbow

if TYPE_CHECKING:
    from emergence_laws.laws.law import EmergenceLaw


def _fmt_amounts(a) -> str:
    return ", ".join(f"{x:g}" for x in a)


def _above_chance(level: float, chance: float, n_eval: np.ndarray | None) -> bool:
    """Whether a flat curve's level sits above chance: by more than 0.02 and 3 binomial standard errors of
    the curve's pooled answers (when `n_eval` is known)."""
    se = 0.0
    if n_eval is not None and np.all(np.isfinite(n_eval)) and n_eval.sum() > 0:
        se = math.sqrt(chance * (1.0 - chance) / float(n_eval.sum()))
    return level - chance > max(0.02, 3.0 * se)


def check_identifiable(data: LawData, d0_range: tuple[float, float] | None = None) -> list[str]:
    """Raise if the law cannot be fitted; else return design warnings (strings). `d0_range`: the low-data
    limit the fit extrapolates to, (lo, hi) examples (a known D0 is lo = hi; default: the shots N)."""
    ft = data.n_train > 0
    if not ft.any():
        raise NotIdentifiableError(
            f"no finetuned rows (n_train > 0) among {data.n_rows} rows: the emergence law is fitted to checkpoints "
            "finetuned on 2+ data amounts (e.g. n_train in {16, 64, 256, 1024}, 2+ random subsets each); "
            "add them (e.g. `emergence run`), or extrapolate the few-shot curve alone (`fit_sigmoid_baseline`)"
        )
    amounts = data.amounts
    if amounts.size < 2:
        raise NotIdentifiableError(
            f"one data amount: all finetuned rows use n_train={amounts[0]:g}, but the shift E(D) needs 2+ amounts; "
            f"add amounts, ideally 4+ spanning 1.5+ decades (e.g. n_train in {{{_fmt_amounts(amounts[0] * np.array([0.25, 1, 4, 16]))}}})"
        )
    n_ckpt = np.unique(data.loss[ft]).size
    if n_ckpt < 2:
        raise NotIdentifiableError(
            f"one checkpoint: all finetuned rows have loss {data.loss[ft][0]:.4g} nats, but the elbow in loss needs "
            "2+ checkpoints, ideally 5+ spanning weak to strong models; add finetuned runs of other checkpoints"
        )
    ne = data.n_eval
    emerged, flat_above = [], []
    for d in amounts:
        m = data.n_train == d
        if np.unique(data.loss[m]).size < 2:
            continue
        ef = fit_elbow(data.loss[m], data.value[m], chance=data.chance, n_eval=None if ne is None else ne[m])
        if ef.emerged:
            emerged.append(d)
        elif data.chance is not None and _above_chance(ef.B, data.chance, None if ne is None else ne[m]):
            flat_above.append(d)
    if not emerged:
        span = f"checkpoints from {data.loss[ft].max():.4g} to {data.loss[ft].min():.4g} nats"
        if flat_above:
            raise NotIdentifiableError(
                f"no finetuned curve rises out of a floor (n_train in {{{_fmt_amounts(amounts)}}}, {span}): at "
                f"n_train in {{{_fmt_amounts(flat_above)}}} the accuracy is above chance but shows no elbow along the "
                "loss (no floor to rise out of within these checkpoints: the elbow may lie beyond the weakest), at "
                "the other amounts it is at chance; add weaker checkpoints or amounts in between, so that at least "
                "one curve rises out of its floor"
            )
        where = "at chance" if data.chance is not None else "flat"
        raise NotIdentifiableError(
            f"every finetuned curve is {where} (n_train in {{{_fmt_amounts(amounts)}}}, strongest loss "
            f"{data.loss[ft].min():.4g} nats): no checkpoint has emerged even after finetuning; add stronger "
            "checkpoints or larger n_train so that at least one curve rises"
        )
    warns: list[str] = []
    if len(emerged) < 2:
        warns.append(
            f"only n_train={emerged[0]:g} shows a rise above the floor; the shift E(D) rests on one elbow; "
            "add stronger checkpoints or more data amounts"
        )
    if n_ckpt < 4:
        warns.append(f"only {n_ckpt} finetuned checkpoints; 5+ spanning weak to strong models make the elbows reliable")
    d0_lo, d0_hi = d0_range if d0_range is not None else (max(float(data.shots), 1.0),) * 2
    d0_words = f"D0={d0_lo:g}" if d0_hi <= d0_lo else f"D0 (unknown in {d0_lo:g}-{d0_hi:g})"
    lo, hi = float(amounts.min()), float(amounts.max())
    if lo > 1 and hi > lo and math.log(lo / max(d0_lo, 1.0)) > math.log(hi / lo):
        warns.append(
            f"no small-data subsets: the smallest n_train ({lo:g}) is further from {d0_words} (in log D) than the "
            f"data span ({lo:g}-{hi:g}); the paper's ablation without small subsets failed by ~1 nat; "
            f"add n_train near {max(2 * d0_lo, 2):g}-{max(10 * d0_lo, 10):g}"
        )
    single = []
    for d in amounts:
        m = data.n_train == d
        pairs = np.unique(np.stack([data.loss[m], data.seed[m].astype(float)], axis=1), axis=0)
        per_ckpt = np.unique(pairs[:, 0], return_counts=True)[1]  # random subsets per checkpoint
        if per_ckpt.max() < 2:
            single.append(d)
    if single:
        warns.append(
            f"a single random subset per amount for n_train in {{{_fmt_amounts(single)}}}: the paper's ablation "
            "without repeated subsets failed; add 2+ random subsets (seeds) per amount"
        )
    return warns


def post_fit_warnings(data: LawData, law: EmergenceLaw) -> list[str]:
    """Warnings that need the fitted law: late checkpoints past the smallest amount's elbow, bounds hit."""
    warns: list[str] = []
    ft = data.n_train > 0
    dmin = float(data.amounts.min())
    e_min = float(law.emergence_point(dmin))
    past = np.unique(data.loss[ft & (data.loss < e_min)]).size
    if past < 2:
        warns.append(
            f"no late checkpoints: only {past} finetuned checkpoint(s) lie past the elbow of the smallest amount "
            f"(n_train={dmin:g}, E={e_min:.3f} nats); the paper's ablation without late checkpoints failed; "
            "add stronger checkpoints"
        )
    if law.form == "logpower" and (law.alpha <= 0.0501 or law.alpha >= 4.99):
        warns.append(f"alpha hit its bound ({law.alpha:.3g}); the extrapolation to D0 is poorly constrained")
    return warns
