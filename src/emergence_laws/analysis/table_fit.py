"""Table-level API: take a results DataFrame, select a task/metric, call the pure laws, return JSON-ready dicts.

Used by the CLI (`emergence fit`, `emergence backtest`) and the micro-world demo. Signatures here are
stable:

    fit_table(df, task=None, metric=None, d0=None, form="logpower", elbow="relu", bootstrap=0, seed=0,
              method=None, cutoff_loss=None, fit_delta=True, directions=None, d0_range=None) -> FitResult
    baseline_table(df, task=None, metric=None, cutoff_loss=None) -> FitResult   # few-shot sigmoid only
    backtest_table(df, task, cutoff_loss, metric=None, d0=None, form="logpower", elbow="relu",
                   bootstrap=0, seed=0, method=None, directions=None, d0_range=None) -> FitResult
    scaling_inversion(df, loss, samples=None, seed=0) -> dict | None

Losses are pretraining losses in nats/token; FLOPs are pretraining FLOPs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from emergence_laws.analysis.payload import PayloadResult
from emergence_laws.analysis.selection import select_task_metric
from emergence_laws.analysis.series import checkpoint_ids, is_checkpoint_table
from emergence_laws.errors import InputError, NotIdentifiableError
from emergence_laws.jsonutil import clean, finite_or_none
from emergence_laws.laws.law_backtest import Backtest, SigmoidBacktest, backtest
from emergence_laws.laws.baselines import SigmoidBaseline, fit_sigmoid_baseline
from emergence_laws.laws.bootstrap import BootstrapResult, fit_and_bootstrap
from emergence_laws.laws.data import LawData
from emergence_laws.laws.elbow import fit_elbow
from emergence_laws.laws.law import EmergenceLaw
from emergence_laws.laws.scaling import bootstrap_scaling_law, fit_scaling_law
from emergence_laws.metrics import Metric, declared_directions, resolve, unknown_note

#: Scale axes of the sigmoid baseline, in order of preference.
BASELINE_AXES: tuple[str, ...] = ("pretrain_loss", "flops", "tokens", "params")


@dataclass(frozen=True, eq=False)
class FitResult(PayloadResult):
    """What :func:`fit_table`, :func:`baseline_table`, :func:`backtest_table` and :func:`sigmoid_backtest_table` return.

    Attributes:
        payload: the JSON-ready result (what ``prediction.json`` holds).
        law: the fitted :class:`~emergence_laws.laws.law.EmergenceLaw` (None for the sigmoid baseline).
        data: the rows fitted (:class:`~emergence_laws.laws.data.LawData`; None for the baseline).
        boot: the bootstrap behind the interval (None without one).
        baseline: the few-shot sigmoid (:func:`baseline_table` only).
        baseline_xy: the (x, y) points the sigmoid was fitted to (the baseline and its backtest).
        backtest: the :class:`~emergence_laws.laws.law_backtest.Backtest` (or ``SigmoidBacktest``) of a backtest.

    It reads as a read-only mapping of ``payload`` (``res["interval"]``, ``dict(res)``).
    """

    payload: dict[str, Any]
    law: EmergenceLaw | None = None
    data: LawData | None = None
    boot: BootstrapResult | None = None
    baseline: SigmoidBaseline | None = None
    baseline_xy: tuple[np.ndarray, np.ndarray] | None = None
    backtest: Backtest | SigmoidBacktest | None = None

    @property
    def task(self) -> str:
        return str(self.payload.get("task", ""))

    @property
    def metric(self) -> str:
        return str(self.payload.get("metric", "metric"))


def _metric_facts(rows, metric: str, directions: Mapping[str, bool] | None) -> tuple[Metric, list[str]]:
    """The metric's facts (registry + the table's higher_is_better column + ``directions``), and notes."""
    info = resolve(metric, {**declared_directions(rows), **(directions or {})})
    notes = [unknown_note(metric)] if info.assumed else []
    if not info.higher_is_better:
        fitted = f"{info.offset:g} - {metric}" if info.offset else f"-{metric}"
        notes.append(f"{metric} is lower-is-better: fitted as {fitted}")
    return info, notes


def _law_data(rows, task: str, info: Metric, method: str | None, cutoff_loss: float | None, sigmoid: str):
    """Build LawData (+ per-row FLOPs) from the rows of one task/metric; ``sigmoid`` names the function that
    fits the few-shot sigmoid alone instead (the fix when there is nothing to fit the law to)."""
    notes: list[str] = []
    no_loss = "pretrain_loss" not in rows.columns or rows["pretrain_loss"].isna().all()
    if not (rows["n_train"] > 0).any():
        raise NotIdentifiableError(
            f"task {task!r}: no finetuned rows (n_train > 0) among {len(rows)} rows"
            + (" and no pretrain_loss" if no_loss else "")
            + ": the emergence law is fitted to checkpoints finetuned on 2+ data amounts (e.g. n_train in "
            "{16, 64, 256, 1024}, 2+ random subsets each)"
            + (" with each checkpoint's pretraining loss (nats/token)" if no_loss else "")
            + f"; add them (e.g. `emergence run`), or extrapolate the few-shot curve alone (`{sigmoid}`)"
        )
    if no_loss:
        raise NotIdentifiableError(
            f"task {task!r}: no pretrain_loss column: the law is fitted in pretraining loss (nats/token); add each "
            f"checkpoint's loss on a fixed reference text (or extrapolate the few-shot curve alone, `{sigmoid}`, which "
            "can run on flops)"
        )
    rows = _canonical_order(rows[rows["pretrain_loss"].notna()])
    ft = rows["n_train"] > 0
    if "method" in rows.columns:
        methods = sorted(set(map(str, rows.loc[ft, "method"].dropna().unique())) - {"none"})
        if method is not None:
            if method not in methods:
                raise InputError(
                    f"method {method!r} not among the finetuned rows' methods ({', '.join(methods) or 'none'}); check `method`"
                )
            rows = rows[(~ft) | (rows["method"].astype(str) == method)]
        elif len(methods) > 1:
            raise InputError(
                f"task {task!r}: finetuned rows mix methods ({', '.join(methods)}); fit one at a time with `method`"
            )
    if cutoff_loss is not None:
        rows = rows[rows["pretrain_loss"] > cutoff_loss]
        if rows.empty:
            raise NotIdentifiableError(f"no checkpoint has pretrain_loss above {cutoff_loss:g} nats; raise the cutoff")
    fs = rows["n_train"] == 0
    shots = 0
    if fs.any():
        counts = rows.loc[fs, "shots"].value_counts()
        shots = int(counts.index[0])
        if len(counts) > 1:
            notes.append(
                f"few-shot rows use several shot counts ({', '.join(str(int(s)) for s in sorted(counts.index))}); "
                f"using shots={shots} (the most common)"
            )
            rows = rows[(~fs) | (rows["shots"] == shots)]
    value = info.orient(rows["value"].to_numpy(dtype=float))
    chance = _chance(rows, info)
    n_eval = rows["n_eval"].to_numpy(dtype=float) if "n_eval" in rows.columns else None
    if not info.discrete:
        n_eval = None  # not a proportion of right answers: Gaussian noise
    seed = rows["seed"].fillna(0).to_numpy(dtype=np.int64) if "seed" in rows.columns else None
    model = checkpoint_ids(rows).factorize()[0] if "model" in rows.columns else None
    data = LawData.from_arrays(
        rows["pretrain_loss"].to_numpy(dtype=float),
        rows["n_train"].to_numpy(dtype=float),
        value,
        n_eval=n_eval,
        seed=seed,
        model=model,
        shots=shots,
        chance=chance,
    )
    flops = rows["flops"].to_numpy(dtype=float) if "flops" in rows.columns else None
    return data, flops, notes


def _canonical_order(rows):
    """``rows`` sorted by content (weakest checkpoint first), so that a fit depends on the table, not its row order.

    The fit sums over rows in floating point and its optimiser's starts come from elbow fits of those
    sums: a shuffled table used to land in another optimum.
    """
    keys = [c for c in ("pretrain_loss", "model", "n_train", "method", "seed", "shots", "value", "n_eval")
            if c in rows.columns]
    tmp = rows.assign(**{f"_k{i}": rows[c].astype(str) if rows[c].dtype == object else rows[c]
                         for i, c in enumerate(keys)})
    cols = [f"_k{i}" for i in range(len(keys))]
    asc = [c != "pretrain_loss" for c in keys]
    return tmp.sort_values(cols, ascending=asc, kind="mergesort", na_position="last").drop(columns=cols)


def _chance(rows, info: Metric) -> float | None:
    """The metric's random-guess level, oriented: the rows' chance column, else the registry's."""
    if "chance" in rows.columns and rows["chance"].notna().any():
        return float(info.orient(float(rows["chance"].median())))
    return None if info.chance is None else float(info.orient(info.chance))


