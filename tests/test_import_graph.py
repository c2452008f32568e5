"""The arrows of DESIGN.md's layout, checked on the source: app -> engine, never back;
engine.dmdl stands alone; no import cycles anywhere in app/ or engine/.

Every import statement counts, including those inside functions and under
TYPE_CHECKING: a function-level import hides a cycle from Python's loader, not from a
reader, and the next refactor that hoists it breaks the program at import time.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from tests.helpers.paths import REPO_ROOT

PACKAGES = ("app", "engine")


def module_files(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """{dotted module name: file} for every .py under the given top-level packages."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_names(module: str, path: Path) -> list[str]:
    """Every dotted name an import statement in the file names (`from a import b` gives a and a.b)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """(module -> project modules it imports, module -> every name it imports)."""
    files = module_files(root, packages)
    graph: dict[str, set[str]] = defaultdict(set)
    raw: dict[str, list[str]] = {}
    for module, path in files.items():
        raw[module] = imported_names(module, path)
        for name in raw[module]:
            while name and name not in files:  # `from pkg import function` names the module pkg
                name = name.rpartition(".")[0]
            # a module importing its own package (or itself) runs that package's __init__ first anyway
            if name and name != module and not module.startswith(name + "."):
                graph[module].add(name)
    return graph, raw


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), sorted.

    A package whose __init__ re-exports its own children is left out: importing the
    package runs the children, which is the point of the re-export, not a tangle.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(set(graph) | {w for ws in graph.values() for w in ws}):
        if v not in index:
            visit(v)
    return sorted(c for c in found if not all(m == c[0] or m.startswith(c[0] + ".") for m in c))


@pytest.fixture(scope="module")
def project_graph():
    return import_graph(REPO_ROOT)


def test_the_walk_sees_every_module_and_function_level_imports(project_graph):
    graph, raw = project_graph
    assert {"engine.core.poster", "engine.dmdl.grid", "app.canvas", "app.handlers"} <= set(raw)
    assert "engine.core.poster" in graph["engine.planning.geometry"]
    assert "engine.dmdl.grid" in graph["engine.core.poster"] or "engine.dmdl.grid" in graph["engine.planning.geometry"]


def test_a_cycle_through_a_function_level_import_is_found(tmp_path):
    (tmp_path / "engine" / "sub").mkdir(parents=True)
    (tmp_path / "engine" / "__init__.py").write_text("")
    (tmp_path / "engine" / "sub" / "__init__.py").write_text("")
    (tmp_path / "engine" / "a.py").write_text("from engine.sub.b import thing\n")
    (tmp_path / "engine" / "sub" / "b.py").write_text("def thing():\n    from ..a import x\n    return x\n")
    (tmp_path / "engine" / "c.py").write_text("import engine.a\n")
    graph, _ = import_graph(tmp_path, ("engine",))
    assert cycles(graph) == [["engine.a", "engine.sub.b"]]


def test_engine_has_no_import_cycles(project_graph):
    graph, _ = project_graph
    assert [c for c in cycles(graph) if any(m.startswith("engine") for m in c)] == []


def test_app_has_no_import_cycles(project_graph):
    graph, _ = project_graph
    assert [c for c in cycles(graph) if any(m.startswith("app") for m in c)] == []


def test_engine_never_imports_gradio_or_the_editor(project_graph):
    _, raw = project_graph
    bad = [
        f"{module} imports {name}"
        for module, names in raw.items()
        if module.startswith("engine")
        for name in names
        if name.split(".")[0] in ("gradio", "app")
    ]
    assert bad == []


def test_dmdl_imports_nothing_of_the_engine_but_itself_and_data(project_graph):
    _, raw = project_graph
    bad = [
        f"{module} imports {name}"
        for module, names in raw.items()
        if module.startswith("engine.dmdl")
        for name in names
        if name.startswith("engine.") and not name.startswith(("engine.dmdl", "engine.data"))
    ]
    assert bad == []
