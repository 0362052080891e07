"""Output helpers every command module shares: the JSON summary line, the error exit, settings or exit.

Owns: how a command reports — one JSON object as the last line of stdout with ``--json``, and on an expected
failure ``{"error": {"code", "message"}}`` (or a red line on stderr) with a non-zero exit (2 = usage/config,
1 = everything else). Must not touch: commands themselves, domain services, heavy libraries.

A leaf on purpose: it imports only ``config``, ``errors`` and typer, so a room's command module (``bench/``,
``devices/cli.py``, ``ledger/cli.py``, ``reports/cli.py``) can use it without importing the root
:mod:`idverify.cli`, which imports every command module to register it (the old way round was an import circle).
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer

from idverify.config import Settings, load_settings
from idverify.errors import IdverifyError


def emit_json(payload: dict[str, Any]) -> None:
    """Print the machine-readable summary as the last line of stdout."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def fail(error: IdverifyError, *, as_json: bool) -> NoReturn:
    """Report an expected failure and exit non-zero (2 = usage/config, 1 = everything else)."""
    if as_json:
        emit_json({"error": {"code": error.code, "message": error.message}})
    else:
        typer.secho(f"error [{error.code}]: {error.message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2 if error.code == "config_error" else 1)


def settings_or_exit(**overrides: object) -> Settings:
    """The settings with the command's options on top (``None`` = not given); a bad setting exits with code 2."""
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except IdverifyError as exc:
        fail(exc, as_json=False)
