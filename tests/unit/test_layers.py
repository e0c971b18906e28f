"""The core's layers: the domain imports nothing above it, and no module cycle exists.

Imports are read from the source (``ast``), those under ``TYPE_CHECKING``
included: a cycle hidden from the interpreter is still a cycle for the
reader and for mypy.  Importing ``a.b.c`` also imports the packages ``a.b``
and ``a`` (their ``__init__``), except the root package, whose ``__init__``
only re-exports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = "vtc_dispatch"

# The domain: values and pure decisions.  It may import itself and nothing else of the core.
DOMAIN = (
    "vtc_dispatch._records",
    "vtc_dispatch.errors",
    "vtc_dispatch.loading",
    "vtc_dispatch.geo",
    "vtc_dispatch.fsm",
    "vtc_dispatch.kinds",
    "vtc_dispatch.pricing",
    "vtc_dispatch.routing",
    "vtc_dispatch.tracking",
    "vtc_dispatch.order",
    "vtc_dispatch.events",
    "vtc_dispatch.changes",
    "vtc_dispatch.pool",
    "vtc_dispatch.settings",
)


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _modules() -> dict[str, set[str]]:
    """Each core module and the core modules it imports (packages named by their ``__init__``)."""
    files = {
        ".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__"): p
        for p in (SRC / ROOT).rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                    base = f"{base}.{node.module}" if node.module else base
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                if target in files:
                    parts = target.split(".")
                    deps.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
        # A module's own packages are initialised before it: not an edge of a cycle.
        graph[name] = {d for d in deps if d in files and not (name + ".").startswith(d + ".")}
    return graph


GRAPH = _modules()


def test_the_graph_sees_the_core() -> None:
    assert {"vtc_dispatch.service", "vtc_dispatch.pool.decide", "vtc_dispatch.ports"} <= set(GRAPH)
    assert "vtc_dispatch.pool.decide" in GRAPH["vtc_dispatch.commands.dispatching"]


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _in(m, DOMAIN)))
def test_the_domain_imports_nothing_above_it(module: str) -> None:
    above = sorted(d for d in GRAPH[module] if not _in(d, DOMAIN))
    assert not above, f"{module} (domain) imports {above}"


def test_no_module_cycle() -> None:
    graph = {m: {d for d in deps if d != ROOT} for m, deps in GRAPH.items() if m != ROOT}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
