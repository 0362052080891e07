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


_RUN_BY_HAND = ["idverify.bench.calibrate_face", "idverify.bench.calibrate_fingerprint", "idverify.bench.face_cohort",
                "idverify.bench.face_probes", "idverify.bench.face_quality_threshold", "idverify.bench.face_templates",
                "idverify.bench.fingerprint_versions", "idverify.bench.lodo_face", "idverify.bench.lodo_fingerprint",
                "hardware_fixtures.bench_devices", "hardware_fixtures.bench_journey", "hardware_fixtures.camera",
                "hardware_fixtures.ga467", "hardware_fixtures.turn_trial", "hardware_fixtures.zhiantec"]


@pytest.mark.parametrize("module", _RUN_BY_HAND)
def test_every_tool_run_by_hand_has_help(module: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m <tool> -h`` prints its usage and exits 0 (the fingerprint calibration once took ``--help`` for a
    folder and died in a traceback), and no arguments is a usage error (2), not a crash."""
    import importlib

    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as help_exit:
        main(["-h"])
    assert help_exit.value.code == 0
    assert "usage:" in capsys.readouterr().out
    if module.startswith("idverify.bench."):  # the simulators start with defaults when given nothing
        with pytest.raises(SystemExit) as bare:
            main([])
        assert bare.value.code == 2
        capsys.readouterr()
        args = ["/nonexistent/set-a", "/nonexistent/set-b", "/nonexistent/set-c"]
        with pytest.raises(SystemExit) as typo:  # a data folder that is not there: usage error naming it, no run
            main(["out.json", *args] if module.endswith("calibrate_face") else args)
        assert typo.value.code == 2
        assert "not a folder: /nonexistent/set-a" in capsys.readouterr().err