def scaling_inversion(df, loss: float | None, samples=None, seed: int = 0) -> dict | None:
    """Fit ``L(N) = E + A/N^alpha`` over the table's checkpoints (params and/or FLOPs) and invert it at ``loss``.

    With ``samples`` (the emergence point's bootstrap replicates, nats), each replicate is inverted
    through a scaling law refitted to the checkpoints resampled with replacement, and the 5th-95th
    percentile of the scales is the ``interval``: it carries both the emergence point's and the scaling
    fit's uncertainty (an end is None where the loss is below the fitted irreducible loss).

    Returns ``{"params": {...}, "flops": {...}}`` (each: fitted law, rmse in nats, ``at_loss``: the scale
    reaching ``loss`` or None if unreachable, ``interval``), or None when the table lacks pretrain_loss or scales.
    Checkpoints at 0 (random init) are left out; in a checkpoint log (a step column) params do not
    change along a run and are not used.
    """
    if "pretrain_loss" not in df.columns or "model" not in df.columns:
        return None
    out: dict[str, Any] = {}
    ids = checkpoint_ids(df)
    rng = np.random.default_rng(seed)
    for axis in ("params", "flops"):
        if axis not in df.columns or (axis == "params" and is_checkpoint_table(df)):
            continue
        m = df.assign(_id=ids)[["_id", "pretrain_loss", axis]].dropna().drop_duplicates("_id")
        m = m[m[axis] > 0]
        N, L = m[axis].to_numpy(float), m["pretrain_loss"].to_numpy(float)
        try:
            law = fit_scaling_law(N, L, axis)
        except NotIdentifiableError:
            continue
        at = None if loss is None else law.scale_at(float(loss))
        entry = {**law.to_json(), "at_loss": at, "loss": loss, "interval": None}
        if samples is not None and len(samples) >= 2:
            laws = bootstrap_scaling_law(law, N, L, len(samples), rng)
            big = np.finfo(float).max  # unreachable: larger than any scale (inf would make percentiles NaN)
            x = np.array([lw.scale_at(float(e)) or big for lw, e in zip(laws, samples)])
            entry["interval"] = [None if v >= big / 2 else finite_or_none(v) for v in np.percentile(x, [5, 95])]
        out[axis] = entry
    return out or None


