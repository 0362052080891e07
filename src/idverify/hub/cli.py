"""``idverify hub …``: serve the regional hub, migrate its database, register clinics, print the witness key.

Registered on the root CLI by :mod:`idverify.cli` (one line). Heavy imports stay inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from idverify.errors import IdverifyError

hub_app = typer.Typer(help="The regional supervision hub (run by the health commission).", no_args_is_help=True)
hub_db_app = typer.Typer(help="The hub's database schema.", no_args_is_help=True)
hub_clinic_app = typer.Typer(help="Clinic logs the hub witnesses.", no_args_is_help=True)
hub_app.add_typer(hub_db_app, name="db")
hub_user_app = typer.Typer(help="Commission users of the hub (regional_inspector, hub_admin).", no_args_is_help=True)
hub_app.add_typer(hub_clinic_app, name="clinic")
hub_app.add_typer(hub_user_app, name="user")
hub_ledger_app = typer.Typer(help="The hub's own ledger of its actions.", no_args_is_help=True)
hub_app.add_typer(hub_ledger_app, name="ledger")


def _fail(exc: IdverifyError, as_json: bool = False) -> NoReturn:
    from idverify.console import fail

    fail(exc, as_json=as_json)


def _emit(payload: dict[str, Any]) -> None:
    from idverify.console import emit_json

    emit_json(payload)


def _settings(**overrides: Any) -> Any:
    from idverify.config import load_hub_settings

    try:
        return load_hub_settings(**{k: v for k, v in overrides.items() if v is not None})
    except IdverifyError as exc:
        _fail(exc)


@hub_app.command("serve")
def hub_serve(
    host: Annotated[str | None, typer.Option(help="Listen address (IDVERIFY_HUB_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (IDVERIFY_HUB_PORT, default 8800).")] = None,
) -> None:
    """Run the regional hub on its configured database (default 127.0.0.1:8800)."""
    import uvicorn

    from idverify.hub.app import create_hub_app
    from idverify.logging import configure_logging

    settings = _settings(host=host, port=port)
    configure_logging(settings.log_level, json=settings.log_json)
    try:
        app = create_hub_app(settings)
    except IdverifyError as exc:
        _fail(exc)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                server_header=False, proxy_headers=False)


@hub_db_app.command("upgrade")
def hub_db_upgrade() -> None:
    """Apply the hub's migrations to IDVERIFY_HUB_DATABASE_URL (its own database, never a clinic's)."""
    from idverify.hub.db import upgrade_hub_database

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        upgrade_hub_database(settings.resolved_database_url)
    except IdverifyError as exc:
        _fail(exc)
    typer.echo(f"hub database at the newest schema ({settings.resolved_database_url.split('://')[0]})")


@hub_app.command("witness-key")
def hub_witness_key() -> None:
    """Print the witness's verifier key (give it to clinics as IDVERIFY_HUB_WITNESS_KEY, and to inspectors)."""
    from idverify.hub.keys import witness_signer

    settings = _settings()
    try:
        signer = witness_signer(settings)
    except IdverifyError as exc:
        _fail(exc)
    typer.echo(signer.key.vkey)


@hub_app.command("region-key")
def hub_region_key(
    out: Annotated[Path, typer.Option("--out", help="Where to write the new key (mode 0600; never overwritten).")],
) -> None:
    """Create the region's pseudonymisation key for the commission to hand to its clinics
    (IDVERIFY_REGION_KEY_FILE); prints {"key_id", "out"}. The hub itself never needs the key, only its id
    (IDVERIFY_HUB_REGION_KEY_IDS)."""
    from idverify.store.region import create_region_key

    try:
        key = create_region_key(out)
    except FileExistsError:
        from idverify.errors import ConflictError

        _fail(ConflictError(f"{out} exists; a region key is never overwritten"), as_json=True)
    _emit({"key_id": key.key_id, "out": str(out)})


