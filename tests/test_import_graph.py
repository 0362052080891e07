"""The package's import graph: no circles, and the lower rooms never import the rooms built on them.

Built from the source with ``ast`` (every ``import``, including those inside functions: a lazy import is still a
dependency, it only moves the cost), so the test needs nothing installed and names the modules at fault.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# rooms the matching core, the drivers, the ledger and storage must not reach up into
LOWER = ("biometrics", "devices", "ledger", "store")
UPPER = ("cli", "api", "web", "bench", "workflow")
COMMANDS = "commands"  # the room of every ``<room>/cli.py``: Typer commands sit on top of the room they serve


def room_levels(text: str) -> dict[str, int]:
    """Room -> its line in ARCHITECTURE.md's ``rooms`` block (0 = top). Rooms on one line share a level."""
    block = text.split("```rooms\n", 1)[1].split("```", 1)[0]
    levels: dict[str, int] = {}
    for level, line in enumerate(raw for raw in block.splitlines() if raw.split("#")[0].strip()):
        for name in line.split("#")[0].split(","):
            levels[name.strip()] = level
    return levels


def room_of(module: str) -> str:
    """``idverify.ledger.proofs`` -> ``ledger``; ``idverify.devices.cli`` -> ``commands``; ``idverify`` itself ->
    ``__init__``."""
    parts = module.split(".")
    if len(parts) > 2 and parts[-1] == "cli":
        return COMMANDS
    return parts[1] if len(parts) > 1 else "__init__"


def against_the_direction(graph: dict[str, set[str]], levels: dict[str, int]) -> list[str]:
    """Imports of a room on the same line or above (``a -> b``), and modules whose room the list does not name."""
    wrong = []
    for module, targets in sorted(graph.items()):
        source = room_of(module)
        if source not in levels:
            wrong.append(f"{module}: room {source!r} is not in ARCHITECTURE.md")
            continue
        for target in sorted(targets):
            room = room_of(target)
            if room != source and room in levels and levels[room] <= levels[source]:
                wrong.append(f"{module} -> {target}")
    return wrong


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same tree it imports (``from pkg import sub`` counts as ``pkg.sub``)."""
    modules: dict[str, Path] = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: Iterable[str] = ()
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for name in names:
                target = owner(name)
                if target is not None and target != module:
                    graph[module].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_checker_finds_a_circle_and_a_lazy_import(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def f():\n    from pkg import a\n")
    (pkg / "c.py").write_text("from . import a\n")
    graph = import_graph(pkg)
    assert graph["pkg.c"] == {"pkg.a"}
    assert circles(graph) == [["pkg.a", "pkg.sub.b"]]


@pytest.mark.parametrize("tree", ["src/idverify", "hardware_fixtures"])
def test_no_import_circles(tree: str) -> None:
    assert circles(import_graph(REPO / tree)) == []


def test_lower_rooms_do_not_import_the_rooms_built_on_them() -> None:
    wrong = []
    for module, targets in import_graph(REPO / "src" / "idverify").items():
        room = module.split(".")[1] if "." in module else ""
        if room in LOWER:
            wrong += [f"{module} -> {t}" for t in sorted(targets) if t.split(".")[1:2] and t.split(".")[1] in UPPER]
    assert wrong == []


def test_only_the_entry_point_imports_the_root_cli() -> None:
    """Command modules use the leaf ``idverify.console`` for output helpers; the root ``cli`` imports them."""
    importers = sorted(m for m, targets in import_graph(REPO / "src" / "idverify").items() if "idverify.cli" in targets)
    assert importers == ["idverify.__main__"]


def test_the_direction_checker_flags_upward_sideways_and_unlisted(tmp_path: Path) -> None:
    levels = room_levels("```rooms\napi   # routes\nworkflow, reports\nstore\n```\n")
    assert levels == {"api": 0, "workflow": 1, "reports": 1, "store": 2}
    graph = {
        "idverify.api.routes": {"idverify.workflow.checks", "idverify.store.db"},  # downward: fine
        "idverify.workflow.checks": {"idverify.reports.monthly", "idverify.store.db"},  # sideways
        "idverify.store.db": {"idverify.api.routes"},  # upward
        "idverify.store.cli": {"idverify.api.routes"},  # a command module: its own room, not in this list
        "idverify.extra": set(),
    }
    assert against_the_direction(graph, levels) == [
        "idverify.extra: room 'extra' is not in ARCHITECTURE.md",
        "idverify.store.cli: room 'commands' is not in ARCHITECTURE.md",
        "idverify.store.db -> idverify.api.routes",
        "idverify.workflow.checks -> idverify.reports.monthly",
    ]


def test_imports_follow_the_rooms_of_architecture_md() -> None:
    """Every module of the package belongs to a room of ARCHITECTURE.md and imports only rooms listed below it."""
    levels = room_levels((REPO / "ARCHITECTURE.md").read_text(encoding="utf-8"))
    assert against_the_direction(import_graph(REPO / "src" / "idverify"), levels) == []
