"""Read results tables from CSV, Parquet, SQLite stores and lm-evaluation-harness JSON (writing: `results.export`)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from emergence_laws.errors import InputError
from emergence_laws.results.schema import step_label
from emergence_laws.results.validate import validate_table

from emergence_laws.results.export import CSV_SUFFIXES, PARQUET_SUFFIXES, SQLITE_SUFFIXES

#: Sidecar file names that map lm-eval JSON models to scale coordinates.
SCALE_SIDECARS = ("scales.csv", "ladder.csv", "models.csv")


def load_results(
    path: str | Path,
    *,
    scales: str | Path | pd.DataFrame | None = None,
    select: Mapping[str, str | None] | None = None,
) -> pd.DataFrame:
    """Load and validate a results table: CSV/TSV, Parquet, a SQLite store, or lm-eval JSON;
    ``"example"`` (when no such file exists) is the bundled example table (`example_table`).

    For lm-eval JSON (a file, or a folder of them), scale coordinates come from `scales`
    (a CSV or DataFrame with `model` and pretrain_loss/flops/params columns) or from a sidecar
    `scales.csv` next to the JSON. `select` ({"task": ..., "metric": ...}; None = any) keeps only
    the rows a command uses, and only their values are checked (see ``validate_table``).
    """
    if not str(path).strip():
        raise InputError("the results path is empty; give a .csv, .parquet, .db store or lm-eval .json")
    p = Path(example_table() if str(path) == EXAMPLE and not Path(path).exists() else path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder; check the path")
    suffix = p.suffix.lower()
    if isinstance(scales, (str, Path)):
        from emergence_laws.paths import read_text

        read_text(scales, "scales table", "give a CSV with a model column and pretrain_loss/flops/params")
    if p.is_dir() or suffix == ".json" or suffix == ".jsonl":
        return load_lmeval_json(p, scales=scales, select=select)
    if scales is not None:
        raise InputError(f"{p}: a scales table applies to lm-eval JSON only; this table carries its own scale "
                         "columns (pretrain_loss, flops, params), so drop --scales")
    if suffix in SQLITE_SUFFIXES:
        from emergence_laws.results.store import ResultsStore

        if not _is_sqlite(p):
            raise InputError(f"{p}: not a SQLite database; give a store written by `emergence run`, or a CSV")
        frame = ResultsStore(p, create=False).to_frame()
        return validate_table(frame, str(p), select=select)
    if suffix in PARQUET_SUFFIXES:
        return load_parquet(p, select=select)
    if suffix in CSV_SUFFIXES or suffix == "":
        return load_csv(p, select=select)
    raise InputError(
        f"{p}: unknown file type {suffix!r}; give a .csv, .tsv, .parquet, .db (SQLite store) or lm-eval .json"
    )


#: The name that means the bundled example table (`emergence fit example`, ``load_results("example")``).
EXAMPLE = "example"


def example_table() -> Path:
    """The bundled example table: 16 checkpoints, one 4-way multiple-choice task, finetuned and few-shot rows."""
    from importlib.resources import files

    return Path(str(files("emergence_laws") / "data" / "example_results.csv"))


def _read_bytes(path: Path, n: int = -1) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror}); check its permissions") from None


def _is_sqlite(path: Path) -> bool:
    return _read_bytes(path, 16) == b"SQLite format 3\x00"


def load_csv(path: str | Path, *, select: Mapping[str, str | None] | None = None) -> pd.DataFrame:
    """Read a CSV (or TSV) results table; every value read as text, then validated and typed."""
    p = Path(path)
    raw = _read_bytes(p)
    if not raw.strip():
        raise InputError(f"{p}: the file is empty; expected a CSV header with model, task, metric, value, ...")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not UTF-8 text (byte {exc.start}); save the table as UTF-8 CSV") from None
    del raw
    sep = "\t" if p.suffix.lower() == ".tsv" else ","
    with p.open(newline="", encoding="utf-8-sig") as fh:  # streamed from the file: no copy of it, no list of rows
        reader = csv.reader(fh, delimiter=sep)
        header = next(reader, [])
        for number, fields in enumerate(reader, start=2):
            if fields and len(fields) != len(header):
                raise InputError(
                    f"{p}, line {number}: malformed CSV ({len(fields)} fields, the header has {len(header)}); "
                    "every line needs as many fields as the header"
                )
    names = [h.strip() for h in header]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        raise InputError(f"{p}: column {repeated[0]!r} appears more than once in the header; keep one")
    try:
        df = pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=True, index_col=False)
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise InputError(f"{p}: malformed CSV ({detail}); every line needs as many fields as the header") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{p}: the file is empty; expected a CSV header with model, task, metric, value, ...") from None
    unnamed = [c for c in df.columns if str(c).startswith("Unnamed:")]
    if unnamed and len(unnamed) == len(df.columns):
        raise InputError(f"{p}: the header row is empty; the first line must name the columns")
    return validate_table(df, str(p), line_offset=2, select=select)


def load_parquet(path: str | Path, *, select: Mapping[str, str | None] | None = None) -> pd.DataFrame:
    """Read a Parquet results table, then validate it."""
    p = Path(path)
    try:
        df = pd.read_parquet(p)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for corrupt files; all mean 'unreadable'
        raise InputError(f"{p}: cannot read as Parquet ({type(exc).__name__}); check the file or export CSV") from None
    return validate_table(df, str(p), select=select)


_METRIC_NAMES = {"acc": "accuracy"}


def _metric_name(key: str) -> str:
    """lm-eval's 'acc,none' -> 'accuracy'; 'exact_match,strict-match' -> 'exact_match[strict-match]'."""
    name, _, filt = key.partition(",")
    name = _METRIC_NAMES.get(name, name)
    return name if filt in ("", "none") else f"{name}[{filt}]"