@hub_clinic_app.command("add")
def hub_clinic_add(
    name: Annotated[str, typer.Option("--name", help="The clinic's name as the commission knows it.")],
    verifier_key: Annotated[str, typer.Option(
        "--verifier-key", help="The clinic's ledger verifier key (`idverify audit public-key`, last line).")],
) -> None:
    """Register a clinic log; prints {"clinic_id", "origin"} as JSON on the last line."""
    from sqlalchemy.exc import SQLAlchemyError

    from idverify.errors import DatabaseNotMigrated
    from idverify.hub.clinics import add_clinic
    from idverify.hub.db import check_hub_migrated
    from idverify.store.db import make_engine, make_session_factory

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        check_hub_migrated(engine)
        with make_session_factory(engine)() as session:
            clinic = add_clinic(session, name=name, verifier=verifier_key, actor=None, role="cli")
            session.commit()
            result = {"clinic_id": clinic.id, "origin": clinic.origin}
    except IdverifyError as exc:
        _fail(exc, as_json=True)
    except SQLAlchemyError as exc:
        _fail(DatabaseNotMigrated(f"the hub database is unreachable ({type(exc).__name__})"), as_json=True)
    finally:
        engine.dispose()
    _emit(result)


@hub_user_app.command("add")
def hub_user_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="regional_inspector or hub_admin.")],
    display_name: Annotated[str | None, typer.Option(help="Name shown in the UI.")] = None,
    password: Annotated[str | None, typer.Option(envvar="IDVERIFY_NEW_HUB_PASSWORD", hidden=True)] = None,
) -> None:
    """Create a commission user; the password is asked for twice (or read from IDVERIFY_NEW_HUB_PASSWORD)."""
    from idverify.hub.db import check_hub_migrated
    from idverify.hub.users import create_user
    from idverify.store.db import make_engine, make_session_factory

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        check_hub_migrated(engine)
        with make_session_factory(engine)() as session:
            user = create_user(session, username=username, display_name=display_name or username, role=role,
                               password=password)
            session.commit()
            typer.echo(f"created {user.role} account {user.username} ({user.id})")
    except IdverifyError as exc:
        _fail(exc)
    finally:
        engine.dispose()


@hub_ledger_app.command("export")
def hub_ledger_export(
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[str, typer.Option(
        "--format", help="jsonl (verifiable offline with `idverify audit verify`), fhir (one FHIR Bundle of "
        "AuditEvents) or fhir-ndjson (one AuditEvent per line).")] = "jsonl",
    fhir_version: Annotated[str, typer.Option("--fhir-version", help="FHIR release of the fhir formats: r5 or r4.")]
    = "r5",
) -> None:
    """Write the hub's own ledger (every hub action) up to its latest checkpoint; prints {"entries", "tree_size",
    "out", "format", "public_key"} on the last line."""
    from idverify.errors import ValidationFailed
    from idverify.hub.db import check_hub_migrated
    from idverify.hub.keys import ledger_signer
    from idverify.hub.scheduler import drain_and_checkpoint
    from idverify.ledger import proofs as service
    from idverify.ledger import repository
    from idverify.ledger.checkpoint import verifier_key
    from idverify.ledger.export import export_jsonl
    from idverify.ledger.fhir import FhirVersion, write_fhir_bundle, write_fhir_ndjson
    from idverify.store.db import make_engine, make_session_factory

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        if fmt not in {"jsonl", "fhir", "fhir-ndjson"}:
            raise ValidationFailed("--format must be jsonl, fhir or fhir-ndjson")
        if fhir_version not in {"r4", "r5"}:
            raise ValidationFailed("--fhir-version must be r4 or r5")
        version: FhirVersion = "r4" if fhir_version == "r4" else "r5"
        check_hub_migrated(engine)
        factory = make_session_factory(engine)
        signer = ledger_signer(settings)
        drain_and_checkpoint(factory, signer, checkpoint=True)
        with factory() as session:
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("w", encoding="utf-8", newline="") as fh:
                anchor = service.latest_checkpoint(session)
                if fmt == "jsonl":
                    entries = export_jsonl(session, fh, clinic="regional hub", checkpoint=anchor).entries
                else:
                    size = int(anchor.tree_size) if anchor is not None else 0
                    write = write_fhir_bundle if fmt == "fhir" else write_fhir_ndjson
                    entries = write(repository.iter_entries(session, 0, size), fh, version=version)
    except IdverifyError as exc:
        _fail(exc, as_json=True)
    finally:
        engine.dispose()
    _emit({"entries": entries, "tree_size": int(anchor.tree_size) if anchor is not None else 0, "out": str(out),
           "format": fmt, **({"fhir_version": version} if fmt != "jsonl" else {}),
           "public_key": verifier_key(signer.origin, signer.public_key)})


