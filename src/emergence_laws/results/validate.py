"""Validate a results table and coerce its types. Every problem is one line naming the place and the fix."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from emergence_laws.errors import InputError
from emergence_laws.metrics import metric_bounds, parse_bool
from emergence_laws.results.schema import (
    COLUMN_BOUNDS,
    INTEGER,
    MEASUREMENT,
    METHODS,
    NUMERIC,
    REQUIRED,
    SCALE,
    TEXT,
    ZERO_AT_INIT,
)


#: What a loss column's bound means, added to its out-of-range message.
_UNITS = {"pretrain_loss": " nats/token (a model at random init scores about ln(vocabulary size), ~10)",
          "pretrain_bpb": " bits/byte"}


def _where(source: str, row: int, line_offset: int) -> str:
    """'FILE, line N' for text files (header = line 1) or 'FILE, row N' otherwise."""
    if line_offset:
        return f"{source}, line {row + line_offset}"
    return f"{source}, row {row}"


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _map_unique(col: pd.Series, func) -> pd.Series:
    """``col.map(func)`` computed once per distinct value (a million-row log repeats its names and
    values): the same result, a fraction of the time and of the memory (equal results share objects)."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [func(v) for v in uniques]
    mapped[-1] = func(None if col.dtype == object else np.nan)  # code -1: a missing value
    return pd.Series(mapped[codes], index=col.index, dtype=object)


def validate_table(
    df: pd.DataFrame,
    source: str = "table",
    *,
    line_offset: int = 0,
    select: Mapping[str, str | None] | None = None,
) -> pd.DataFrame:
    """Check the results-table contract and return a typed copy.

    `source` names the input in messages; `line_offset` maps row index to a file line
    (2 for a CSV with a header). `select` ({"task": "squad", "metric": None, ...}) keeps only the
    rows a command uses (exact names; None = any) before their values are checked, so a problem in
    rows it never reads does not stop it; when nothing matches, every row is checked (the command
    then says which names exist). Raises `InputError` on the first problem found.
    """
    if df.shape[1] == 0:
        raise InputError(f"{source}: no columns found; expected a header with {', '.join(REQUIRED)} and a scale column")
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]
    dup_cols = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dup_cols:
        raise InputError(f"{source}: column {dup_cols[0]!r} appears more than once; keep one")
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        raise InputError(
            f"{source}: missing required column(s) {names}; the table needs "
            f"{', '.join(REQUIRED)} and one of {', '.join(SCALE)}"
        )
    scale_cols = [c for c in SCALE if c in df.columns]
    if not scale_cols:
        raise InputError(
            f"{source}: no scale column; add at least one of {', '.join(SCALE)} "
            "(pretrain_loss in nats/token, flops, params, or pretrain_bpb in bits/byte)"
        )
    if len(df) == 0:
        raise InputError(f"{source}: the table has a header but no rows")
    df = df.reset_index(drop=True)
    for col in TEXT:
        if col in df.columns:
            df[col] = _map_unique(df[col], lambda v: None if _is_blank(v) else str(v).strip())
    df = _select(df, select)

    def where(i: int) -> str:  # position in the (selected) frame -> line of the input
        return _where(source, int(df.index[i]), line_offset)

    for col in REQUIRED:
        if col in TEXT and df[col].isna().any():
            i = int(np.flatnonzero(df[col].isna().to_numpy())[0])
            raise InputError(f"{where(i)}: column {col!r} is empty; give every row a {col}")

    for col in NUMERIC:
        if col not in df.columns:
            continue
        raw = df[col]
        blank = _map_unique(raw, _is_blank).to_numpy(dtype=bool)
        as_text = _map_unique(raw, lambda v: v.strip() if isinstance(v, str) else v)
        num = pd.to_numeric(as_text.where(~blank, np.nan), errors="coerce").astype(float)
        bad = (~blank) & num.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{where(i)}, column {col!r}: {str(raw.iloc[i])!r} is not a number; "
                "write a plain number (e.g. 0.42)"
            )
        if col in REQUIRED and blank.any():
            i = int(np.flatnonzero(blank)[0])
            raise InputError(
                f"{where(i)}, column {col!r}: empty or NaN; fill it or drop the row"
            )
        values = num.to_numpy()
        infinite = np.isinf(values)
        if infinite.any():
            i = int(np.flatnonzero(infinite)[0])
            raise InputError(f"{where(i)}, column {col!r}: infinite value; give a finite number")
        if col in INTEGER:
            frac = (~np.isnan(values)) & (np.abs(values - np.round(values)) > 1e-9)
            if frac.any():
                i = int(np.flatnonzero(frac)[0])
                raise InputError(
                    f"{where(i)}, column {col!r}: {values[i]:g} is not a whole number; "
                    f"{col} counts examples"
                )
        if col in COLUMN_BOUNDS:
            low, high, low_ok = COLUMN_BOUNDS[col]
            with np.errstate(invalid="ignore"):
                below = (values < low) if low_ok else (values <= low)
                above = values > high if high is not None else np.zeros_like(below)
            out = (~np.isnan(values)) & (below | above)
            if out.any():
                i = int(np.flatnonzero(out)[0])
                rng = (f">= {low:g}" if low_ok else f"> {low:g}") + (f" and <= {high:g}" if high is not None else "")
                unit = _UNITS.get(col, "")
                raise InputError(
                    f"{where(i)}, column {col!r}: {values[i]:g} is out of range; "
                    f"{col} must be {rng}{unit}"
                )
        df[col] = num

    _check_zero_scales(df, source)
    has_scale = np.zeros(len(df), dtype=bool)
    for col in scale_cols:
        has_scale |= df[col].notna().to_numpy()
    if not has_scale.all():
        i = int(np.flatnonzero(~has_scale)[0])
        raise InputError(
            f"{where(i)}: no scale value; give the row one of {', '.join(scale_cols)}"
        )

    _check_direction(df, where)
    _check_metric_ranges(df, where)
    _check_method(df, where)
    _check_duplicates(df, where)

    for col in INTEGER:
        if col in df.columns and not df[col].isna().any():
            df[col] = df[col].astype(np.int64)
    _type_passthrough(df)
    return df.reset_index(drop=True)


