"""Split a results table into scaling curves ("series"), one point per checkpoint.

A *series* is the rows sharing (task, metric, shots, n_train[, method][, prompt_method][, any
text column outside the schema that tells rows of one checkpoint apart, e.g. ``format``]) and,
when grouping, the same group: the ``family`` of a ladder table, or the *run* of a checkpoint
table. Each point is one checkpoint; repeated seeds are averaged.

Two kinds of table:

* a **ladder**: one checkpoint per ``model`` (models of different size); groups are families.
* a **checkpoint log**: a ``step`` column; a checkpoint is (``model``, ``step``) and ``model``
  names the training run; groups are runs. Step 0 is the random initialisation (tokens =
  flops = 0). A non-numeric step (``final`` of a released model) is a checkpoint like any other
  on a loss, FLOPs or tokens axis; on the step axis it has no place and is dropped (counted).

Scale axes (``x``) and the oriented coordinate ``u`` (larger = bigger model) the detector reads:
``pretrain_loss`` (nats; ``u = -loss``), ``flops``, ``params``, ``tokens`` and ``step``
(``u = log10(x)``). A log axis cannot place 0: such checkpoints (the random initialisation) are
dropped from the curve and counted (``n_zero``). On the loss axis the random-init checkpoint is
kept as a point for plots but flagged (``init``); detection leaves it out (it is at chance
trivially and sits ~10 nats from the rest).

Warm-up (checkpoint logs with ``pretrain_loss``): a checkpoint is in its run's warm-up while its
loss is above ``L0 - share * (L0 - Lmin)``: less than ``share`` of the way (default half) from the
run's random-init loss ``L0`` (the step-0 checkpoint, else the run's highest loss) to its lowest
loss ``Lmin``. The loss still falls fast there and every task sits at chance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from emergence_laws.errors import InputError
from emergence_laws.jsonutil import clean
from emergence_laws.results.schema import step_label, step_number

X_AXES: tuple[str, ...] = ("pretrain_loss", "pretrain_bpb", "flops", "params", "tokens", "step")
X_UNITS: dict[str, str] = {
    "pretrain_loss": "nats/token",
    "pretrain_bpb": "bits/byte",
    "flops": "FLOPs",
    "params": "parameters",
    "tokens": "tokens",
    "step": "training steps",
}
#: Loss axes: lower is a bigger model, read linearly (u = -loss). `pretrain_bpb` (bits per byte of the
#: reference text) compares checkpoints whose tokenizers differ.
LOSS_AXES: tuple[str, ...] = ("pretrain_loss", "pretrain_bpb")
#: Short names accepted for scale columns (``x="bpb"``).
X_ALIASES: dict[str, str] = {"bpb": "pretrain_bpb", "loss": "pretrain_loss"}
#: Axes read in log10 (0 cannot be placed on them).
LOG_AXES: tuple[str, ...] = ("flops", "params", "tokens", "step")
#: Family (or run) label of a curve that pools every group.
POOLED = "(all)"

#: Columns that, besides task and metric, split a table into separate series when present.
SERIES_KEYS: tuple[str, ...] = ("shots", "n_train", "method", "prompt_method")
#: Columns that may differ between rows of one checkpoint in one series (measurements, bookkeeping).
_FREE_COLUMNS = {"value", "stderr", "n_eval", "created_at", "run_key", "source_path", "seed", "chance",
                 "higher_is_better"}


def is_checkpoint_table(df: pd.DataFrame) -> bool:
    """A checkpoint log: a ``step`` column with at least one entry (a checkpoint is (model, step))."""
    return "step" in df.columns and df["step"].notna().any()


def checkpoint_ids(df: pd.DataFrame) -> pd.Series:
    """One id per checkpoint: ``model``, or ``model@step`` in a checkpoint log."""
    model = df["model"].astype(str)
    if not is_checkpoint_table(df):
        return model
    steps = df["step"].map(step_label)
    return model.where(steps.isna(), model + "@" + steps.fillna(""))


def random_init_mask(df: pd.DataFrame) -> np.ndarray:
    """Rows of a random-initialisation checkpoint: step 0, or tokens / flops of 0."""
    mask = np.zeros(len(df), dtype=bool)
    if "step" in df.columns:
        mask |= df["step"].map(step_number).to_numpy(dtype=float) == 0
    for col in ("tokens", "flops"):
        if col in df.columns:
            mask |= pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float) == 0
    return mask


def warmup_mask(df: pd.DataFrame, share: float = 0.5) -> np.ndarray | None:
    """Rows whose checkpoint is in its run's warm-up (see the module docstring); None when the table is
    not a checkpoint log with pretrain_loss."""
    if not is_checkpoint_table(df) or "pretrain_loss" not in df.columns:
        return None
    loss = pd.to_numeric(df["pretrain_loss"], errors="coerce").to_numpy(dtype=float)
    init = random_init_mask(df)
    out = np.zeros(len(df), dtype=bool)
    for idx in df.groupby(df["model"].astype(str), sort=False).indices.values():
        lv = loss[idx]
        ok = np.isfinite(lv)
        if ok.sum() < 2:
            continue
        at_init = lv[ok & init[idx]]
        l0 = float(np.median(at_init)) if at_init.size else float(lv[ok].max())
        lmin = float(lv[ok].min())
        threshold = l0 - share * (l0 - lmin)
        out[idx] = ok & (lv > threshold)
    return out | init


def choose_x(df: pd.DataFrame, x: str | None) -> str:
    """The scale column: the one asked for, else pretrain_loss, flops, params, tokens, step (first mostly filled)."""
    if x not in (None, "auto"):
        x = X_ALIASES.get(x, x)
        if x not in X_AXES:
            raise InputError(f"`x={x!r}` is not a scale column; use one of {', '.join(X_AXES)}")
        if x not in df.columns or df[x].notna().sum() == 0:
            have = [c for c in X_AXES if c in df.columns and df[c].notna().any()]
            raise InputError(
                f"the table has no {x} values; pick `x` from the scale columns it has: {', '.join(have) or 'none'}"
            )
        if x == "params" and is_checkpoint_table(df):
            raise InputError(
                "`x='params'`: the parameter count does not change along a run, so it cannot order the checkpoints "
                "of a checkpoint log; use another `x`: pretrain_loss, tokens, flops or step"
            )
        return x
    axes = [c for c in X_AXES if not (c == "params" and is_checkpoint_table(df))]
    for c in axes:
        if c in df.columns and df[c].notna().mean() >= 0.5:
            return c
    for c in axes:
        if c in df.columns and df[c].notna().any():
            return c
    raise InputError(
        "the table has no scale column; add pretrain_loss (nats/token), flops, params, tokens or step for every "
        "checkpoint"
    )


def x_values(df: pd.DataFrame, x: str) -> np.ndarray:
    """The scale column as floats (steps parsed; non-numeric -> NaN)."""
    if x == "step":
        return df["step"].map(step_number).to_numpy(dtype=float)
    return pd.to_numeric(df[x], errors="coerce").to_numpy(dtype=float)


def to_u(x: str, values: Any) -> np.ndarray:
    """Oriented scale coordinate: -loss for the loss axes (nats/token, bits/byte), log10 for the others (0 -> -inf)."""
    values = np.asarray(values, dtype=float)
    if x in LOSS_AXES:
        return -values
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(values)


def from_u(x: str, u: float | None) -> float | None:
    """Back from the oriented coordinate to the column's units (rounded to 6 significant digits)."""
    if u is None or not math.isfinite(u):
        return None
    v = -u if x in LOSS_AXES else float(10.0**u)
    return float(f"{v:.6g}")


