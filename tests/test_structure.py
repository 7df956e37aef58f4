"""The package's structure: no import cycle, and one home for the network <-> header translation.

The import graph is read from the source (the AST of every module under src/deeplayers), not from
``sys.modules``: an import inside a function is an edge too, because it runs whenever the function
does and only hides a cycle from the import system. Imports under ``if TYPE_CHECKING:`` never run
and are left out. Imports of other packages (numpy, optional extras such as matplotlib, onnx,
scikit-learn, click) are not nodes of this graph, so they never form a cycle here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = "deeplayers"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE


def _module_names(root: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module (``deeplayers`` itself is its ``__init__.py``)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that can run, at any depth (functions, methods, try blocks)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """The package modules one import statement loads."""
    if isinstance(node, ast.Import):
        bases = [alias.name for alias in node.names]
        names: list[str] = []
    else:
        if node.level:
            base_parts = module.split(".") if is_package else module.split(".")[:-1]
            base_parts = base_parts[: len(base_parts) - (node.level - 1)]
            bases = [".".join(base_parts + ([node.module] if node.module else []))]
        else:
            bases = [node.module or ""]
        names = [alias.name for alias in node.names]
    out = set()
    for base in bases:
        # importing a.b.c first runs the packages a and a.b; that is not an import the module makes
        # (and the packages do not wait for it), so the edge goes to a.b.c alone. In ``from a import
        # b``, b is either a submodule (the edge goes there) or a name the module a defines.
        if not names:
            out.add(base)
        for name in names:
            out.add(f"{base}.{name}" if f"{base}.{name}" in modules else base)
    return out & modules


def import_graph(root: Path = SRC) -> dict[str, set[str]]:
    files = _module_names(root)
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges: set[str] = set()
        for node in _imports(tree):
            edges |= _targets(node, name, path.name == "__init__.py", modules)
        graph[name] = edges - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_reader_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / PACKAGE
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .a import f\n__version__ = '1'\n")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import C\n"
                              "def f():\n    from .b import g\n    return g()\n")
    (pkg / "b.py").write_text("import numpy\ndef g():\n    from . import __version__\n    return __version__\n")
    (pkg / "c.py").write_text("from .a import f\n")
    graph = import_graph(pkg)
    assert graph == {PACKAGE: {f"{PACKAGE}.a"}, f"{PACKAGE}.a": {f"{PACKAGE}.b"}, f"{PACKAGE}.b": {PACKAGE},
                     f"{PACKAGE}.c": {f"{PACKAGE}.a"}}
    assert find_cycle(graph) == [PACKAGE, f"{PACKAGE}.a", f"{PACKAGE}.b", PACKAGE]
    assert tangles(graph) == {frozenset({PACKAGE, f"{PACKAGE}.a", f"{PACKAGE}.b"})}
    (pkg / "b.py").write_text("def g():\n    return 1\n")
    assert find_cycle(import_graph(pkg)) is None and tangles(import_graph(pkg)) == set()


def tangles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The groups of modules that import each other, directly or around a cycle (the strongly
    connected components with more than one module)."""
    reach = {node: _reachable(graph, node) for node in graph}
    return {frozenset(n for n in graph if n in reach[node] and node in reach[n]) | {node}
            for node in graph if any(node in reach[n] for n in reach[node])}


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), list(graph.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


# Cycles that exist on main but belong to another part of the redesign, each with the reason. Any
# other cycle fails the test, and so does a listed one that has gone (then its entry goes too).
KNOWN_CYCLES: dict[frozenset[str], str] = {}


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    assert len(graph) > 15 and f"{PACKAGE}.network" in graph
    found = tangles(graph)
    new = found - set(KNOWN_CYCLES)
    assert not new, "import cycles: " + "; ".join(" -> ".join(find_cycle({n: graph[n] & t for n in t})) for t in new)
    assert not set(KNOWN_CYCLES) - found, f"gone, remove from KNOWN_CYCLES: {set(KNOWN_CYCLES) - found}"


# -- one home for the network <-> header translation -------------------------------------------------
# Network.to_spec() / Network.from_spec() are the only code that turns a network into its JSON
# description and back. Another module doing it by hand would read an activation's name without its
# parameters, or rebuild a Network from header fields: both are what these patterns catch.
_BY_HAND = {
    "reads activation parameters": re.compile(r"activation_params|hasattr\([^)]*[\"']alpha[\"']"),
    "builds a Network from header fields": re.compile(r"Network\([^)]*\[\s*[\"'](layer_dims|activations)[\"']\s*\]"),
    "writes the architecture into a dict": re.compile(r"[\"']activations[\"']\s*:\s*\w+\.activations"),
}
_SPEC_HOME = {"network.py", "activations.py"}


@pytest.mark.parametrize("path", sorted(p for p in SRC.rglob("*.py") if p.name not in _SPEC_HOME),
                         ids=lambda p: p.name)
def test_no_module_translates_a_network_by_hand(path):
    source = path.read_text()
    found = {what: pattern.search(source).group(0) for what, pattern in _BY_HAND.items() if pattern.search(source)}
    assert not found, f"{path.name} {found}: use Network.to_spec() / Network.from_spec()"
