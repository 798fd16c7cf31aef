"""One self-contained HTML report for any `fit`, `backtest`, `detect`, `demo` or `compare` output.

The file has no external references: figures are embedded as base64 data URIs (PNG or SVG),
the stylesheet is inlined, and the payload is shown as readable tables plus the raw JSON.
Provenance (data file, config, tool version, date) is always printed at the bottom.

Public API::

    render_report(payload, figures, out_path, *, title, kind, provenance) -> Path
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import math
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from emergence_laws.errors import InputError
from emergence_laws.jsonutil import clean

#: Report kinds the renderer knows; each only changes the heading and the intro line.
KINDS: dict[str, str] = {
    "fit": "Emergence-law fit: predicted few-shot emergence point from finetuned runs.",
    "backtest": "Backtest: the law fitted on weaker models, scored on held-out stronger ones.",
    "detect": "Emergence detection: which tasks are emergent on a scaling table, where, and how sharply.",
    "demo": "Micro-world demo: emergence happening on a ladder of tiny models, and its prediction.",
    "compare": "Comparison of runs: the compute at which each reaches few-shot emergence, and which gets there first.",
}

_MAX_ROWS = 400  # rows shown per table before truncation (the raw JSON below keeps everything)
_MAX_DEPTH = 3  # nesting depth rendered as tables; deeper values are shown as compact JSON


def render_report(
    payload: Mapping[str, Any],
    figures: Sequence[Path | str] | Mapping[str, Path | str],
    out_path: Path | str,
    *,
    title: str,
    kind: str,
    provenance: Mapping[str, Any],
) -> Path:
    """Write one self-contained HTML file and return its path.

    payload: JSON-ready dict (the same content as prediction.json / detect.json); an optional ``summary``
        (a string, or a list of lines shown as bullets) goes at the top. Scalars become a
        key/value table, lists of dicts become tables, nested dicts become sub-sections; the raw
        JSON is attached in a collapsible block.
    figures: PNG/SVG files to embed, as a list (caption = file stem) or a {caption: path} dict.
    kind: one of "fit", "backtest", "detect", "demo", "compare".
    provenance: e.g. {"data": path, "config": path or dict, "command": "..."}; the tool version and
        the creation date (UTC) are added when absent.
    """
    if kind not in KINDS:
        raise InputError(f"report kind {kind!r} is unknown; use one of {', '.join(KINDS)}")
    figs = _normalise_figures(figures)
    prov = dict(provenance)
    if "tool_version" not in prov:
        from emergence_laws.version import __version__

        prov["tool_version"] = f"emergence-laws {__version__}"
    prov.setdefault("created", _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))

    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>\n{_stylesheet()}\n</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="kind">{_e(kind)} report &middot; {_e(KINDS[kind])}</p>',
        "</header>",
        "<main>",
    ]
    summary = payload.get("summary") if isinstance(payload, Mapping) else None
    if isinstance(summary, str) and summary.strip():
        parts.append(f'<section class="summary"><p>{_e(summary)}</p></section>')
    elif isinstance(summary, (list, tuple)) and summary:
        items = "".join(f"<li>{_e(line)}</li>" for line in summary)
        parts.append(f'<section class="summary"><ul>{items}</ul></section>')
    if figs:
        parts.append('<section class="figures"><h2>Figures</h2>')
        for caption, path in figs:
            parts.append(_figure(caption, path))
        parts.append("</section>")
    parts.append('<section class="payload"><h2>Results</h2>')
    parts.append(_render_mapping({k: v for k, v in payload.items() if k != "summary"}, depth=0))
    parts.append("</section>")
    parts.append('<section class="provenance"><h2>Provenance</h2>')
    parts.append(_kv_table(prov))
    parts.append("</section>")
    raw = json.dumps(clean(payload), indent=2, sort_keys=False, allow_nan=False)
    parts.append(
        '<section class="raw"><details><summary>Raw JSON payload</summary>'
        f"<pre>{_e(raw)}</pre></details></section>"
    )
    parts += ["</main>", "</body>", "</html>", ""]

    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts), encoding="utf-8")
    return out


# ---------------------------------------------------------------------------------------------
# pieces


def _normalise_figures(
    figures: Sequence[Path | str] | Mapping[str, Path | str] | None,
) -> list[tuple[str, Path]]:
    if not figures:
        return []
    if isinstance(figures, Mapping):
        items = [(str(k), Path(v)) for k, v in figures.items()]
    else:
        items = [(Path(p).stem.replace("_", " "), Path(p)) for p in figures]
    for _, p in items:
        if not p.is_file():
            raise InputError(f"figure {p} does not exist; create it first or leave it out of `figures`")
        if p.suffix.lower() not in (".png", ".svg"):
            raise InputError(f"figure {p} is not a .png or .svg file; save the plot as PNG")
    return items


def _figure(caption: str, path: Path) -> str:
    mime = "image/svg+xml" if path.suffix.lower() == ".svg" else "image/png"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        "<figure>"
        f'<img src="data:{mime};base64,{data}" alt="{_e(caption)}" data-file="{_e(path.name)}">'
        f"<figcaption>{_e(caption)}</figcaption>"
        "</figure>"
    )


def _stylesheet() -> str:
    try:
        return resources.files("emergence_laws.report").joinpath("style.css").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, OSError):  # pragma: no cover - packaging fallback
        return "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _fmt(v: Any) -> str:
    """Format one scalar for a table cell (numbers to 4 significant digits)."""
    if v is None:
        return "&ndash;"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return _e(f"{v:,}" if abs(v) >= 100000 else str(v))
    if isinstance(v, float):
        if math.isnan(v):
            return "&ndash;"
        if math.isinf(v):
            return "&infin;" if v > 0 else "&minus;&infin;"
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return _e(f"{v:.3e}")
        return _e(f"{v:.4g}")
    if hasattr(v, "item") and callable(v.item):  # numpy scalar
        try:
            return _fmt(v.item())
        except (TypeError, ValueError):
            pass
    if isinstance(v, (list, tuple)) and not v:
        return "none"
    if isinstance(v, (list, tuple)) and all(_is_scalar(x) for x in v) and len(v) <= 12:
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, (Mapping, list, tuple)):
        text = json.dumps(clean(v), separators=(", ", ": "))
        if len(text) > 300:
            text = text[:297] + "..."
        return f"<code>{_e(text)}</code>"
    return _e(v)


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool)) or (
        hasattr(v, "item") and not isinstance(v, (Mapping, list, tuple))
    )


def _kv_table(d: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in d.items())
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


def _flatten(d: Mapping[str, Any], prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """Flatten nested dicts into dotted keys (two levels), for one table row."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and depth < 1:
            out.update(_flatten(v, key + ".", depth + 1))
        else:
            out[key] = v
    return out