@dataclass
class Series:
    """One curve: its key, the per-checkpoint points (sorted by u), chance and n_eval.

    ``model`` is the model (ladder) or run (checkpoint log) of each point and ``step`` its step
    label (None in a ladder). ``init`` flags random-init checkpoints (kept for plots, left out of
    detection); ``warmup`` flags checkpoints in their run's warm-up (None when unknown).
    ``n_dropped`` counts rows without an x value, ``n_zero`` rows at x = 0 on a log axis.
    """

    key: dict[str, Any]
    model: np.ndarray
    xval: np.ndarray
    u: np.ndarray
    value: np.ndarray
    chance: float | None
    n_eval: float | None
    n_dropped: int
    step: np.ndarray | None = None
    init: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    warmup: np.ndarray | None = None
    n_zero: int = 0

    def __post_init__(self) -> None:
        if self.init.shape != self.u.shape:
            self.init = np.zeros(self.u.shape, dtype=bool)

    @property
    def ids(self) -> np.ndarray:
        """Checkpoint ids: the model, or ``model@step`` in a checkpoint log."""
        if self.step is None:
            return self.model
        return np.array([m if s is None else f"{m}@{s}" for m, s in zip(self.model, self.step)], dtype=object)

    @property
    def sid(self) -> str:
        k = self.key
        extra = "".join(f" {c}={v}" for c, v in k.items()
                        if c not in ("task", "metric", "family", "n_train") and v is not None)
        nt = f" n_train={k['n_train']}" if k.get("n_train") not in (None, 0) else ""
        return f"{k['task']} | {k['metric']} | {k['family']}{extra}{nt}"

    def point(self, i: int | None) -> dict[str, Any] | None:
        """Point ``i`` as a JSON-ready dict: model (or run), step in a checkpoint log, x, value."""
        if i is None:
            return None
        out: dict[str, Any] = {"model": str(self.model[i])}
        if self.step is not None:
            out["step"] = self.step[i]
        out.update({"x": float(self.xval[i]), "value": float(self.value[i])})
        return out


