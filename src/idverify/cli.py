"""The ``idverify`` command line (Typer).

Each domain owns its commands in its own module and registers them below, one line per area. Command
modules import heavy libraries (numpy, OpenCV, dlib) inside the command functions so that
``idverify --help`` stays instant.

Commands that take ``--json`` print exactly one JSON object as the last line of stdout; on failure they
exit non-zero with ``{"error": {"code", "message"}}``. The helpers for that live in the leaf module
:mod:`idverify.console`, which command modules import instead of this one (this module imports them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from idverify.bench import check as bench_check
from idverify.bench import face as bench_face
from idverify.bench import fingerprint as bench_fingerprint
from idverify.bench import load as bench_load
from idverify.bench import pad as bench_pad
from idverify.console import Exit, emit_json, fail, settings_or_exit
from idverify.devices import cli as devices_cli
from idverify.devices import pcsc_bench
from idverify.errors import IdverifyError
from idverify.hub import cli as hub_cli
from idverify.ledger import cli as ledger_cli
from idverify.reports import cli as reports_cli

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="idverify",
    help="Patient identity verification for ART clinics: ID documents, face, fingerprint, tamper-evident audit.\n\n"
         "Exit codes: 0 ok, 1 failed (a check found a problem, an operation was refused), 2 bad usage or settings, "
         "3 the audit ledger or an export does not verify (altered, truncated, forged), 4 a database, file, key or "
         "device could not be reached.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=HELP_OPTIONS,
)
bench_app = typer.Typer(help="Accuracy and speed benchmarks on public data, next to a peer.", no_args_is_help=True)
audit_app = typer.Typer(help="Export the audit ledger and verify exports offline.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts for real installations.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption key management (template keys, rotation).", no_args_is_help=True)
card_app = typer.Typer(help="ID-card and passport readers.", no_args_is_help=True)
finger_app = typer.Typer(help="Fingerprint sensor.", no_args_is_help=True)


def _version(value: bool) -> None:
    if value:
        from idverify import __version__

        typer.echo(f"idverify {__version__}")
        raise typer.Exit()


@app.callback()
def _cli(
    _show_version: Annotated[bool, typer.Option(
        "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Logs of every command go to stderr at WARNING until a command that serves reconfigures them.

    Left unconfigured, structlog prints every level to stdout, where the engines' load and per-image debug lines
    would sit between a command's table and its JSON summary (``bench … --json | jq`` would break).
    """
    from idverify.logging import configure_logging

    configure_logging("WARNING", json=True)


app.add_typer(bench_app, name="bench")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(staff_app, name="staff")
app.add_typer(keys_app, name="keys")
app.add_typer(card_app, name="card")
app.add_typer(finger_app, name="finger")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (IDVERIFY_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (IDVERIFY_PORT).")] = None,
) -> None:
    """Run the daemon on the configured devices and database (default 127.0.0.1:8700)."""
    from idverify.runtime import run_server

    settings = settings_or_exit(host=host, port=port)
    try:
        run_server(settings)
    except IdverifyError as exc:
        fail(exc, as_json=False)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data dir (default: IDVERIFY_DATA_DIR or a temp dir).")] = None,
    scenario: Annotated[bool, typer.Option(
        "--scenario", help="Drive one full treatment cycle through the REST API and print a JSON summary.")] = False,
) -> None:
    """Run the daemon with every device simulated, SQLite, and demo staff accounts (printed at start)."""
    import os
    import tempfile

    from idverify.runtime import DEMO_CLINIC_NAME, bootstrap_demo, run_server

    if data_dir is None and not os.environ.get("IDVERIFY_DATA_DIR"):
        data_dir = Path(tempfile.mkdtemp(prefix="idverify-demo-"))
    settings = settings_or_exit(host=host, port=port, data_dir=data_dir, simulate=True)
    if "clinic_name" not in settings.model_fields_set:
        settings = settings.model_copy(update={"clinic_name": DEMO_CLINIC_NAME})
    try:
        accounts = bootstrap_demo(settings)
    except IdverifyError as exc:
        fail(exc, as_json=scenario)
    if scenario:
        from idverify.logging import configure_logging
        from idverify.scenario import run

        configure_logging("WARNING", json=True)
        try:
            summary = run(settings, {a.username: a.password for a in accounts}, port=port)
        except IdverifyError as exc:
            fail(exc, as_json=True)
        emit_json(summary)
        raise typer.Exit(0 if summary["ledger_verified"] and summary["impostor_decision"] == "reject" else 1)
    console = Console()
    table = Table(title="idverify demo — staff accounts (kept in the data dir's demo-accounts.json)")
    for col in ("username", "password", "role"):
        table.add_column(col)
    for acc in accounts:
        table.add_row(acc.username, acc.password, acc.role)
    console.print(table)
    url = f"http://{settings.host}:{settings.port}"
    console.print(f"data dir: {settings.data_dir}\nUI: {url}/   API docs: {url}/docs   health: {url}/healthz")
    from idverify.device_wiring import demo_faces_folder

    if demo_faces_folder(settings) is None:
        console.print("[yellow]faces: no photos for the simulated people, so the camera finds no face and the face "
                      "factor cannot be shown (fingerprints are generated and work). Set IDVERIFY_DEMO_FACES to a "
                      "folder with one sub-folder of photos per person (three people at least).[/yellow]")
    try:
        run_server(settings)
    except IdverifyError as exc:
        fail(exc, as_json=False)