def _uncertainty(law: EmergenceLaw) -> dict[str, Any]:
    """The payload fields that say what the point and the interval are."""
    return {
        "interval": list(law.interval) if law.interval else None,
        "interval_level": 0.90 if law.interval else None,
        "interval_includes": list(law.interval_includes),
        "median": law.median,
        "d0": law.d0,
        "d0_range": list(law.d0_range) if law.d0_range else [law.d0, law.d0],
    }


def _draws(boot: BootstrapResult | None) -> dict[str, Any] | None:
    """The bootstrap replicates, for `emergence predict`'s intervals (None without a bootstrap)."""
    if boot is None:
        return None
    return {
        "about": "bootstrap replicates behind the interval: parameters (k, alpha, C, A, B, delta) and D0 of each; "
        "`emergence predict` reads them for its intervals",
        "params": np.round(boot.params, 6),
        "d0": np.round(boot.d0, 4),
    }


def fit_table(
    df,
    task: str | None = None,
    metric: str | None = None,
    d0: float | None = None,
    form: str = "logpower",
    elbow: str = "relu",
    bootstrap: int = 0,
    seed: int = 0,
    *,
    method: str | None = None,
    cutoff_loss: float | None = None,
    fit_delta: bool = True,
    directions: Mapping[str, bool] | None = None,
    d0_range: tuple[float, float] | None = None,
) -> FitResult:
    """Fit the emergence law to one task/metric of a results table.

    Args:
        df: validated results table (``emergence_laws.results.load_results``).
        task, metric: which rows; inferred when the table holds one (metric by :data:`emergence_laws.metrics.PREFERENCE`).
        d0: a known low-data limit ``D0`` (examples). Default: D0 unknown in ``d0_range``.
        d0_range: ``(lo, hi)`` examples; default ``[N, 10 N]`` with ``N`` the few-shot rows' ``shots``.
        form: "logpower" or "power"; elbow: "relu" or "softplus".
        bootstrap: replicates for the 90% (5-95%) interval (0 = none).
        seed: random seed of the bootstrap.
        method: finetuning method to fit when rows mix several (full/lora).
        cutoff_loss: use only checkpoints with pretrain_loss above this (nats).
        directions: metric name -> higher_is_better, for metrics the registry does not know
            (:mod:`emergence_laws.metrics`; a ``higher_is_better`` column does the same).

    Returns:
        :class:`FitResult` with keys task, metric, higher_is_better, emergence_point (nats: the median of
        the bootstrap replicates, or the fit at the median D0 without a bootstrap), fit_emergence_point
        (E_theta(D0) of that fit), interval ([p5, p95] or None), interval_level, interval_includes (what
        the interval accounts for, in words), median, d0, d0_range, law {form, elbow, params, ...},
        n_rows, n_finetuned, n_fewshot, warnings, fewshot_observed (elbow of the few-shot curve if it
        has emerged), scale (scaling-law inversion, with an interval), draws (the replicates, for predict).

    Raises:
        InputError / NotIdentifiableError with a one-line message saying what to add.
    """
    rows, task, metric, notes = select_task_metric(df, task, metric)
    info, n1 = _metric_facts(rows, metric, directions)
    data, _flops, n2 = _law_data(rows, task, info, method, cutoff_loss, "baseline_table")
    notes += n1 + n2
    law, boot = fit_and_bootstrap(
        data, bootstrap, seed, form=form, elbow=elbow, d0=d0, d0_range=d0_range, fit_delta=fit_delta
    )
    fs = data.is_fewshot
    observed = None
    if np.unique(data.loss[fs]).size >= 3:
        ef = fit_elbow(
            data.loss[fs], data.value[fs], chance=data.chance, n_eval=None if data.n_eval is None else data.n_eval[fs]
        )
        observed = {"emerged": ef.emerged, "E": ef.E if ef.emerged else None, "strongest_loss": ef.e_upper}
    pt = law.point_estimate
    payload = clean(
        {
            "task": task,
            "metric": metric,
            "higher_is_better": info.higher_is_better,
            "emergence_point": pt,
            "fit_emergence_point": law.few_shot_emergence_point,
            **_uncertainty(law),
            "law": law.to_json(),
            "n_rows": data.n_rows,
            "n_finetuned": int((~fs).sum()),
            "n_fewshot": int(fs.sum()),
            "amounts": list(law.amounts),
            "fewshot_observed": observed,
            "scale": scaling_inversion(df, pt, None if boot is None else boot.samples, seed),
            "warnings": notes + list(law.warnings),
            "draws": _draws(boot),
        }
    )
    return FitResult(payload, law=law, data=data, boot=boot)


