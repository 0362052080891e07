"""SQL lives in repositories: no module of the workflow outside ``workflow/repositories`` and no module of the API
builds a query (``sqlalchemy`` select/delete/update/func/text) or runs one on a session (execute, scalar(s),
query, get/add/delete on ``db``). Routes stay thin and services hold rules, so a newcomer finds every query of an
area in one file."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "idverify"
CHECKED = sorted(p for root in ("workflow", "api") for p in (SRC / root).rglob("*.py")
                 if "repositories" not in p.relative_to(SRC).parts)
ALLOWED_SQLALCHEMY = {"sqlalchemy.orm", "sqlalchemy.exc"}  # Session / sessionmaker types, error classes
RUNS_SQL = {"execute", "scalar", "scalars", "query"}
SESSION_NAMES = {"db", "session"}
SESSION_SQL = {"get", "add", "add_all", "delete", "merge"}


def _violations(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy") \
                and node.module not in ALLOWED_SQLALCHEMY:
            found.append(f"line {node.lineno}: from {node.module} import …")
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if a.name.startswith("sqlalchemy")]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr, owner = node.func.attr, node.func.value
            if attr in RUNS_SQL or (attr in SESSION_SQL and isinstance(owner, ast.Name) and owner.id in SESSION_NAMES):
                found.append(f"line {node.lineno}: .{attr}(…)")
    return found


def test_the_check_sees_the_modules() -> None:
    names = {p.relative_to(SRC).as_posix() for p in CHECKED}
    assert {"workflow/checks.py", "workflow/enrolment.py", "api/routes/admin.py", "api/captures.py"} <= names
    repository = SRC / "workflow" / "repositories" / "cycles.py"
    assert _violations(repository), "the check must recognise a repository's queries"


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: p.relative_to(SRC).as_posix())
def test_no_sql_outside_repositories(path: Path) -> None:
    assert _violations(path) == []