@db_app.command("upgrade")
def db_upgrade(
    sql: Annotated[bool, typer.Option(
        "--sql", help="Print the SQL instead of running it (offline, for a DBA).")] = False,
    from_revision: Annotated[str | None, typer.Option(
        "--from", help="With --sql: the revision the database is at (`idverify db current`); default: empty.")] = None,
) -> None:
    """Apply the migrations to the configured database (IDVERIFY_DATABASE_URL), one workstation at a time (a
    database lock is held). Run it after installing or updating; the daemon refuses an outdated schema."""
    import sys

    from sqlalchemy.exc import SQLAlchemyError

    from idverify.errors import ValidationFailed
    from idverify.store.db import database_error, upgrade_database, upgrade_sql

    settings = settings_or_exit()
    if sql:
        if not settings.resolved_database_url.startswith("postgresql"):
            fail(ValidationFailed("--sql writes PostgreSQL for a DBA to apply; SQLite is migrated in place with "
                                  "`idverify db upgrade`"), as_json=False)
        upgrade_sql(settings.resolved_database_url, sys.stdout, from_revision=from_revision)
        return
    if from_revision is not None:
        fail(ValidationFailed("--from goes with --sql"), as_json=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        upgrade_database(settings.resolved_database_url)
    except SQLAlchemyError as exc:
        fail(database_error(exc), as_json=False)
    typer.echo(f"database at the newest schema ({settings.resolved_database_url.split('://')[0]})")


@db_app.command("current")
def db_current(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on the last line.")] = False,
) -> None:
    """The database's schema revision and whether it is the one this version needs (exit 4 when it is not)."""
    from sqlalchemy.exc import SQLAlchemyError

    from idverify.store.db import current_revisions, database_error, head_revisions, make_engine

    settings = settings_or_exit()
    url = settings.resolved_database_url
    engine = make_engine(url)
    try:
        current = sorted(current_revisions(engine))
    except SQLAlchemyError as exc:
        fail(database_error(exc), as_json=as_json)
    finally:
        engine.dispose()
    heads = sorted(head_revisions(url))
    summary = {"current": current, "head": heads, "up_to_date": current == heads}
    if as_json:
        emit_json(summary)
    else:
        state = "up to date" if current == heads else "outdated: run `idverify db upgrade`"
        typer.echo(f"current: {', '.join(current) or '(empty)'}; this version needs: {', '.join(heads)} — {state}")
    if current != heads:
        raise typer.Exit(code=Exit.UNAVAILABLE)  # as the daemon itself would: not migrated


@db_app.command("history")
def db_history(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on the last line.")] = False,
) -> None:
    """Every migration of this version, newest first (no database connection needed)."""
    from idverify.store.db import history

    settings = settings_or_exit()
    revisions = history(settings.resolved_database_url)
    if as_json:
        emit_json({"revisions": revisions})
        return
    for rev in revisions:
        typer.echo(f"{', '.join(rev['down_revision']) or '<base>'} -> {rev['revision']}: {rev['doc'].splitlines()[0]}")


@staff_app.command("add")
def staff_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="nurse, it_admin or inspector.")],
    display_name: Annotated[str | None, typer.Option(help="Name shown in the UI.")] = None,
    password: Annotated[str | None, typer.Option(envvar="IDVERIFY_NEW_STAFF_PASSWORD", hidden=True)] = None,
) -> None:
    """Create a staff account; the password is asked for twice (or taken from IDVERIFY_NEW_STAFF_PASSWORD)."""
    from idverify.auth import service as auth_service
    from idverify.auth.roles import Role
    from idverify.errors import ValidationFailed
    from idverify.store.db import make_engine, make_session_factory

    try:
        role_value = Role(role)
    except ValueError:
        fail(ValidationFailed(f"unknown role {role!r}; use nurse, it_admin or inspector"), as_json=False)
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    settings = settings_or_exit()
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as db:
            staff = auth_service.create_staff(db, username=username, display_name=display_name or username,
                                              role=role_value, password=password)
            db.commit()
            typer.echo(f"created {role_value.value} account {staff.username} ({staff.id})")
    except IdverifyError as exc:
        fail(exc, as_json=False)
    finally:
        engine.dispose()


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Make a new master key active and re-wrap every template key under it (no re-enrolment)."""
    from idverify.store.db import make_engine, make_session_factory
    from idverify.store.keys import rotate_master_key

    settings = settings_or_exit()
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as db:
            report = rotate_master_key(settings, db)
    except (IdverifyError, ValueError) as exc:
        fail(exc if isinstance(exc, IdverifyError) else IdverifyError(str(exc)), as_json=False)
    finally:
        engine.dispose()
    typer.echo(f"re-wrapped {report.rewrapped} records: {report.old_key_id} -> {report.new_key_id}; the old key "
               "is in keys/retired/ — delete it once backups made before today have expired")


# --- the commands each room owns (heavy libraries are imported inside the command functions) ---
app.command("devices")(devices_cli.devices)
card_app.command("read")(devices_cli.card_read)
finger_app.command("capture")(devices_cli.finger_capture)
audit_app.command("export")(ledger_cli.audit_export)
audit_app.command("verify")(ledger_cli.audit_verify)
audit_app.command("checkpoint")(ledger_cli.audit_checkpoint)
audit_app.command("check")(ledger_cli.audit_check)
audit_app.command("public-key")(ledger_cli.audit_public_key)
audit_app.command("report")(reports_cli.audit_report)
bench_app.command("face")(bench_face.bench_face)
bench_app.command("search")(bench_face.bench_search)
bench_app.command("ledger")(ledger_cli.bench_ledger)
bench_app.command("emrtd")(pcsc_bench.bench_emrtd)
bench_app.command("fingerprint")(bench_fingerprint.bench_fingerprint)
bench_app.command("check")(bench_check.bench_check)
bench_app.command("load")(bench_load.bench_load)
bench_app.command("pad")(bench_pad.bench_pad)
app.add_typer(hub_cli.hub_app, name="hub")
bench_app.command("hub")(hub_cli.bench_hub)
