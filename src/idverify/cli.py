"""The ``idverify`` command line (Typer).

Each domain owns its commands in its own module and registers them below, one line per area. Command
modules import heavy libraries (numpy, OpenCV, dlib) inside the command functions so that
``idverify --help`` stays instant.

Commands that take ``--json`` print exactly one JSON object as the last line of stdout; on failure they
exit non-zero with ``{"error": {"code", "message"}}`` (SPEC). :func:`fail` does that consistently.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer

from idverify.errors import IdverifyError

app = typer.Typer(
    name="idverify",
    help="Patient identity verification for ART clinics: ID documents, face, fingerprint, tamper-evident audit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Accuracy and speed benchmarks on public data (SPEC output).", no_args_is_help=True)
audit_app = typer.Typer(help="Export the audit ledger and verify exports offline.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts for real installations.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption key management (template keys, rotation).", no_args_is_help=True)
card_app = typer.Typer(help="ID-card and passport readers.", no_args_is_help=True)
finger_app = typer.Typer(help="Fingerprint sensor.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(staff_app, name="staff")
app.add_typer(keys_app, name="keys")
app.add_typer(card_app, name="card")
app.add_typer(finger_app, name="finger")


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


# --- command registrations (one line per area; keep imports of heavy libraries inside commands) ---
