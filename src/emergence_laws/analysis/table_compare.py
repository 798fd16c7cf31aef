"""Table-level comparison of pretraining runs by the compute at which each reaches few-shot emergence.

    compare_table(df, task=None, by="family", metric=None, compute=None, d0=None, d0_range=None,
                  form="logpower", elbow="relu", bootstrap=200, seed=0, method=None, directions=None,
                  ridge=False, loss_axis="pretrain_loss") -> Comparison

Per group (a value of the ``by`` column: a run, a data mix, a tokenizer): the emergence law fitted to
the group's rows (:func:`~emergence_laws.analysis.table_fit.fit_table`, with its bootstrap), the group's loss
curve ``L(C) = E + A / C^alpha`` in compute (``flops``, else ``tokens``, else ``params``) fitted to
the same checkpoints, and the compute where the curve reaches ``E(D0)``, replicate by replicate with
the same checkpoint draws (:mod:`~emergence_laws.laws.compute`). Per pair of groups: the probability
that one gets there on less compute than the other, and the ratio of their compute.

A group that cannot be compared (too few checkpoints, no finetuned rows, no compute, a law the
data do not identify) is reported as not identified with the reason; the others are compared.
Losses in nats/token (or bits/byte with ``loss_axis="pretrain_bpb"``); compute in the column's units.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Any

import numpy as np

from emergence_laws.analysis.table_fit import FitResult, fit_table
from emergence_laws.analysis.payload import PayloadResult
from emergence_laws.analysis.selection import select_task
from emergence_laws.analysis.series import checkpoint_ids, is_checkpoint_table
from emergence_laws.errors import InputError, NotIdentifiableError
from emergence_laws.jsonutil import clean
from emergence_laws.laws.compute import crossing_scales, prob_less, quantiles, ratio_draws
from emergence_laws.laws.scaling import ScalingLaw, fit_scaling_law

#: Compute columns, in order of preference, and their units.
COMPUTE_AXES: dict[str, str] = {"flops": "FLOPs", "tokens": "tokens", "params": "parameters"}
#: The interval's level: the 5th to 95th percentile.
LEVEL: float = 0.90
#: Fewest bootstrap replicates a comparison accepts (its probabilities are shares of replicates).
MIN_BOOTSTRAP: int = 20
#: Columns that say on what the pretraining loss was measured; groups that differ in them are not comparable in loss.
LOSS_CONTEXT: tuple[str, ...] = ("reference", "tokenizer")


@dataclass(frozen=True, eq=False)
class GroupComparison:
    """One group of a comparison: its law, its loss curve, and its compute draws.

    Attributes:
        group: the group's value of the ``by`` column (as text).
        identified: True when the group takes part in the pairwise comparison.
        reason: why not (None when identified); ``bad_input``: the reason is the table's shape
            (too few checkpoints, no finetuned rows, no compute), not what the data show.
        fit: the emergence-law fit (None when it was not reached or failed).
        curve: the loss curve in compute fitted to all the group's checkpoints.
        scale, loss: the checkpoints on the curve: compute and pretraining loss.
        draws: (R,) compute of each bootstrap replicate (``inf``: never reached under that replicate): its
            loss curve refitted to the law replicate's own checkpoint draws.
        point, interval: the compute (median of ``draws``) and its 90% interval (an end None = unbounded).
    """

    group: str
    identified: bool = False
    reason: str | None = None
    bad_input: bool = False
    fit: FitResult | None = None
    curve: ScalingLaw | None = None
    scale: np.ndarray | None = None
    loss: np.ndarray | None = None
    draws: np.ndarray | None = None
    point: float | None = None
    interval: tuple[float | None, float | None] | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def last_scale(self) -> float | None:
        """Compute of the group's strongest checkpoint on the curve."""
        return None if self.scale is None or not self.scale.size else float(self.scale.max())

    def to_json(self) -> dict[str, Any]:
        fit = self.fit
        last = self.last_scale
        out: dict[str, Any] = {
            "group": self.group,
            "identified": self.identified,
            "emergence_point": None if fit is None else fit["emergence_point"],
            "interval": None if fit is None else fit["interval"],
            "flops": self.point,
            "flops_interval": None if self.interval is None else list(self.interval),
            "ahead": None if self.point is None or not last else self.point / last,
            "ahead_interval": None if self.interval is None or not last else [
                None if v is None else v / last for v in self.interval],
            "last_checkpoint_flops": last,
            "reason": self.reason,
        }
        if self.curve is not None:
            c = self.curve
            out["loss_curve"] = {"E": c.E, "A": c.A, "alpha": c.alpha, "rmse": c.rmse, "n_checkpoints": c.n_models}
            out["checkpoints"] = [[float(s), float(v)] for s, v in zip(self.scale, self.loss)]
        if fit is not None:
            out["n_rows"] = fit["n_rows"]
            out["d0_range"] = fit["d0_range"]
        out["warnings"] = list(self.warnings)
        return clean(out)


