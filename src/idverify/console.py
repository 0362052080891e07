"""Output helpers every command module shares: the JSON summary line, the error exit, settings or exit.

Owns: how a command reports — one JSON object as the last line of stdout with ``--json``, and on an expected
failure ``{"error": {"code", "message"}}`` (or a red line on stderr) with a non-zero exit whose value says what
kind of failure it was (:class:`Exit`), so a script or a cron job can tell "the ledger was altered" from "the
database is down" from "I called it wrong". Must not touch: commands themselves, domain services, heavy libraries.

A leaf on purpose: it imports only ``config``, ``errors`` and typer, so a room's command module (``bench/``,
``devices/cli.py``, ``ledger/cli.py``, ``reports/cli.py``) can use it without importing the root
:mod:`idverify.cli`, which imports every command module to register it (the old way round was an import circle).
"""

from __future__ import annotations

import json
import sys
from enum import IntEnum
from typing import Any, NoReturn

import typer

from idverify.config import Settings, load_settings
from idverify.errors import (
    ConfigError,
    CryptoError,
    DatabaseNotMigrated,
    DeviceError,
    ErrorCode,
    IdverifyError,
    ValidationFailed,
)


class Exit(IntEnum):
    """The exit codes of every ``idverify`` command (README, "Output for scripts")."""

    OK = 0
    FAILED = 1  # the command ran and the answer is "no" or the operation failed (a check that found a problem)
    USAGE = 2  # bad options, arguments or settings (Typer's own usage errors exit 2 as well)
    TAMPERED = 3  # the audit ledger or an export does not verify: altered, truncated, forged or wrongly signed
    UNAVAILABLE = 4  # a database, file, key or device could not be reached or read


#: Error codes that mean the evidence itself is bad, whatever exception class carried them.
TAMPER_CODES = frozenset({ErrorCode.LEDGER_TAMPERED, ErrorCode.LEDGER_DAMAGED, ErrorCode.LEDGER_TRUNCATED,
                          ErrorCode.INTEGRITY_FAILED})
#: A database that is locked, unreachable or refusing (``idverify.store.db.database_error``): try again later.
UNAVAILABLE_CODES = frozenset({ErrorCode.DATABASE_BUSY, ErrorCode.DATABASE_UNAVAILABLE, ErrorCode.DATABASE_ERROR})


def exit_code(error: IdverifyError) -> Exit:
    """The exit code for an expected failure."""
    if error.code in TAMPER_CODES:
        return Exit.TAMPERED
    if isinstance(error, ConfigError | ValidationFailed):
        return Exit.USAGE
    if isinstance(error, DatabaseNotMigrated | DeviceError | CryptoError) or error.code in UNAVAILABLE_CODES:
        return Exit.UNAVAILABLE
    return Exit.FAILED


def emit_json(payload: dict[str, Any]) -> None:
    """Print the machine-readable summary as the last line of stdout."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def fail(error: IdverifyError, *, as_json: bool) -> NoReturn:
    """Report an expected failure and exit with its :func:`exit_code`."""
    if as_json:
        emit_json({"error": {"code": error.code, "message": error.message}})
    else:
        typer.secho(f"error [{error.code}]: {error.message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=exit_code(error))


def settings_or_exit(**overrides: object) -> Settings:
    """The settings with the command's options on top (``None`` = not given); a bad setting exits with code 2
    (:attr:`Exit.USAGE`)."""
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except IdverifyError as exc:
        fail(exc, as_json=False)