def _check_zero_scales(df: pd.DataFrame, source: str) -> None:
    """flops/tokens of 0 mark random init (step 0): on one checkpoint fine, on every one of 2+ impossible."""
    for col in ZERO_AT_INIT:
        if col not in df.columns:
            continue
        v = df[col].to_numpy(dtype=float)
        given = ~np.isnan(v)
        if given.sum() >= 2 and df.loc[given, "model"].nunique() >= 2 and (v[given] == 0).all():
            raise InputError(f"{source}: column {col!r} is 0 on every row; 0 {col} means random init (step 0), not "
                             f"a scale; give each checkpoint's pretraining {col} or drop the column")


def _select(df: pd.DataFrame, select: Mapping[str, str | None] | None) -> pd.DataFrame:
    """The rows whose text columns equal the selection (index kept for line numbers); all when none match."""
    if not select:
        return df
    keep = np.ones(len(df), dtype=bool)
    for col, want in select.items():
        if want is None or col not in df.columns:
            continue
        keep &= (df[col].notna() & (df[col].astype(str).str.strip() == str(want))).to_numpy()
    return df[keep].copy() if keep.any() else df


def _check_direction(df: pd.DataFrame, where) -> None:
    """A `higher_is_better` column (declares the direction of metrics the registry does not know) -> bool."""
    if "higher_is_better" not in df.columns:
        return
    parsed = []
    for i, v in enumerate(df["higher_is_better"].tolist()):
        try:
            parsed.append(parse_bool(v))
        except ValueError:
            raise InputError(
                f"{where(i)}, column 'higher_is_better': {str(v)!r} is not true or false; write true, false or leave "
                "it empty"
            ) from None
    df["higher_is_better"] = pd.Series(parsed, index=df.index, dtype=object)