def _model_arg(doc: Mapping, key: str) -> str | None:
    """One entry of lm-eval's ``config.model_args`` (a "k=v,k=v" string or a mapping), or None."""
    config = doc.get("config") or {}
    args = config.get("model_args") or ""
    if isinstance(args, Mapping):
        found = args.get(key)
        return str(found) if found not in (None, "") else None
    match = re.search(rf"(?:^|,)\s*{key}=([^,]+)", str(args))
    return match.group(1).strip() if match else None


def _model_id(doc: Mapping, fallback: str) -> str:
    return _model_arg(doc, "pretrained") or str(doc.get("model_name") or fallback)


def _lmeval_rows(doc: Mapping, source: Path) -> list[dict]:
    results = doc.get("results")
    if not isinstance(results, Mapping):
        raise InputError(f"{source}: not an lm-evaluation-harness results file (no 'results' object)")
    model = _model_id(doc, source.stem)
    revision = _model_arg(doc, "revision")
    n_shot = doc.get("n-shot") or {}
    n_samples = doc.get("n-samples") or {}
    directions = doc.get("higher_is_better") or {}
    rows = []
    for task, metrics in results.items():
        if not isinstance(metrics, Mapping):
            continue
        samples = n_samples.get(task) or {}
        for key, value in metrics.items():
            if key == "alias" or "_stderr" in key.split(",")[0] or not isinstance(value, (int, float)):
                continue
            name, _, filt = key.partition(",")
            stderr = metrics.get(f"{name}_stderr,{filt}" if filt else f"{name}_stderr")
            hib = (directions.get(task) or {}).get(name) if isinstance(directions.get(task), Mapping) else None
            rows.append(
                {
                    "model": model,
                    **({"step": revision} if revision is not None else {}),
                    "task": task,
                    "metric": _metric_name(key),
                    "value": float(value),
                    "n_train": 0,
                    "shots": int(n_shot.get(task, 0) or 0),
                    "stderr": float(stderr) if isinstance(stderr, (int, float)) else None,
                    "n_eval": samples.get("effective") if isinstance(samples, Mapping) else None,
                    "method": "none",
                    "source_path": str(source),
                    **({"higher_is_better": bool(hib)} if isinstance(hib, bool) else {}),
                }
            )
    return rows