@hub_ledger_app.command("public-key")
def hub_ledger_public_key() -> None:
    """Print the verifier key of the hub's own ledger (for `idverify audit verify --public-key`)."""
    from idverify.hub.keys import ledger_signer
    from idverify.ledger.checkpoint import verifier_key

    signer = ledger_signer(_settings())
    typer.echo(verifier_key(signer.origin, signer.public_key))


@hub_app.command("demo")
def hub_demo(
    scenario: Annotated[bool, typer.Option(
        "--scenario", help="Run the scenario (shared patient, rewritten ledger) and print one JSON line.")] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Where the hub and clinics keep their data (default: temp).")
                        ] = None,
) -> None:
    """A regional hub and two clinic daemons on free local ports (SQLite, no devices)."""
    import tempfile

    from idverify.hub import demo
    from idverify.logging import configure_logging

    workdir = data_dir or Path(tempfile.mkdtemp(prefix="idverify-hub-demo-"))
    configure_logging("WARNING", json=True)
    if scenario:
        try:
            summary = demo.run_scenario(workdir)
        except IdverifyError as exc:
            _fail(exc, as_json=True)
        _emit(summary)
        kinds = {a["kind"] for a in summary["alerts"]}
        ok = summary["rewrite_detected"] and summary["verify_with_witness"] and "open_cycles_two_clinics" in kinds
        raise typer.Exit(0 if ok else 1)
    hub, clinics = demo.start(workdir)
    typer.echo(f"regional hub: {hub.url}/  (regional_inspector: inspector / {hub.accounts['inspector']}, "
               f"hub_admin: hubadmin / {hub.accounts['hubadmin']})")
    for clinic in clinics:
        typer.echo(f"{clinic.name}: {clinic.url}/  (nurse1 / {clinic.accounts['nurse1']})")
    typer.echo(f"data: {workdir}  — Ctrl-C stops everything")
    try:
        while True:
            import time

            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for service in [*clinics, hub]:
            service.stop()


def bench_hub(
    clinics: Annotated[int | None, typer.Option("--clinics", min=1, help="Clinics (default 600 PostgreSQL, 40 SQLite).")
                       ] = None,
    events: Annotated[int | None, typer.Option(
        "--events", min=100, help="Ledger entries over all clinics (default 5,000,000 PostgreSQL, 200,000 SQLite).")
    ] = None,
    backend: Annotated[str, typer.Option("--backend", help="postgresql (scratch schema) or sqlite (temp file).")
                       ] = "postgresql",
    processes: Annotated[int, typer.Option("--processes", min=1, help="Hub processes / workers.")] = 2,
    rounds: Annotated[int, typer.Option("--rounds", min=2, help="Checkpoints per clinic (half via HTTP).")] = 10,
    postgres_url: Annotated[str | None, typer.Option(
        "--postgres-url", envvar="IDVERIFY_TEST_POSTGRES_URL", help="PostgreSQL server.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON summary on the last line.")] = False,
    witness_threads: Annotated[int, typer.Option(
        "--witness-threads", min=1,
        help="Concurrent witness submissions per hub process, and per HTTP client process.")] = 16,
    feed_threads: Annotated[int, typer.Option(
        "--feed-threads", min=1, help="Concurrent feed batches per hub process (feed phase).")] = 2,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the scratch database (schema) and the generated files; "
                                       "their locations are printed.")] = False,
) -> None:
    """The hub at region scale: witness requests/s (HTTP and in-process), feed entries/s with proof checks,
    alert query times, two processes racing one origin."""
    from idverify.errors import ValidationFailed
    from idverify.hub.bench import BenchConfig, run_hub_bench

    if backend not in {"sqlite", "postgresql"}:
        _fail(ValidationFailed("--backend must be postgresql or sqlite"), as_json=as_json)
    big = backend == "postgresql"
    cfg = BenchConfig(clinics=clinics or (600 if big else 40), events=events or (5_000_000 if big else 200_000),
                      backend=backend, postgres_url=postgres_url, processes=processes, rounds=rounds,
                      keep=keep, witness_threads=witness_threads,
                      feed_threads=feed_threads)
    result = run_hub_bench(cfg, progress=lambda m: typer.echo(f"… {m}", err=True))
    if as_json:
        _emit(result)
        return
    for key, value in result.items():
        typer.echo(f"{key}: {json.dumps(value, ensure_ascii=False)}")
