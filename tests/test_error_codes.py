"""Every error code is a member of ``ErrorCode``: no raise, class or comparison spells a code as a string literal,
and the status of an error follows its code (``docs/errors.md`` and the clients rely on both)."""

from __future__ import annotations

import ast
from pathlib import Path

from idverify.errors import ConflictError, DeviceError, ErrorCode, IdverifyError, NotFoundError

SRC = Path(__file__).resolve().parents[1] / "src" / "idverify"


def _is_str(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_is_str(item) for item in node.elts)
    return False


def _is_code(node: ast.expr) -> bool:
    """``x.code``, ``x["code"]`` or ``x.get("code")``: an error's code."""
    if isinstance(node, ast.Attribute):
        return node.attr == "code"
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "code"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        return bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value == "code"
    return False


def literal_codes(source: str, name: str) -> list[str]:
    """Where ``source`` passes ``code="..."``, sets a class's ``code = "..."`` or compares a code with a string."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            found += [f"{name}:{node.lineno} code=" for k in node.keywords if k.arg == "code" and _is_str(k.value)]
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                names = [t.id for t in item.targets if isinstance(t, ast.Name)] if isinstance(item, ast.Assign) else []
                if "code" in names and isinstance(item, ast.Assign) and _is_str(item.value):
                    found.append(f"{name}:{item.lineno} class {node.name}.code")
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_is_code(o) for o in operands) and any(_is_str(o) for o in operands):
                found.append(f"{name}:{node.lineno} comparison")
    return found


def test_no_string_literal_error_code_in_src() -> None:
    found = [hit for path in sorted(SRC.rglob("*.py"))
             for hit in literal_codes(path.read_text(encoding="utf-8"), str(path.relative_to(SRC)))]
    assert found == []


def test_the_scan_finds_each_kind_of_literal_code() -> None:
    sample = '''
class Broken(IdverifyError):
    code = "broken"
raise ConflictError("x", code="taken")
if exc.code == "device_timeout" or exc.code in ("a", "b") or body["error"].get("code") != "feed_gap":
    pass
raise ConflictError("x", code=ErrorCode.CONFLICT)
if exc.code == ErrorCode.DEVICE_TIMEOUT:
    typer.Exit(code=2)
'''
    assert sorted(literal_codes(sample, "s")) == ["s:3 class Broken.code", "s:4 code=", *["s:5 comparison"] * 3]


def test_codes_are_unique_snake_case_wire_strings() -> None:
    assert len(ErrorCode.__members__) == len(list(ErrorCode))  # no alias hides a second name for one value
    for code in ErrorCode:
        assert code.value == code.name.lower() and code == code.value, code
        assert 400 <= code.status < 600 and code.message_key == f"error.{code.value}"


def test_the_status_follows_the_code_unless_a_raise_site_gives_one() -> None:
    assert NotFoundError("x").status_code == 404 and NotFoundError("x").code is ErrorCode.NOT_FOUND
    assert ConflictError("x", code=ErrorCode.CHALLENGE_UNKNOWN).status_code == 422
    assert DeviceError("x", code=ErrorCode.DEVICE_TIMEOUT).status_code == 504
    assert DeviceError("x", code=ErrorCode.DEVICE_ERROR, status_code=502).status_code == 502
    assert IdverifyError("x", code=ErrorCode.FEED_GAP).to_dict() == {"error": {
        "code": "feed_gap", "message": "x", "message_key": "error.feed_gap", "details": None}}