def _type_passthrough(df: pd.DataFrame) -> None:
    """Unknown columns pass through; those that hold only numbers (or blanks) become numeric."""
    for col in df.columns:
        if col in NUMERIC or col in TEXT or df[col].dtype.kind in "iufb":
            continue
        blank = df[col].map(_is_blank)
        num = pd.to_numeric(df[col].where(~blank, np.nan), errors="coerce")
        if (num.notna() | blank).all() and num.notna().any():
            df[col] = num.astype(float)
        else:
            df[col] = df[col].where(~blank, None).astype(object)


def _check_metric_ranges(df: pd.DataFrame, where) -> None:
    """Values (and chance levels) inside the metric's range, where the metric registry knows it."""
    values = df["value"].to_numpy()
    chance = df["chance"].to_numpy(dtype=float) if "chance" in df.columns else None
    for metric, idx in df.groupby("metric", sort=False).indices.items():
        bounds = metric_bounds(str(metric))
        if bounds is None:
            continue
        low, high = bounds
        for col, arr in (("value", values), ("chance", chance)):
            if arr is None:
                continue
            v = arr[idx]
            bad = (v < low) | (v > high)
            if not bad.any():
                continue
            i = int(idx[np.flatnonzero(bad)[0]])
            hint = "; if it is a percentage, divide by 100" if high == 1.0 and arr[i] > 1 else ""
            if not np.isfinite(low):
                rng = f"<= {high:g} (a log-likelihood in nats)"
            elif not np.isfinite(high):
                rng = f">= {low:g}"
            else:
                rng = f"[{low:g}, {high:g}]"
            what = f"{metric} value" if col == "value" else f"chance of {metric}"
            raise InputError(f"{where(i)}: {what} {arr[i]:g} is outside {rng}{hint}")


def _check_method(df: pd.DataFrame, where) -> None:
    if "method" not in df.columns:
        return
    method = df["method"]
    known = method.isna() | method.isin(METHODS)
    if not known.all():
        i = int(np.flatnonzero(~known.to_numpy())[0])
        raise InputError(
            f"{where(i)}, column 'method': {method.iloc[i]!r} is not one of "
            f"{', '.join(METHODS)}"
        )
    n_train = df["n_train"].to_numpy()
    finetuned = method.isin(("full", "lora", "prefix")).to_numpy()
    clash = finetuned & (n_train == 0)
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        raise InputError(
            f"{where(i)}: method {method.iloc[i]!r} with n_train=0; "
            "few-shot rows take method 'none', finetuned rows n_train > 0"
        )
    clash = (method == "none").to_numpy() & (n_train > 0)
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        raise InputError(
            f"{where(i)}: method 'none' with n_train={int(n_train[i])}; "
            "name the finetuning method (full or lora) or set n_train to 0"
        )


def _check_duplicates(df: pd.DataFrame, where) -> None:
    key = [c for c in df.columns if c not in MEASUREMENT]
    dup = df.duplicated(subset=key, keep=False).to_numpy()
    if not dup.any():
        return
    rows = np.flatnonzero(dup)
    first = rows[0]
    same = df.iloc[rows].groupby(key, dropna=False, sort=False).ngroup().to_numpy()
    partner = int(rows[1:][same[1:] == same[0]][0])
    a = where(int(first))
    b = where(partner).rsplit(", ", 1)[-1]
    raise InputError(
        f"{a} and {b} describe the same evaluation (model {df['model'].iloc[first]!r}, task "
        f"{df['task'].iloc[first]!r}, metric {df['metric'].iloc[first]!r}); keep one, or tell them apart "
        "with a seed column"
    )
