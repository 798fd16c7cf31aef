"""The package's layers hold: no import circle, no import against the layer order (scripts/import_graph.py)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO, load_script

SRC = REPO / "src"


def analyse() -> dict:
    return load_script("import_graph").analyse(SRC)


def test_no_import_cycles():
    res = analyse()
    assert res["module_cycles"] == [], "modules that import each other (directly or round a circle)"
    assert res["package_cycles"] == [], "packages that import each other (directly or round a circle)"


def test_no_upward_imports():
    res = analyse()
    upward = [f"{e['source']}:{e['line']} -> {e['target']}" for e in res["upward"]]
    assert upward == [], ("imports against the layer order (LAYERS in scripts/import_graph.py): move the code "
                          "down, or the import up")


def test_every_package_has_a_layer():
    graph = load_script("import_graph")
    for module in graph.find_modules(SRC):
        graph.rank(module)  # KeyError names a package without a layer


def test_the_graph_sees_lazy_imports_and_cycles(tmp_path: Path):
    """The checker itself: a function-level import counts, a circle and an upward import are found."""
    graph = load_script("import_graph")
    pkg = tmp_path / "emergence_laws"
    (pkg / "results").mkdir(parents=True)
    (pkg / "study").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "results" / "__init__.py").write_text("")
    (pkg / "study" / "__init__.py").write_text("")
    (pkg / "results" / "io.py").write_text("def f():\n    from emergence_laws.results.store import S\n")
    (pkg / "results" / "store.py").write_text("from emergence_laws.results import io\n"
                                              "from typing import TYPE_CHECKING\n"
                                              "if TYPE_CHECKING:\n    from emergence_laws.study import x\n")
    (pkg / "results" / "up.py").write_text("import emergence_laws.study\n")
    res = graph.analyse(tmp_path)
    assert res["module_cycles"] == [["emergence_laws.results.io", "emergence_laws.results.store"]]
    assert [(e["source"], e["target"]) for e in res["upward"]] == [("emergence_laws.results.up",
                                                                    "emergence_laws.study")]