def _present_keys(df: pd.DataFrame) -> list[str]:
    return [c for c in SERIES_KEYS if c in df.columns]


def split_columns(df: pd.DataFrame) -> list[str]:
    """Text columns outside the schema that tell rows of one checkpoint, task and metric apart (e.g. a
    ``format`` column holding mc and cloze): each of their values is a curve of its own."""
    from emergence_laws.results.schema import COLUMN_DOCS

    known = set(COLUMN_DOCS) | set(SERIES_KEYS) | _FREE_COLUMNS
    cand = [c for c in df.columns if c not in known and not str(c).startswith("_") and df[c].dtype == object]
    if not cand:
        return []
    by = df.groupby([checkpoint_ids(df), df["task"], df["metric"]], sort=False, dropna=False)
    return [c for c in cand if int(by[c].nunique(dropna=False).max()) > 1]


def build_series(df: pd.DataFrame, x: str, *, group: str = "both", min_points: int = 5,
                 warmup_share: float = 0.5) -> list[Series]:
    """Split a results table into series (see the module docstring). Raises InputError on mixed rows.

    ``group``: "family" (per family, or per run of a checkpoint log), "pooled" (one curve over all),
    "both" (default; no pooled copy when there is only one group). Groups with fewer than
    ``min_points`` checkpoints are skipped (they still enter the pooled curve).
    """
    if group not in ("family", "pooled", "both"):
        raise InputError(f"group {group!r} is unknown; use family, pooled or both")
    keys = ["task", "metric", *_present_keys(df), *split_columns(df)]
    work = df.reset_index(drop=True).copy()
    checkpoints = is_checkpoint_table(work)
    gcol = "model" if checkpoints else "family"
    has_group = gcol in work.columns and work[gcol].notna().any()
    work["_group"] = work[gcol].fillna("(none)").astype(str) if has_group else POOLED
    work["_id"] = checkpoint_ids(work)
    work["_step"] = work["step"].map(step_label) if checkpoints else None
    work["_init"] = random_init_mask(work)
    wm = warmup_mask(work, warmup_share)
    work["_warmup"] = wm if wm is not None else False
    groups = sorted(work["_group"].unique())
    groupings: list[bool] = []
    if group in ("family", "both") and has_group:
        groupings.append(True)
    single = group == "both" and len(groups) == 1 and has_group  # pooled would repeat it
    if (group in ("pooled", "both") or not has_group) and not single:
        groupings.append(False)
    cols = {c: work[c].to_numpy() for c in ("model", "value", "chance", "n_eval", "_id", "_step", "_init", "_warmup")
            if c in work.columns}
    cols["value"] = cols["value"].astype(float)
    xv = x_values(work, x)
    zero = (xv <= 0) if x in LOG_AXES else np.zeros(len(work), dtype=bool)
    xv = np.where(zero, np.nan, xv)
    out: list[Series] = []
    for by_group in groupings:
        gkeys = keys + (["_group"] if by_group else [])
        for gval, idx in work.groupby(gkeys, sort=True, dropna=False).indices.items():
            gval = gval if isinstance(gval, tuple) else (gval,)
            key = {("family" if k == "_group" else k): clean(v) for k, v in zip(gkeys, gval)}
            if not by_group:
                key["family"] = POOLED
            idx = np.asarray(idx)
            ok = idx[np.isfinite(xv[idx])]
            s = _one_series(work, cols, xv, idx, ok, key, x, checkpoints, int(zero[idx].sum()), wm is not None)
            if s is None:
                continue
            if by_group and int((~s.init).sum()) < min_points:
                continue
            out.append(s)
    return out