def _records_table(rows: Sequence[Mapping[str, Any]]) -> str:
    flat = [_flatten(r) for r in rows]
    cols: list[str] = []
    for r in flat:
        for k in r:
            if k not in cols:
                cols.append(k)
    shown = flat[:_MAX_ROWS]
    head = "".join(f"<th>{_e(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in cols) + "</tr>" for r in shown
    )
    note = ""
    if len(flat) > _MAX_ROWS:
        note = f'<p class="note">{len(flat) - _MAX_ROWS} more rows in the raw JSON below.</p>'
    return (
        f'<div class="tablewrap"><table class="records"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>{note}"
    )


def _render_value(key: str, v: Any, depth: int) -> str:
    h = min(depth + 3, 6)
    if isinstance(v, Mapping):
        if depth >= _MAX_DEPTH:
            return f"<h{h}>{_e(key)}</h{h}><p>{_fmt(v)}</p>"
        return f"<h{h}>{_e(key)}</h{h}>" + _render_mapping(v, depth + 1)
    if isinstance(v, (list, tuple)) and v and all(isinstance(x, Mapping) for x in v):
        return f"<h{h}>{_e(key)} <small>({len(v)})</small></h{h}>" + _records_table(v)
    return f"<h{h}>{_e(key)}</h{h}><p>{_fmt(v)}</p>"


def _render_mapping(d: Mapping[str, Any], depth: int) -> str:
    scalars = {k: v for k, v in d.items() if not _is_block(v)}
    blocks = {k: v for k, v in d.items() if _is_block(v)}
    out = []
    if scalars:
        out.append(_kv_table(scalars))
    for k, v in blocks.items():
        out.append(f'<div class="block">{_render_value(str(k), v, depth)}</div>')
    return "".join(out)


def _is_block(v: Any) -> bool:
    if isinstance(v, Mapping):
        return True
    return isinstance(v, (list, tuple)) and bool(v) and all(isinstance(x, Mapping) for x in v)
