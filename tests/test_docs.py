"""The README and the docs site: short README whose test command is the one CI runs, links that
resolve, a nav that lists every page, and reference pages generated from the code (docs/hooks)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import HANG_GUARD_S, REPO

README = REPO / "README.md"
DOCS = REPO / "docs"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def load_hook():
    spec = importlib.util.spec_from_file_location("docs_hooks_generated", DOCS / "hooks" / "generated.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fenced_blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.DOTALL)


def test_readme_is_short_and_its_commands_are_the_ones_ci_runs():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    blocks = [b.strip() for b in fenced_blocks(text, "bash")]
    assert blocks[0] == "pip install -e . && emergence demo"
    assert blocks[1] == 'pip install -e ".[dev,ray,lmeval]" && python -m pytest'
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert blocks[1] in ci_lines  # CI runs the README's test command, character for character
    assert "mkdocs build --strict" in " ".join(ci_lines)


def test_readme_links_resolve():
    text = README.read_text(encoding="utf-8")
    targets = [t for t in LINK.findall(text) if not t.startswith(("http://", "https://", "#"))]
    assert targets, "the README links into the docs"
    missing = [t for t in targets if not (REPO / t.split("#", 1)[0]).exists()]
    assert missing == []


def nav_pages(nav) -> list[str]:
    out = []
    for item in nav:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                out.extend(nav_pages(value) if isinstance(value, list) else [value])
    return out


def test_nav_lists_every_page_and_only_existing_ones():
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    listed = nav_pages(config["nav"])
    assert len(listed) == len(set(listed))
    missing = [p for p in listed if not (DOCS / p).is_file()]
    assert missing == [], f"nav entries without a page: {missing}"
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if "hooks" not in p.parts}
    unlisted = sorted(pages - set(listed))
    assert unlisted == [], f"pages missing from the nav in mkdocs.yml (mkdocs build --strict fails on them): {unlisted}"


def test_every_marker_in_the_docs_renders():
    hook = load_hook()
    used = set()
    for page in DOCS.rglob("*.md"):
        used.update(hook.MARKER.findall(page.read_text(encoding="utf-8")))
    assert used == set(hook.RENDERERS), "every generator is used by a page and every marker is known"
    for name in sorted(used):
        assert hook.render(name).strip(), name
    with pytest.raises(ValueError, match="unknown marker"):
        hook.render("nope")


def test_cli_reference_is_the_cli_help():
    """The generated CLI page holds what `emergence CMD --help` prints, for every command."""
    hook = load_hook()
    page = hook.render("cli")
    from emergence_laws.cli import COMMANDS, build_parser

    built = hook._subparsers(build_parser())
    assert set(built) <= set(COMMANDS) and len(built) >= 10
    env = {**os.environ, "COLUMNS": str(hook.HELP_COLUMNS)}
    for name in [None, *built]:
        args = [sys.executable, "-m", "emergence_laws"] + ([name] if name else []) + ["--help"]
        r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=HANG_GUARD_S, check=False)
        assert r.returncode == 0, r.stderr
        assert r.stdout.rstrip() in page, name
        assert f"## `emergence{' ' + name if name else ''}`" in page


def test_reference_tables_cover_the_code():
    hook = load_hook()
    from emergence_laws import _LAZY
    from emergence_laws.metrics import REGISTRY
    from emergence_laws.results import schema

    columns = hook.render("columns")
    for col in (*schema.REQUIRED, *schema.SCALE, *schema.OPTIONAL):
        assert f"| `{col}` |" in columns, col
    metrics = hook.render("metrics")
    for name in REGISTRY:
        assert f"| `{name}` |" in metrics, name
    api = hook.render("api")
    for name in _LAZY:
        assert re.search(rf"^::: emergence_laws\.[\w.]+\.{re.escape(name)}$", api, flags=re.MULTILINE), name
    keys = hook.render("study_keys")
    for key in ("`ladder`", "`reference`", "`task`", "`fewshot`", "`finetune`", "`eval`", "`executor`"):
        assert key in keys, key