@dataclass(frozen=True, eq=False)
class Comparison(PayloadResult):
    """What :func:`compare_table` returns: ``payload`` (the JSON) and the groups' objects; reads as ``payload``."""

    payload: dict[str, Any]
    groups: tuple[GroupComparison, ...]

    @property
    def compared(self) -> list[GroupComparison]:
        return [g for g in self.groups if g.identified]

    def require_two(self) -> None:
        """Raise unless 2+ groups were compared: InputError when a group's table shape is the cause, else
        NotIdentifiableError; the message gives each group's reason."""
        if len(self.compared) >= 2:
            return
        failed = [g for g in self.groups if not g.identified]
        why = "; ".join(f"group {g.group!r}: {g.reason}" for g in failed)
        head = f"{len(self.compared)} of {len(self.groups)} groups could be compared (2+ needed)"
        cls = InputError if any(g.bad_input for g in failed) else NotIdentifiableError
        raise cls(f"{head}: {why}")


def _group_values(rows, by: str) -> tuple[list[str], Any, list[str]]:
    """The groups' names (sorted), the group of each row (text; None where missing), and notes."""
    if by not in rows.columns:
        raise InputError(f"`by={by!r}`: the table has no column {by!r}; its columns: {', '.join(map(str, rows.columns))}")
    text = rows[by].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == ""
                        else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()))
    notes = []
    missing = int(text.isna().sum())
    if missing:
        notes.append(f"{missing} row(s) have no {by!r} value and are left out")
    names = sorted(set(text.dropna()))
    if len(names) < 2:
        raise InputError(
            f"`by={by!r}`: the task's rows hold {len(names)} value(s) of {by!r} ({', '.join(names) or 'none'}); compare "
            "needs 2+ groups (runs, data mixes); name the column that tells the runs apart"
        )
    return names, text, notes


def _compute_axis(rows, compute: str | None) -> str:
    """The compute column: ``compute`` when given, else the first of flops/tokens/params with values."""
    usable = [a for a in COMPUTE_AXES if a in rows.columns and not (a == "params" and is_checkpoint_table(rows))]
    if compute is not None:
        if compute not in rows.columns:
            raise InputError(f"`compute={compute!r}`: the table has no {compute!r} column; it has "
                             + (", ".join(usable) or "no compute column"))
        return compute
    for a in usable:
        if (rows[a].astype(float) > 0).any():
            return a
    raise InputError(
        "the table has no compute column with values (flops, tokens or params): compare predicts the compute at "
        "which each run reaches emergence; add each checkpoint's pretraining FLOPs (or tokens) as a column"
    )


def _context_notes(rows, text, loss_axis: str) -> list[str]:
    """Warnings when groups' losses were measured on different reference texts or tokenizers."""
    notes = []
    for col in LOSS_CONTEXT:
        if col == "tokenizer" and loss_axis == "pretrain_bpb":
            continue  # bits per byte are comparable across tokenizers
        if col not in rows.columns:
            continue
        per = {g: sorted(set(map(str, rows.loc[text == g, col].dropna()))) for g in sorted(set(text.dropna()))}
        if len({tuple(v) for v in per.values()}) > 1:
            shown = "; ".join(f"{g}: {', '.join(v) or '?'}" for g, v in per.items())
            fix = " (or compare in bits per byte: `loss_axis='pretrain_bpb'`)" if col == "tokenizer" and "pretrain_bpb" in rows.columns else ""
            notes.append(
                f"the groups' pretraining losses were measured with different {col}s ({shown}): their emergence "
                f"points in loss are not comparable, only their compute is{fix}"
            )
    return notes


