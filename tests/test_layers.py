"""The import contract of voxops: every import points down the layers of docs/architecture.md,
the packages of one layer do not import each other, and no modules import each other in a
circle. Read from the source (AST), so an import inside a function counts as much as one at
the top of a module.

A new import that breaks the contract fails here with the file and line to change. The few
edges still being taken apart are listed in ALLOWED with the reason; an allowed edge that is
gone, or no longer breaks anything, fails too, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "voxops"

# Top layer first. A module may import its own package and any package of a lower layer.
# In a layer marked independent, the packages may not import one another either.
LAYERS: tuple[tuple[str, bool, frozenset[str]], ...] = (
    ("entry points", False, frozenset({"cli", "__main__"})),
    ("lab", True, frozenset({"lab"})),
    ("use cases", True, frozenset({"ops", "watch"})),
    ("adapters and views", True, frozenset({"render", "deploy", "probes", "agent", "views"})),
    ("call audio and records", True, frozenset({"audio", "records"})),
    ("analysis", True, frozenset({"analysis"})),
    ("capture", True, frozenset({"capture"})),
    ("spec", True, frozenset({"spec"})),
    # shared by all: these may import each other (still without a cycle)
    ("base", False, frozenset({
        "voxops", "data", "errors", "severity", "findings", "text", "proc", "output_file", "resources",
        "runbooks", "runbook_search",
    })),
)

# (importer, imported) module edges that break the contract today, each with its reason.
# Remove an entry together with the import it names.
ALLOWED: dict[tuple[str, str], str] = {
    # analysis: type-only back references (the stream and SDP types want a module of their own)
    ("voxops.analysis.media_attribution", "voxops.analysis.streams"): "analysis streams <-> media_attribution",
    ("voxops.analysis.rtp_findings", "voxops.analysis.diagnosis"): "analysis diagnosis <-> rtp_findings",
    # audio and the ladder views: the call's audio picture draws a ladder, the views name audio reports
    ("voxops.audio.codecs", "voxops.audio.native"): "audio codecs <-> native",
    ("voxops.audio.native", "voxops.audio.codecs"): "audio codecs <-> native",
    ("voxops.audio.call", "voxops.views.ladder"): "audio -> views (upward: the audio picture draws a ladder)",
    # the ladder dispatcher imports its renderers, which import its visible_ladder
    ("voxops.views.ladder_html", "voxops.views.ladder"): "views ladder <-> its renderers",
    ("voxops.views.ladder_mermaid", "voxops.views.ladder"): "views ladder <-> its renderers",
    ("voxops.views.ladder_plot", "voxops.views.ladder"): "views ladder <-> its renderers",
    ("voxops.views.ladder_text", "voxops.views.ladder"): "views ladder <-> its renderers",
}


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    line: int
    typing_only: bool  # under `if TYPE_CHECKING:`

    def where(self) -> str:
        path = MODULES[self.importer].relative_to(REPO)
        shown = f"{path}:{self.line}: {self.importer} imports {self.imported}"
        return f"{shown} (type checking only)" if self.typing_only else shown


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _known(name: str) -> str | None:
    """The voxops module `name` refers to (a name inside a module means the module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterable[str]:
    if isinstance(node, ast.Import):
        yield from (a.name for a in node.names)
        return
    if node.level:
        base = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        prefix = ".".join([*base, node.module] if node.module else base)
    else:
        prefix = node.module or ""
    for alias in node.names:
        yield f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in MODULES else prefix


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str, tree: ast.AST, typing_only: bool = False) -> Iterable[Edge]:
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.Import | ast.ImportFrom):
            for target in _targets(module, child):
                known = _known(target)
                if known and known != module:
                    yield Edge(module, known, child.lineno, typing_only)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for part in child.body:
                yield from _imports(module, ast.Module(body=[part], type_ignores=[]), True)
            for part in child.orelse:
                yield from _imports(module, ast.Module(body=[part], type_ignores=[]), typing_only)
        else:
            yield from _imports(module, child, typing_only)


def import_edges() -> list[Edge]:
    return [e for m, p in MODULES.items() for e in _imports(m, ast.parse(p.read_text(encoding="utf-8")))]


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_of(package: str) -> int:
    return next(i for i, (_, _, members) in enumerate(LAYERS) if package in members)


