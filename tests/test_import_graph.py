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
