"""mkdocs hook: reference pages written from the code at build time, so they cannot go stale.

A page holds a marker such as ``<!-- generated:cli -->``; :func:`on_page_markdown` replaces it with
the text :func:`render` builds from the installed package:

- ``cli``: ``emergence --help`` and every subcommand's ``--help`` (the parser itself, in-process);
- ``columns``: the results table's columns and their units (``emergence_laws.results.schema``);
- ``metrics``: the metric registry (``emergence_laws.metrics.REGISTRY``);
- ``api``: one mkdocstrings block per public name of ``emergence_laws`` (its ``_LAZY`` map);
- ``api_table``: those names and the module that defines each;
- ``study_keys``: the study YAML keys, read from the one place they are written (examples/README.md).

A marker whose source moved or vanished makes the build fail (an exception, not a silent gap).
Everything here is torch-free: it imports only what ``import emergence_laws`` and the parsers do.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path

#: The repository root (this file is docs/hooks/generated.py).
ROOT = Path(__file__).resolve().parents[2]

MARKER = re.compile(r"<!-- generated:([a-z_]+) -->")

#: Width of the rendered ``--help`` texts (argparse reads $COLUMNS).
HELP_COLUMNS = 80


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps subcommands in a private action; no public accessor
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise RuntimeError("the `emergence` parser has no subcommands")


def cli_help() -> dict[str, str]:
    """``{"emergence": top-level help, "emergence fit": ..., ...}`` in the order `emergence --help` lists them."""
    from emergence_laws.cli import COMMANDS, build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_COLUMNS)
    try:
        parser = build_parser()
        subs = _subparsers(parser)
        out = {"emergence": parser.format_help()}
        for name in COMMANDS:
            if name in subs:
                out[f"emergence {name}"] = subs[name].format_help()
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return out


def render_cli() -> str:
    parts = []
    for prog, text in cli_help().items():
        parts.append(f"## `{prog}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_columns() -> str:
    from emergence_laws.results import schema

    rows = ["| column | kind | meaning (units) |", "|---|---|---|"]
    kinds = [(schema.REQUIRED, "required"), (schema.SCALE, "scale (at least one)"), (schema.OPTIONAL, "optional")]
    seen: set[str] = set()
    for names, kind in kinds:
        for name in names:
            seen.add(name)
            rows.append(f"| `{name}` | {kind} | {_cell(schema.COLUMN_DOCS.get(name, ''))} |")
    for name, doc in schema.COLUMN_DOCS.items():  # documented columns outside the three groups
        if name not in seen:
            rows.append(f"| `{name}` | optional | {_cell(doc)} |")
    return "\n".join(rows) + "\n"


def _bound(x: float) -> str:
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:g}"


def render_metrics() -> str:
    from emergence_laws.metrics import REGISTRY

    rows = ["| metric | direction | range | kind | chance | unit |", "|---|---|---|---|---|---|"]
    for name, m in REGISTRY.items():
        rng = "unknown" if m.bounds is None else f"[{_bound(m.bounds[0])}, {_bound(m.bounds[1])}]"
        chance = "task-dependent" if m.chance is None else f"{m.chance:g}"
        rows.append(f"| `{_cell(name)}` | {'higher is better' if m.higher_is_better else 'lower is better'} | "
                    f"{rng} | {'discrete' if m.discrete else 'continuous'} | {chance} | {m.unit} |")
    return "\n".join(rows) + "\n"


def public_api() -> dict[str, list[str]]:
    """``{module: [public names]}`` from ``emergence_laws._LAZY``, in its order, plus the error classes."""
    import emergence_laws

    out: dict[str, list[str]] = {}
    for name, module in emergence_laws._LAZY.items():
        out.setdefault(module, []).append(name)
    out.setdefault("emergence_laws.errors", []).extend(
        n for n in ("EmergenceError", "InputError", "ConfigError", "NotIdentifiableError") if n in emergence_laws.__all__)
    return out


def defining_module(module: str, name: str) -> str:
    """The module whose source defines `module.name`: packages here re-export lazily (a module
    ``__getattr__``), which static analysis cannot follow, so the object is imported (torch-free)."""
    import importlib

    return getattr(importlib.import_module(module), name).__module__


def render_api() -> str:
    parts = []
    for module, names in public_api().items():
        parts.append(f"## `{module}`\n")
        for name in names:
            parts.append(f"::: {defining_module(module, name)}.{name}\n")
    return "\n".join(parts)


def render_api_table() -> str:
    rows = ["| name | module |", "|---|---|"]
    for module, names in public_api().items():
        rows.append(f"| {', '.join(f'`{n}`' for n in names)} | `{module}` |")
    return "\n".join(rows) + "\n"


#: The study config's keys are documented once, in examples/README.md, under this heading.
STUDY_KEYS_SOURCE = ("examples/README.md", "## The config, key by key")


def render_study_keys(root: Path | None = None) -> str:
    """The key-by-key section of examples/README.md, without its heading (one source for both)."""
    rel, heading = STUDY_KEYS_SOURCE
    path = (root or ROOT) / rel
    text = path.read_text(encoding="utf-8")
    if heading not in text:
        raise ValueError(f"{rel} has no '{heading}' section; update STUDY_KEYS_SOURCE in docs/hooks/generated.py")
    section = text.split(heading, 1)[1]
    section = re.split(r"^## ", section, maxsplit=1, flags=re.MULTILINE)[0]
    return section.strip() + "\n"


RENDERERS = {"cli": render_cli, "study_keys": render_study_keys, "api_table": render_api_table, "columns": render_columns, "metrics": render_metrics, "api": render_api}


def render(name: str) -> str:
    """The text that replaces ``<!-- generated:NAME -->``."""
    if name not in RENDERERS:
        raise ValueError(f"unknown marker <!-- generated:{name} -->; known: {', '.join(RENDERERS)}")
    return RENDERERS[name]()


def on_page_markdown(markdown: str, page, config, files) -> str:  # mkdocs hook signature
    return MARKER.sub(lambda m: render(m.group(1)), markdown)