def baseline_table(
    df,
    task: str | None = None,
    metric: str | None = None,
    cutoff_loss: float | None = None,
    *,
    directions: Mapping[str, bool] | None = None,
) -> FitResult:
    """Few-shot-only sigmoid extrapolation for one task/metric (works without finetuned rows).

    The x axis is pretrain_loss (nats) when present, else ``-log10`` of flops, tokens or params
    (rows with 0 there, e.g. a random-init checkpoint, are dropped and counted in the warnings);
    the emergence point is the sigmoid's tangent elbow in those units (FLOPs/params reported as
    such). ``identified`` False: the curve has not started to rise and the number is no
    prediction (``scale`` is then None).
    """
    rows, task, metric, notes = select_task_metric(df, task, metric)
    info, n1 = _metric_facts(rows, metric, directions)
    notes += n1
    rows = rows[rows["n_train"] == 0]
    if rows.empty:
        raise NotIdentifiableError(
            f"task {task!r} has no few-shot rows (n_train = 0) for the sigmoid baseline; add them"
        )
    axis = next((a for a in BASELINE_AXES if a in rows.columns and (rows[a] > 0).sum() >= 3), None)
    if axis is None:  # too few checkpoints: the data cannot identify it (as in sigmoid_backtest_table)
        raise NotIdentifiableError(
            f"task {task!r}: the sigmoid baseline needs pretrain_loss, flops, tokens or params for 3+ checkpoints"
        )
    n_zero = int((rows[axis] <= 0).sum())
    rows = rows[rows[axis] > 0]
    if n_zero:
        notes.append(f"{n_zero} row(s) with {axis} = 0 (random init) left out: a log axis cannot place them")
    if cutoff_loss is not None and axis == "pretrain_loss":
        rows = rows[rows["pretrain_loss"] > cutoff_loss]
    counts = rows["shots"].value_counts()
    if len(counts) > 1:
        shots = int(counts.index[0])
        notes.append(f"few-shot rows use several shot counts; using shots={shots} (the most common)")
        rows = rows[rows["shots"] == shots]
    x = rows[axis].to_numpy(float)
    if axis != "pretrain_loss":
        x = -np.log10(x)
    y = info.orient(rows["value"].to_numpy(float))
    n_eval = rows["n_eval"].to_numpy(float) if "n_eval" in rows.columns and rows["n_eval"].notna().all() else None
    sig = fit_sigmoid_baseline(
        x,
        y,
        chance=_chance(rows, info),
        n_eval=n_eval if info.discrete else None,
        axis=axis if axis == "pretrain_loss" else f"-log10({axis})",
    )
    ep = sig.emergence_point
    point = ep if axis == "pretrain_loss" else float(10 ** (-ep))
    if not sig.identified:
        notes.append(
            "the few-shot curve has not visibly started to rise: a sigmoid cannot locate an emergence that has not "
            "begun, so this number is not a prediction (fit the emergence law to finetuned runs instead)"
        )
    payload = clean(
        {
            "task": task,
            "metric": metric,
            "higher_is_better": info.higher_is_better,
            "baseline": "sigmoid",
            "axis": axis,
            "emergence_point": point,
            "identified": sig.identified,
            "interval": None,
            "sigmoid": sig.to_json(),
            "n_rows": len(rows),
            "scale": scaling_inversion(df, point) if axis == "pretrain_loss" and sig.identified else None,
            "warnings": notes,
        }
    )
    return FitResult(payload, baseline=sig, baseline_xy=(x, y))