def layer_breaks(edges: Iterable[Edge]) -> list[Edge]:
    """Imports that point up a layer, or across to another package of an independent layer."""
    bad = []
    for e in edges:
        here, there = package_of(e.importer), package_of(e.imported)
        if here == there:
            continue
        up, across = layer_of(there) < layer_of(here), layer_of(there) == layer_of(here)
        if up or (across and LAYERS[layer_of(here)][1]):
            bad.append(e)
    return bad


def cycles(edges: Iterable[Edge], key=lambda name: name) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """Strongly connected groups of more than one node (Tarjan, iterative)."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        a, b = key(e.importer), key(e.imported)
        if a != b:
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        group.append(top)
                        if top == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def cycle_edges(edges: list[Edge]) -> list[Edge]:
    """The edges inside a module cycle. An import for type checking only counts too: the two
    modules still cannot be understood, typed or moved one without the other."""
    groups = [set(g) for g in cycles(edges)]
    return [e for e in edges if any(e.importer in g and e.imported in g for g in groups)]


def broken(edges: list[Edge]) -> list[Edge]:
    """Every edge that breaks the contract, allowed or not."""
    return layer_breaks(edges) + cycle_edges(edges)


def _unallowed(bad: Iterable[Edge]) -> list[str]:
    return sorted({e.where() for e in bad if (e.importer, e.imported) not in ALLOWED})


EDGES = import_edges()


def test_every_package_has_a_layer() -> None:
    placed = {p for _, _, members in LAYERS for p in members}
    unplaced = sorted({package_of(m) for m in MODULES} - placed)
    assert unplaced == [], f"add these to a layer in LAYERS (and docs/architecture.md): {unplaced}"


def test_imports_point_down_the_layers() -> None:
    order = " > ".join("(" + " | ".join(sorted(m)) + ")" for _, _, m in LAYERS)
    bad = _unallowed(layer_breaks(EDGES))
    assert not bad, f"imports against the layering {order}:\n" + "\n".join(bad)


def test_no_module_imports_itself_in_a_circle() -> None:
    left = [e for e in EDGES if (e.importer, e.imported) not in ALLOWED]
    bad = sorted({e.where() for e in cycle_edges(left)})
    assert not bad, "modules importing each other in a circle:\n" + "\n".join(bad)


def test_no_package_imports_itself_in_a_circle() -> None:
    allowed = [e for e in EDGES if (e.importer, e.imported) not in ALLOWED]
    assert cycles(allowed, key=package_of) == []


def test_the_allowed_list_holds_only_edges_that_still_break_the_contract() -> None:
    needed = {(e.importer, e.imported) for e in broken(EDGES)}
    stale = sorted(set(ALLOWED) - needed)
    assert stale == [], f"remove from ALLOWED (the import is gone or breaks nothing now): {stale}"


@pytest.mark.parametrize(("source", "expected"), [
    ("from voxops.cli.main import app\n", "voxops/spec/models.py:1: voxops.spec.models imports voxops.cli.main"),
    ("def f():\n    from voxops import cli\n", "voxops/spec/models.py:2: voxops.spec.models imports voxops.cli"),
    ("from ..deploy import runner\n", "voxops/spec/models.py:1: voxops.spec.models imports voxops.deploy.runner"),
])
def test_an_upward_import_is_caught_wherever_it_is_written(source: str, expected: str) -> None:
    tree = ast.parse(source)
    edges = list(_imports("voxops.spec.models", tree))
    assert [e.where() for e in layer_breaks(edges)] == [expected]


def test_a_sibling_import_and_a_cycle_are_caught() -> None:
    sibling = Edge("voxops.render.engine", "voxops.deploy.runner", 1, False)
    assert layer_breaks([sibling]) == [sibling]
    there = Edge("voxops.spec.loader", "voxops.spec.rules", 1, False)
    back = Edge("voxops.spec.rules", "voxops.spec.loader", 9, False)
    assert set(cycle_edges([there, back])) == {there, back}
    # a back reference for type checking only closes the circle as well
    typed = Edge("voxops.spec.rules", "voxops.spec.loader", 9, True)
    assert set(cycle_edges([there, typed])) == {there, typed}
    assert "(type checking only)" in typed.where()
