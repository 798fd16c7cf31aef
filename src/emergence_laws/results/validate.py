"""Validate a results table and coerce its types. Every problem is one line naming the place and the fix."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from emergence_laws.errors import InputError
from emergence_laws.results.schema import (
    COLUMN_BOUNDS,
    INTEGER,
    MEASUREMENT,
    METHODS,
    NUMERIC,
    REQUIRED,
    SCALE,
    TEXT,
    metric_bounds,
)


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


def validate_table(df: pd.DataFrame, source: str = "table", *, line_offset: int = 0) -> pd.DataFrame:
    """Check the results-table contract and return a typed copy.

    `source` names the input in messages; `line_offset` maps row index to a file line
    (2 for a CSV with a header). Raises `InputError` on the first problem found.
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
        if col not in df.columns:
            continue
        raw = df[col]
        if col in REQUIRED:
            blank = raw.map(_is_blank)
            if blank.any():
                i = int(np.flatnonzero(blank.to_numpy())[0])
                raise InputError(f"{_where(source, i, line_offset)}: column {col!r} is empty; give every row a {col}")
        df[col] = raw.map(lambda v: None if _is_blank(v) else str(v).strip()).astype(object)

    for col in NUMERIC:
        if col not in df.columns:
            continue
        raw = df[col]
        blank = raw.map(_is_blank).to_numpy()
        as_text = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
        num = pd.to_numeric(as_text.where(~blank, np.nan), errors="coerce").astype(float)
        bad = (~blank) & num.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{_where(source, i, line_offset)}, column {col!r}: {raw.iloc[i]!r} is not a number; "
                "write a plain number (e.g. 0.42)"
            )
        if col in REQUIRED and blank.any():
            i = int(np.flatnonzero(blank)[0])
            raise InputError(
                f"{_where(source, i, line_offset)}, column {col!r}: empty or NaN; fill it or drop the row"
            )
        values = num.to_numpy()
        infinite = np.isinf(values)
        if infinite.any():
            i = int(np.flatnonzero(infinite)[0])
            raise InputError(f"{_where(source, i, line_offset)}, column {col!r}: infinite value; give a finite number")
        if col in INTEGER:
            frac = (~np.isnan(values)) & (np.abs(values - np.round(values)) > 1e-9)
            if frac.any():
                i = int(np.flatnonzero(frac)[0])
                raise InputError(
                    f"{_where(source, i, line_offset)}, column {col!r}: {values[i]:g} is not a whole number; "
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
                rng = f"[{low}, {high}]" if high is not None else (f">= {low}" if low_ok else f"> {low}")
                raise InputError(
                    f"{_where(source, i, line_offset)}, column {col!r}: {values[i]:g} is out of range; "
                    f"{col} must be {rng}"
                )
        df[col] = num

    has_scale = np.zeros(len(df), dtype=bool)
    for col in scale_cols:
        has_scale |= df[col].notna().to_numpy()
    if not has_scale.all():
        i = int(np.flatnonzero(~has_scale)[0])
        raise InputError(
            f"{_where(source, i, line_offset)}: no scale value; give the row one of {', '.join(scale_cols)}"
        )

    _check_metric_ranges(df, source, line_offset)
    _check_method(df, source, line_offset)
    _check_duplicates(df, source, line_offset)

    for col in INTEGER:
        if col in df.columns and not df[col].isna().any():
            df[col] = df[col].astype(np.int64)
    _type_passthrough(df)
    return df


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


def _check_metric_ranges(df: pd.DataFrame, source: str, line_offset: int) -> None:
    values = df["value"].to_numpy()
    for metric, idx in df.groupby("metric", sort=False).indices.items():
        bounds = metric_bounds(str(metric))
        if bounds is None:
            continue
        low, high = bounds
        v = values[idx]
        bad = (v < low) | (v > high)
        if bad.any():
            i = int(idx[np.flatnonzero(bad)[0]])
            hint = "; if it is a percentage, divide by 100" if high == 1.0 and values[i] > 1 else ""
            rng = f"[{low:g}, {high:g}]" if np.isfinite(low) else f"<= {high:g} (a log-likelihood in nats)"
            raise InputError(
                f"{_where(source, i, line_offset)}: {metric} value {values[i]:g} is outside {rng}{hint}"
            )


def _check_method(df: pd.DataFrame, source: str, line_offset: int) -> None:
    if "method" not in df.columns:
        return
    method = df["method"]
    known = method.isna() | method.isin(METHODS)
    if not known.all():
        i = int(np.flatnonzero(~known.to_numpy())[0])
        raise InputError(
            f"{_where(source, i, line_offset)}, column 'method': {method.iloc[i]!r} is not one of "
            f"{', '.join(METHODS)}"
        )
    n_train = df["n_train"].to_numpy()
    finetuned = method.isin(("full", "lora", "prefix")).to_numpy()
    clash = finetuned & (n_train == 0)
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        raise InputError(
            f"{_where(source, i, line_offset)}: method {method.iloc[i]!r} with n_train=0; "
            "few-shot rows take method 'none', finetuned rows n_train > 0"
        )
    clash = (method == "none").to_numpy() & (n_train > 0)
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        raise InputError(
            f"{_where(source, i, line_offset)}: method 'none' with n_train={int(n_train[i])}; "
            "name the finetuning method (full or lora) or set n_train to 0"
        )


def _check_duplicates(df: pd.DataFrame, source: str, line_offset: int) -> None:
    key = [c for c in df.columns if c not in MEASUREMENT]
    dup = df.duplicated(subset=key, keep=False).to_numpy()
    if not dup.any():
        return
    rows = np.flatnonzero(dup)
    first = rows[0]
    same = df.loc[rows].groupby(key, dropna=False, sort=False).ngroup().to_numpy()
    partner = rows[1:][same[1:] == same[0]][0]
    a = _where(source, int(first), line_offset)
    b = f"line {partner + line_offset}" if line_offset else f"row {partner}"
    raise InputError(
        f"{a} and {b} describe the same evaluation (model {df['model'].iloc[first]!r}, task "
        f"{df['task'].iloc[first]!r}, metric {df['metric'].iloc[first]!r}); keep one, or tell them apart "
        "with a seed column"
    )