def _one_series(work: pd.DataFrame, cols: dict[str, np.ndarray], xv: np.ndarray, idx: np.ndarray, ok: np.ndarray,
                key: dict[str, Any], x: str, checkpoints: bool, n_zero: int, has_warmup: bool) -> Series | None:
    n_dropped = int(len(idx) - len(ok)) - n_zero
    if len(ok) == 0:
        return None
    ids = cols["_id"][ok]
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():  # repeated rows of a checkpoint: seeds are averaged, anything else is an error
        _check_repeats(work.iloc[ok], str(uniq[counts > 1][0]), key, checkpoints)
        have = work.iloc[ok].assign(_x=xv[ok])
        agg = have.groupby("_id", sort=False).agg(
            model=("model", "first"), step=("_step", "first"), xval=("_x", "first"), value=("value", "mean"),
            init=("_init", "any"), warmup=("_warmup", "any"),
            **({"chance": ("chance", "median")} if "chance" in have.columns else {}),
            **({"n_eval": ("n_eval", "median")} if "n_eval" in have.columns else {}),
        )
        get = {c: agg[c].to_numpy() for c in agg.columns}
    else:  # one row per checkpoint: no groupby needed (fast path)
        get = {"model": cols["model"][ok], "step": cols["_step"][ok], "xval": xv[ok],
               "value": cols["value"][ok], "init": cols["_init"][ok], "warmup": cols["_warmup"][ok]}
        for c in ("chance", "n_eval"):
            if c in cols:
                get[c] = cols[c][ok]
    xval = np.asarray(get["xval"], dtype=float)
    u = to_u(x, xval)
    order = np.argsort(u, kind="stable")

    def median_of(c: str) -> float | None:
        if c not in get:
            return None
        v = pd.to_numeric(pd.Series(get[c]), errors="coerce").dropna()
        return float(v.median()) if len(v) else None

    return Series(
        key=key,
        model=np.asarray(get["model"]).astype(str)[order],
        xval=xval[order],
        u=u[order],
        value=np.asarray(get["value"], dtype=float)[order],
        chance=median_of("chance"),
        n_eval=median_of("n_eval"),
        n_dropped=n_dropped,
        step=np.asarray(get["step"], dtype=object)[order] if checkpoints else None,
        init=np.asarray(get["init"], dtype=bool)[order],
        warmup=np.asarray(get["warmup"], dtype=bool)[order] if has_warmup else None,
        n_zero=n_zero,
    )


def _check_repeats(have: pd.DataFrame, m: str, key: dict[str, Any], checkpoints: bool) -> None:
    """Several rows of checkpoint ``m`` in one curve: fine when a seed column tells them apart."""
    rows = have[have["_id"] == m]
    varying = [
        c for c in rows.columns
        if not c.startswith("_") and c not in _FREE_COLUMNS and rows[c].astype(str).nunique(dropna=False) > 1
    ]
    what = "checkpoint" if checkpoints else "model"
    if varying:
        fix = (
            f"filter the table (e.g. by `task`/`metric`, or to the rows of one value of that column) so each {what} has one "
            "evaluation per curve"
            if varying[0] != "model" else "give each checkpoint its own model name"
        )
        raise InputError(
            f"curve task={key['task']!r} metric={key['metric']!r} has rows for {what} {m!r} that differ in "
            f"column {varying[0]!r}; {fix}"
        )
    if "seed" not in rows.columns or rows["seed"].nunique(dropna=True) < 2:
        fix = (
            "add a step column to tell the checkpoints of a run apart, or tell repeats apart with a seed column"
            if not checkpoints else "keep one evaluation per checkpoint, or tell repeats apart with a seed column"
        )
        raise InputError(
            f"curve task={key['task']!r} metric={key['metric']!r} has {len(rows)} rows for {what} {m!r}; {fix}"
        )


def filter_table(df: pd.DataFrame, *, task: str | None = None, metric: str | None = None,
                 family: str | None = None, model: str | None = None) -> pd.DataFrame:
    """Keep rows of one task / metric / family / model (exact names); InputError naming what exists."""
    for col, want in (("task", task), ("metric", metric), ("family", family), ("model", model)):
        if want is None:
            continue
        if col not in df.columns:
            raise InputError(f"--{col} {want} given but the table has no {col} column")
        sub = df[df[col].astype(str) == want]
        if sub.empty:
            names = sorted(df[col].dropna().astype(str).unique())
            shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
            raise InputError(f"no rows with {col} {want!r}; the table has: {shown}")
        df = sub
    return df