def backtest_table(
    df,
    task: str | None,
    cutoff_loss: float,
    metric: str | None = None,
    d0: float | None = None,
    form: str = "logpower",
    elbow: str = "relu",
    bootstrap: int = 0,
    seed: int = 0,
    *,
    method: str | None = None,
    directions: Mapping[str, bool] | None = None,
    d0_range: tuple[float, float] | None = None,
) -> FitResult:
    """Backtest one task: fit on checkpoints with pretrain_loss > ``cutoff_loss`` (nats), score against the full curve.

    ``d0``, ``d0_range``, ``bootstrap``, ``seed``: as in :func:`fit_table`.

    Returns:
        :class:`FitResult` with keys task, metric, predicted (nats; the median of the bootstrap replicates,
        as fit_table's emergence_point), interval, interval_level, interval_includes, median, d0, d0_range,
        actual (elbow of the full
        few-shot curve, nats), error_nats, success (error <= 0.1), compute_ahead (FLOPs of the first
        post-emergence model / FLOPs of the strongest model in the fit; None without FLOPs),
        cutoff_loss, n_rows_fit, n_checkpoints_fit, strongest_fit_loss, first_post_emergence_loss,
        sigmoid_baseline {emergence_point, identified, error_nats}, law, warnings.
        ``.law``, ``.data`` and ``.backtest`` hold the Python objects.
    """
    rows, task, metric, notes = select_task_metric(df, task, metric)
    info, n1 = _metric_facts(rows, metric, directions)
    data, flops, n2 = _law_data(rows, task, info, method, None, "sigmoid_backtest_table")
    notes += n1 + n2
    bt = backtest(
        data,
        float(cutoff_loss),
        flops=flops,
        d0=d0,
        d0_range=d0_range,
        form=form,
        elbow=elbow,
        bootstrap=bootstrap,
        seed=seed,
    )
    payload = clean(
        {
            "task": task,
            "metric": metric,
            "higher_is_better": info.higher_is_better,
            "predicted": bt.predicted,
            **_uncertainty(bt.law),
            "actual": bt.actual,
            "error_nats": bt.error_nats,
            "success": bt.success,
            "compute_ahead": bt.compute_ahead,
            "cutoff_loss": bt.cutoff_loss,
            "n_rows_fit": bt.n_rows_fit,
            "n_checkpoints_fit": bt.n_checkpoints_fit,
            "strongest_fit_loss": bt.strongest_fit_loss,
            "first_post_emergence_loss": bt.first_post_emergence_loss,
            "sigmoid_baseline": None
            if bt.sigmoid is None
            else {
                "emergence_point": bt.sigmoid.emergence_point,
                "identified": bt.sigmoid.identified,
                "error_nats": bt.sigmoid_error_nats,
            },
            "law": bt.law.to_json(),
            "warnings": notes + list(bt.law.warnings),
        }
    )
    return FitResult(payload, law=bt.law, data=data, backtest=bt)


