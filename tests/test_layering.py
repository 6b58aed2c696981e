"""The import graph of src/aigateway: no cycles, and doors that know only the pipeline.

Every import counts: lazy ones inside functions (cycles waiting for a caller) and those under
`if TYPE_CHECKING:` (a circle of knowledge is a circle, whether or not it runs).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "aigateway"
DOORS = sorted(p.name for p in (PACKAGE / "frontends").iterdir() if (p / "__init__.py").exists())
PROVIDERS = sorted(p.name for p in (PACKAGE / "providers").iterdir() if (p / "__init__.py").exists())


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The aigateway modules `path` imports (a `from pkg import name` of a submodule counts as it)."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("aigateway"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith("aigateway"):
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    found.add(sub if sub in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return {m for m in found if m in modules and m != module}


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}
    modules = set(files)
    return {m: _imports(p, modules) for m, p in files.items()}


GRAPH = _graph()


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None (depth-first search, colouring nodes)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := walk(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    assert _cycle(GRAPH) is None, " -> ".join(_cycle(GRAPH) or [])


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("door", DOORS)
def test_a_door_imports_no_other_door_and_no_concrete_provider(door):
    others = tuple(f"aigateway.frontends.{d}" for d in DOORS if d != door)
    concrete = tuple(f"aigateway.providers.{p}" for p in PROVIDERS)
    bad = {
        (m, imported)
        for m, imports in GRAPH.items()
        if m.startswith(f"aigateway.frontends.{door}")
        for imported in imports
        if imported.startswith(others) or imported.startswith(concrete)
    }
    assert not bad, sorted(bad)


@pytest.mark.parametrize(
    ("layer", "below"),
    [
        ("aigateway.pipeline", ("aigateway.frontends",)),
        ("aigateway.providers", ("aigateway.frontends", "aigateway.pipeline")),
        ("aigateway.store", ("aigateway.policy", "aigateway.frontends", "aigateway.pipeline")),
        ("aigateway.observability", ("aigateway.frontends", "aigateway.pipeline")),
        ("aigateway.settings", ("aigateway.providers",)),
    ],
)
def test_lower_layers_do_not_import_upper_ones(layer, below):
    bad = {
        (m, imported)
        for m, imports in GRAPH.items()
        if m == layer or m.startswith(layer + ".")
        for imported in imports
        if imported.startswith(below)
    }
    assert not bad, sorted(bad)


def test_the_pipeline_knows_no_concrete_provider():
    concrete = tuple(f"aigateway.providers.{p}" for p in PROVIDERS)
    bad = {
        (m, i)
        for m, imports in GRAPH.items()
        if m.startswith("aigateway.pipeline")
        for i in imports
        if i.startswith(concrete)
    }
    assert not bad, sorted(bad)