def load_lmeval_json(
    path: str | Path,
    *,
    scales: str | Path | pd.DataFrame | None = None,
    select: Mapping[str, str | None] | None = None,
) -> pd.DataFrame:
    """Import lm-evaluation-harness results JSON: one file, or a folder searched recursively for
    ``results*.json`` (every ``*.json`` when it has none).

    A folder written for many checkpoints of a run (``revision=stepN`` in ``model_args``, one results
    file per revision) becomes one checkpoint table: ``model`` is the run, ``step`` the revision
    (``step1000`` -> 1000; other revisions such as ``main`` kept as text). Each checkpoint's scale
    (pretrain_loss / flops / params / tokens) comes from `scales` or a sidecar `scales.csv` beside the
    JSON (lm-eval does not record it), keyed by model, or by (model, step) when it has a step column.
    lm-eval's ``higher_is_better`` map becomes the column of that name.
    """
    p = Path(path)
    if p.is_dir():
        files = sorted(p.rglob("results*.json")) or sorted(p.rglob("*.json"))
    else:
        files = [p]
    if not files:
        raise InputError(f"{p}: no .json files found; point at lm-eval output or a CSV table")
    rows: list[dict] = []
    for f in files:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{f}: not valid JSON ({exc}); give lm-eval's results JSON") from None
        except OSError as exc:
            raise InputError(f"{f}: cannot read it ({exc.strerror}); check its permissions") from None
        if not isinstance(doc, Mapping):
            raise InputError(f"{f}: not an lm-evaluation-harness results file (top level is not an object)")
        rows.extend(_lmeval_rows(doc, f))
    if not rows:
        raise InputError(f"{p}: the lm-eval results hold no numeric metrics")
    df = pd.DataFrame(rows)
    if "step" in df.columns:
        df["step"] = df["step"].map(step_label)
    scale_df = _scale_table(p, scales)
    if scale_df is None:
        raise InputError(
            f"{p}: lm-eval JSON has no scale; put a scales.csv (columns: model[, step], "
            "pretrain_loss|flops|params|tokens) beside it, or pass --scales FILE (scales= in Python)"
        )
    on = ["model", "step"] if "step" in scale_df.columns and "step" in df.columns else ["model"]
    if on == ["model", "step"]:
        scale_df = scale_df.assign(step=scale_df["step"].map(step_label)).drop_duplicates(on)
    else:
        scale_df = scale_df.drop(columns=[c for c in ("step",) if c in scale_df.columns]).drop_duplicates("model")
    keys = set(map(tuple, scale_df[on].astype(str).to_numpy()))
    missing = [k for k in map(tuple, df[on].astype(str).to_numpy()) if k not in keys]
    if missing:
        what = f"model {missing[0][0]!r}" + (f" at step {missing[0][1]}" if len(on) == 2 else "")
        raise InputError(f"{p}: {what} has no row in the scales table; add it")
    df = df.merge(scale_df, on=on, how="left", suffixes=("", "_scale"))
    return validate_table(df, str(p), select=select)


def _scale_table(p: Path, scales: str | Path | pd.DataFrame | None) -> pd.DataFrame | None:
    if isinstance(scales, pd.DataFrame):
        table = scales.copy()
        where = "scales"
    else:
        if scales is None:
            folder = p if p.is_dir() else p.parent
            found = [folder / name for name in SCALE_SIDECARS if (folder / name).exists()]
            if not found:
                return None
            scales = found[0]
        try:
            table = pd.read_csv(scales, dtype={"model": str, "step": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{scales}: cannot read the scales table ({type(exc).__name__}); "
                             "give a CSV with a model column and pretrain_loss/flops/params") from None
        where = str(scales)
    if "model" not in table.columns:
        raise InputError(f"{where}: the scales table needs a 'model' column")
    keep = [c for c in table.columns if c != "model" and c not in ("task", "metric", "value")]
    table["model"] = table["model"].astype(str)
    return table[["model", *keep]]