def _checkpoint_compute(fit: FitResult, rows, axis: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per checkpoint of the fit (in the order of ``np.unique(fit.data.model)``): loss, compute (NaN where
    unknown) and whether it is on the curve (compute > 0)."""
    data = fit.data
    models = np.unique(data.model)
    loss = np.array([data.loss[np.flatnonzero(data.model == m)[0]] for m in models])
    table = rows.assign(_id=checkpoint_ids(rows))[["_id", "pretrain_loss", axis]]
    table = table[table["pretrain_loss"].notna()]
    have = table["pretrain_loss"].to_numpy(float)
    values = table[axis].astype(float).to_numpy()
    scale = np.full(models.size, np.nan)
    for i, l_ in enumerate(loss):
        v = values[(have == l_) & np.isfinite(values) & (values > 0)]
        if v.size:
            scale[i] = float(np.exp(np.median(np.log(v))))
    return loss, scale, np.isfinite(scale)


def _group_seed(seed: int, name: str) -> int:
    """The bootstrap seed of a group: its own stream (one seed for all would correlate the groups' replicates),
    a function of ``seed`` and the group's name alone (a group's result does not depend on the others)."""
    return int(np.random.SeedSequence([int(seed), zlib.crc32(name.encode("utf-8"))]).generate_state(1)[0])


def _compare_group(name: str, rows, axis: str, unit: str, fit_kw: dict, seed: int,
                   ridge: bool) -> GroupComparison:
    """Fit one group's law and loss curve and draw its compute (see the module docstring)."""
    n_ckpt = checkpoint_ids(rows[rows["pretrain_loss"].notna()]).nunique()
    if n_ckpt < 3:
        return GroupComparison(name, reason=f"{n_ckpt} checkpoint(s) with pretrain_loss; the law and the loss curve "
                               "need 3+ checkpoints of the run", bad_input=True)
    if not (rows["n_train"] > 0).any():
        return GroupComparison(name, reason="no finetuned rows (n_train > 0); the law is fitted to checkpoints "
                               "finetuned on 2+ data amounts", bad_input=True)
    with_scale = rows[rows[axis].astype(float) > 0] if axis in rows.columns else rows.iloc[:0]
    n_scaled = checkpoint_ids(with_scale).nunique() if len(with_scale) else 0
    if n_scaled < 3:
        return GroupComparison(name, reason=f"{n_scaled} checkpoint(s) with {axis} > 0; its loss curve needs 3+",
                               bad_input=True)
    gseed = _group_seed(seed, name)
    own = [a for a in COMPUTE_AXES if a in rows.columns]
    try:  # the compute columns are dropped: fit_table's own scaling inversion is not the joint one made here
        fit = fit_table(rows.drop(columns=own), seed=gseed, **fit_kw)
    except NotIdentifiableError as exc:
        return GroupComparison(name, reason=f"law not identified: {exc}")
    except InputError as exc:
        return GroupComparison(name, reason=str(exc), bad_input=True)
    warnings = list(fit["warnings"])
    loss, scale, on = _checkpoint_compute(fit, rows, axis)
    try:
        curve = fit_scaling_law(scale[on], loss[on], axis)
    except NotIdentifiableError as exc:
        return GroupComparison(name, reason=f"loss curve not identified: {exc}", fit=fit)
    draws = crossing_scales(curve, scale[on], loss[on], fit.boot.checkpoint_counts[:, on], fit.boot.samples)
    lo, mid, hi = (float(v) for v in quantiles(draws, [0.05, 0.5, 0.95]))
    if ridge and fit.law.ridge_interval is not None:  # the predictions that fit as well as the best, as in E(D0)'s interval
        r_lo, r_hi = fit.law.ridge_interval
        at_hi, at_lo = curve.scale_at(r_hi), curve.scale_at(r_lo)
        lo = min(lo, at_hi if at_hi is not None else math.inf)
        hi = max(hi, at_lo if at_lo is not None else math.inf)
    g = GroupComparison(name, fit=fit, curve=curve, scale=scale[on], loss=loss[on], draws=draws,
                        warnings=tuple(warnings))
    if not math.isfinite(mid):
        return replace(g, reason=f"E(D0) = {fit['emergence_point']:.3f} {unit} lies at or below the loss curve's "
                        f"irreducible loss ({curve.E:.3f}) in most replicates: never reached under the fit")
    interval = (lo if math.isfinite(lo) else None, hi if math.isfinite(hi) else None)
    return replace(g, identified=True, point=mid, interval=interval)


def _pair(a: GroupComparison, b: GroupComparison) -> dict[str, Any]:
    """The pairwise entry: ``first`` the group more likely to get there on less compute."""
    p = prob_less(a.draws, b.draws)
    first, second = (a, b) if p >= 0.5 else (b, a)
    p_first = p if p >= 0.5 else 1.0 - p
    r = ratio_draws(first.draws, second.draws)
    ratio, lo, hi = (float(v) for v in quantiles(r, [0.5, 0.05, 0.95])) if r.size else (math.nan,) * 3
    return {"first": first.group, "second": second.group, "p_first": p_first, "ratio": ratio,
            "ratio_interval": [lo, hi]}


def compare_table(
    df,
    task: str | None = None,
    by: str = "family",
    metric: str | None = None,
    compute: str | None = None,
    *,
    d0: float | None = None,
    d0_range: tuple[float, float] | None = None,
    form: str = "logpower",
    elbow: str = "relu",
    bootstrap: int = 200,
    seed: int = 0,
    method: str | None = None,
    directions: Mapping[str, bool] | None = None,
    ridge: bool = False,
    loss_axis: str = "pretrain_loss",
) -> Comparison:
    """Compare the groups (values of ``by``) of one task by the compute at which each reaches few-shot emergence.

    Args:
        df: validated results table; its ``pretrain_loss`` column is the loss the laws are fitted in
            (``loss_axis`` says what it holds: "pretrain_loss", nats/token, or "pretrain_bpb", bits/byte).
        task, metric, d0, d0_range, form, elbow, method, directions: as in
            :func:`~emergence_laws.analysis.table_fit.fit_table`, for every group.
        by: the column whose values are the groups.
        compute: the compute column (default: flops, else tokens, else params).
        bootstrap: replicates per group (at least :data:`MIN_BOOTSTRAP`); seed: their seed (each group
            draws from its own stream).
        ridge: widen the compute interval to the emergence point's likelihood ridge carried through the fitted
            loss curve (off by default: on synthetic runs the joint replicates alone cover the true compute
            more often than 90%, benchmarks/bench_compare.py).

    Returns:
        :class:`Comparison`: ``groups`` (group, identified, emergence_point, interval, flops, flops_interval,
        ahead, ...) and ``pairs`` (first, second, p_first, ratio, ratio_interval), see the docs page.

    Raises:
        InputError: a missing ``by``/compute column, fewer than 2 groups, too few replicates.
    """
    if bootstrap < MIN_BOOTSTRAP:
        raise InputError(f"`bootstrap={bootstrap}`: compare draws its probabilities from the bootstrap; use "
                         f"{MIN_BOOTSTRAP}+ replicates (default 200)")
    if "pretrain_loss" not in df.columns or df["pretrain_loss"].isna().all():
        raise InputError("the table has no pretrain_loss values: each run's law is fitted in pretraining loss; add "
                         "each checkpoint's loss on a fixed reference text (or its bits per byte, `loss_axis='pretrain_bpb'`)")
    rows, task = select_task(df, task)
    names, text, notes = _group_values(rows, by)
    axis = _compute_axis(rows, compute)
    unit = "bits/byte" if loss_axis == "pretrain_bpb" else "nats"
    notes += _context_notes(rows, text, loss_axis)
    fit_kw = dict(task=task, metric=metric, d0=d0, d0_range=d0_range, form=form, elbow=elbow, bootstrap=bootstrap,
                  method=method, directions=directions)
    groups = tuple(_compare_group(name, rows[text == name], axis, unit, fit_kw, seed, ridge) for name in names)
    ok = [g for g in groups if g.identified]
    pairs = [_pair(a, b) for a, b in combinations(ok, 2)]
    metric_used = next((g.fit.metric for g in groups if g.fit is not None), metric)
    fits = [g.fit for g in groups if g.fit is not None]
    payload = clean({
        "kind": "compare",
        "task": task,
        "metric": metric_used,
        "by": by,
        "compute_axis": axis,
        "compute_unit": COMPUTE_AXES.get(axis, axis),
        "loss_axis": loss_axis,
        "loss_unit": unit,
        "interval_level": LEVEL,
        "bootstrap": bootstrap,
        "groups": [g.to_json() for g in groups],
        "pairs": pairs,
        "n_compared": len(ok),
        "interval_includes": _includes(fits[0] if fits else None, ridge),
        "warnings": notes,
    })
    return Comparison(payload, groups)


def _includes(fit: FitResult | None, ridge: bool) -> list[str]:
    """What the compute interval accounts for, in words."""
    out = ["the emergence point's bootstrap (" + "; ".join(
        w for w in (fit["interval_includes"] if fit is not None else []) if not w.startswith("the predictions")) + ")"]
    out.append("the loss curve refitted in every replicate to that replicate's own checkpoint draws (jointly, not "
               "independently)")
    if ridge:
        out.append("the emergence point's likelihood ridge, carried through the fitted loss curve")
    else:
        out.append("not the emergence point's likelihood ridge, which its interval in nats spans (`ridge=True` adds it)")
    out.append("not included: the loss curve's functional form (E + A / C^alpha) beyond the checkpoints")
    out.append("pairwise probabilities: every pair of the two groups' replicates (the groups share no data)")
    return out


__all__ = ["COMPUTE_AXES", "Comparison", "GroupComparison", "compare_table"]
