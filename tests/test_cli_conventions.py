"""Command-line conventions every command shares: ``-h``, ``--version`` and exit codes that tell a tampered
ledger (3) from an unreachable database (4) from a wrong call (2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from idverify import __version__
from idverify.cli import app
from idverify.console import Exit, exit_code
from idverify.errors import (
    ConfigError,
    DatabaseNotMigrated,
    DeviceUnavailable,
    ErrorCode,
    IdverifyError,
    ValidationFailed,
)


def test_version_and_short_help() -> None:
    runner = CliRunner()
    for flag in ("--version", "-V"):
        res = runner.invoke(app, [flag])
        assert res.exit_code == 0 and res.output.strip() == f"idverify {__version__}"
    res = runner.invoke(app, ["audit", "verify", "-h"])
    assert res.exit_code == 0 and "Usage" in res.output and "--public-key" in res.output
    top = runner.invoke(app, ["-h"])
    assert top.exit_code == 0 and "Exit codes" in top.output


@pytest.mark.parametrize(("error", "code"), [
    (IdverifyError("the ledger was rewritten", code=ErrorCode.LEDGER_TAMPERED), Exit.TAMPERED),
    (IdverifyError("truncated", code=ErrorCode.LEDGER_TRUNCATED), Exit.TAMPERED),
    (ValidationFailed("--month must be YYYY-MM"), Exit.USAGE),
    (ConfigError("IDVERIFY_PORT: not a number"), Exit.USAGE),
    (DatabaseNotMigrated("database locked"), Exit.UNAVAILABLE),
    (DeviceUnavailable("no sensor"), Exit.UNAVAILABLE),
    (IdverifyError("refused", code=ErrorCode.CONFLICT), Exit.FAILED),
])
def test_exit_code_by_kind_of_failure(error: IdverifyError, code: Exit) -> None:
    assert exit_code(error) == code


def test_verify_of_an_altered_export_exits_3_and_a_missing_file_2(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["audit", "verify", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == Exit.USAGE
    garbage = tmp_path / "export.jsonl"
    garbage.write_text('{"type": "header", "format": "idverify-ledger-export/1"}\n{"index": 0}\n', encoding="utf-8")
    res = runner.invoke(app, ["audit", "verify", str(garbage)])
    assert res.exit_code == Exit.TAMPERED, res.output
