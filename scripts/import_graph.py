"""The import graph of `emergence_laws`: which module imports which, cycles, and imports against the layers.

    python scripts/import_graph.py            # counts, then every cycle and upward import
    python scripts/import_graph.py --src DIR  # another checkout's src/ (e.g. a `git worktree` of an older commit)
    python scripts/import_graph.py --json     # the same as one JSON object

Reads the source with `ast` (runs none of it). Every ``import emergence_laws...`` and ``from
emergence_laws... import ...`` counts, at module level and inside functions (a lazy import is still
a dependency); imports under ``if TYPE_CHECKING:`` do not (they never run). ``from package import
name`` points at the module ``package/name.py`` when there is one, else at ``package/__init__.py``.
An import of ``a.b.c`` does not count the ``a.b`` package it implicitly runs.

Two checks (tests/test_layering.py fails on either):

- **cycles**: strongly connected components of more than one module in the module graph, and of
  more than one package in the package graph (a module's package: its folder, or the module
  itself for a top-level file such as ``metrics.py``);
- **upward imports**: a module importing one of a higher layer (`LAYERS`, lowest first). Modules of
  one layer may import each other (a cycle among them is still caught above).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

PACKAGE = "emergence_laws"

#: Layers, lowest first: a module may import its own layer and the ones below. The names are the
#: first segment after ``emergence_laws.`` (a sub-package or a top-level module); "" is the package's
#: own ``__init__``, which re-exports everything lazily and sits on top.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "jsonutil", "paths", "yamlio", "devices", "threads", "progress", "constraints", "hashing", "provenance",
     "version", "lazy"),  # utilities
    ("metrics",),
    ("results",),
    ("laws",),
    ("analysis",),
    ("report",),
    ("tasks", "models"),
    ("evaluation", "finetuning"),
    ("study", "config"),  # config.py: the study config, before it moved into study/
    ("micro", "testing"),
    ("commands",),
    ("cli", "__main__", ""),
)

RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


class Edge(NamedTuple):
    """One import statement: `source` imports `target` (module names) on `line`."""

    source: str
    target: str
    line: int
    lazy: bool  # inside a function (runs on call, not on import)

    def to_dict(self) -> dict:
        return self._asdict()


class Graph:
    """The modules of the package (``{dotted name: file}``) and the imports between them."""

    def __init__(self, modules: dict[str, Path]) -> None:
        self.modules = modules
        self.edges: list[Edge] = []

    def lines(self, module: str) -> int:
        return len(self.modules[module].read_text(encoding="utf-8").splitlines())


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def find_modules(src: Path) -> dict[str, Path]:
    """``{dotted name: file}`` of every module under ``src/emergence_laws``."""
    root = src / PACKAGE
    return {module_name(p, src): p for p in sorted(root.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _targets(node: ast.Import | ast.ImportFrom, here: str, is_package: bool, modules: dict[str, Path]) -> list[str]:
    """The package modules one import statement reaches."""
    out: list[str] = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name.startswith(PACKAGE):
                out.append(name)
        return out
    base = node.module or ""
    if node.level:  # relative import
        parts = here.split(".")
        if not is_package:
            parts = parts[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, base] if base else parts)
    if not base.startswith(PACKAGE):
        return out
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        if sub in modules:
            out.append(sub)
        else:
            name = base
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                out.append(name)
    return out


def build_graph(src: Path) -> Graph:
    modules = find_modules(src)
    graph = Graph(modules)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"

        def visit(node: ast.AST, lazy: bool) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and _is_type_checking(child.test):
                    for sub in child.orelse:
                        visit(sub, lazy)
                    continue
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    for target in _targets(child, name, is_package, modules):
                        if target != name:
                            graph.edges.append(Edge(name, target, child.lineno, lazy))
                    continue
                visit(child, lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

        visit(tree, False)
    return graph


def package_of(module: str) -> str:
    """``emergence_laws.study.grid`` -> ``study``; ``emergence_laws.metrics`` -> ``metrics``;
    the package's own ``__init__`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def rank(module: str) -> int:
    pkg = package_of(module)
    if pkg not in RANK:
        raise KeyError(f"{module}: its package {pkg!r} has no layer; add it to LAYERS in scripts/import_graph.py")
    return RANK[pkg]


def strongly_connected(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative): the components of more than one node, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(edges.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return sorted(out)


def analyse(src: Path, max_lines: int = 350) -> dict:
    """Counts and lists: modules, edges, cycles (modules and packages), upward imports, long modules."""
    g = build_graph(src)
    mod_edges: dict[str, set[str]] = defaultdict(set)
    pkg_edges: dict[str, set[str]] = defaultdict(set)
    for e in g.edges:
        mod_edges[e.source].add(e.target)
        a, b = package_of(e.source), package_of(e.target)
        if a != b:
            pkg_edges[a].add(b)
    packages = sorted({package_of(m) for m in g.modules})
    upward_pairs: dict[tuple[str, str], Edge] = {}  # one per (importer, imported): the first statement
    for e in sorted(g.edges, key=lambda e: (e.source, e.line)):
        if rank(e.target) > rank(e.source):
            upward_pairs.setdefault((e.source, e.target), e)
    upward = list(upward_pairs.values())
    long_modules = sorted(((m, g.lines(m)) for m in g.modules if g.lines(m) > max_lines), key=lambda x: -x[1])
    return {
        "src": str(src),
        "modules": len(g.modules),
        "imports": len({(e.source, e.target) for e in g.edges}),
        "lazy_imports": len({(e.source, e.target) for e in g.edges if e.lazy}
                            - {(e.source, e.target) for e in g.edges if not e.lazy}),
        "module_cycles": strongly_connected(sorted(g.modules), mod_edges),
        "package_cycles": strongly_connected(packages, pkg_edges),
        "upward": [e.to_dict() for e in sorted(upward, key=lambda e: (e.source, e.line))],
        "long_modules": [{"module": m, "lines": n} for m, n in long_modules],
        "max_lines": max_lines,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", default=str(Path(__file__).resolve().parents[1] / "src"),
                    help="the src/ folder holding emergence_laws (default: this checkout's)")
    ap.add_argument("--max-lines", type=int, default=350, help="a module longer than this is listed (default 350)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    res = analyse(Path(args.src), args.max_lines)
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"{res['modules']} modules; {res['imports']} (importer, imported) pairs, {res['lazy_imports']} of them "
          "only inside functions")
    print(f"module cycles: {len(res['module_cycles'])}; package cycles: {len(res['package_cycles'])}; "
          f"upward imports (importer, imported pairs): {len(res['upward'])}; modules over {res['max_lines']} lines: {len(res['long_modules'])}")
    for c in res["module_cycles"]:
        print("  module cycle: " + " <-> ".join(m.removeprefix(PACKAGE + ".") for m in c))
    for c in res["package_cycles"]:
        print("  package cycle: " + " <-> ".join(c))
    for e in res["upward"]:
        src, dst = e["source"].removeprefix(PACKAGE + "."), e["target"].removeprefix(PACKAGE + ".")
        print(f"  upward: {src}:{e['line']} -> {dst}" + (" (in a function)" if e["lazy"] else ""))
    for m in res["long_modules"]:
        print(f"  long: {m['module'].removeprefix(PACKAGE + '.')} {m['lines']} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