def sigmoid_backtest_table(
    df,
    task: str | None,
    cutoff_loss: float,
    metric: str | None = None,
    *,
    directions: Mapping[str, bool] | None = None,
) -> FitResult:
    """Backtest the few-shot sigmoid baseline alone (no finetuned rows needed): fit it on few-shot rows
    with pretrain_loss > ``cutoff_loss`` (nats), score its tangent elbow against the ReLU elbow of the
    whole few-shot curve. Keys as :func:`backtest_table` (``baseline`` = "sigmoid", ``identified``,
    no law); ``.backtest`` holds :class:`~emergence_laws.laws.law_backtest.SigmoidBacktest`.
    """
    from emergence_laws.laws.law_backtest import backtest_sigmoid

    rows, task, metric, notes = select_task_metric(df, task, metric)
    info, n1 = _metric_facts(rows, metric, directions)
    notes += n1
    rows = rows[rows["n_train"] == 0]
    if "pretrain_loss" not in rows.columns or rows["pretrain_loss"].notna().sum() < 3:
        raise NotIdentifiableError(
            f"task {task!r}: the backtest needs few-shot rows (n_train = 0) with pretrain_loss (nats/token) for 3+ "
            "checkpoints; add them"
        )
    rows = rows[rows["pretrain_loss"].notna()]
    counts = rows["shots"].value_counts()
    if len(counts) > 1:
        shots = int(counts.index[0])
        notes.append(f"few-shot rows use several shot counts; using shots={shots} (the most common)")
        rows = rows[rows["shots"] == shots]
    n_eval = rows["n_eval"].to_numpy(float) if "n_eval" in rows.columns and rows["n_eval"].notna().all() else None
    loss = rows["pretrain_loss"].to_numpy(float)
    bt = backtest_sigmoid(
        loss,
        info.orient(rows["value"].to_numpy(float)),
        float(cutoff_loss),
        chance=_chance(rows, info),
        n_eval=n_eval if info.discrete else None,
        flops=rows["flops"].to_numpy(float) if "flops" in rows.columns else None,
    )
    if not bt.identified:
        notes.append(
            "the few-shot curve of the checkpoints above the cutoff has not started to rise: the sigmoid cannot "
            "locate an emergence that has not begun, so its number is not a prediction"
        )
    payload = clean(
        {
            "task": task,
            "metric": metric,
            "higher_is_better": info.higher_is_better,
            "baseline": "sigmoid",
            "predicted": bt.predicted,
            "identified": bt.identified,
            "interval": None,
            "actual": bt.actual,
            "error_nats": bt.error_nats,
            "success": bt.success,
            "compute_ahead": bt.compute_ahead if bt.identified else None,
            "cutoff_loss": bt.cutoff_loss,
            "n_checkpoints_fit": bt.n_checkpoints_fit,
            "strongest_fit_loss": bt.strongest_fit_loss,
            "first_post_emergence_loss": bt.first_post_emergence_loss,
            "sigmoid": bt.sigmoid.to_json(),
            "warnings": notes,
        }
    )
    return FitResult(payload, backtest=bt, baseline_xy=(loss, info.orient(rows["value"].to_numpy(float))))
