"""Ledger commands: ``audit export|verify|checkpoint|check|public-key`` and ``bench ledger``.

Registered on the ``audit_app`` / ``bench_app`` sub-apps by :mod:`idverify.cli`. Database and crypto imports
stay inside the functions so ``idverify --help`` is instant; ``audit verify`` imports no database code at all.
``audit export|verify|check`` draw a progress bar on stderr when it is a terminal and ``--json`` is off
(:mod:`idverify.ledger.progress`); stdout carries only the answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from idverify.console import Exit, emit_json, fail, settings_or_exit
from idverify.errors import ErrorCode, IdverifyError, ValidationFailed

EXPORT_FORMATS = ("jsonl", "csv", "fhir", "fhir-ndjson")


class LedgerTampered(IdverifyError):
    code = ErrorCode.LEDGER_TAMPERED
    status_code = 422


def _parse_when(value: str | None, *, end: bool) -> datetime | None:
    """``YYYY-MM-DD`` (a whole UTC day; ``--to`` includes that day) or an RFC 3339 timestamp (exclusive for --to)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime.combine(day, time(0), tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{'--to' if end else '--from'}: use YYYY-MM-DD or an RFC 3339 timestamp") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@contextmanager
def _database(as_json: bool) -> Iterator[None]:
    """Turn expected failures — and a database that is locked, down or not migrated — into the ``--json`` error
    output."""
    from sqlalchemy.exc import SQLAlchemyError

    from idverify.store.db import database_error

    try:
        yield
    except IdverifyError as exc:
        fail(exc, as_json=as_json)
    except SQLAlchemyError as exc:
        fail(database_error(exc), as_json=as_json)


def audit_export(
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    from_: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD, UTC) or timestamp.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last day included (YYYY-MM-DD, UTC) or end time.")] = None,
    fmt: Annotated[str, typer.Option(
        "--format", help="jsonl (verifiable), csv, fhir (one FHIR Bundle of AuditEvents, as the API's format=fhir) "
        "or fhir-ndjson (one AuditEvent per line).")] = "jsonl",
    fhir_version: Annotated[str, typer.Option(
        "--fhir-version", help="FHIR release of the fhir formats: r5 or r4.")] = "r5",
    lang: Annotated[str, typer.Option(
        "--lang", help="Language of the csv format's label column (what each event says): zh-CN or en.")] = "zh-CN",
    witnessed: Annotated[bool, typer.Option(
        "--witnessed", help="Anchor on the newest checkpoint the regional hub's witness cosigned (so `audit verify "
        "--witness-key` passes); entries after it are left out.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on the last line.")] = False,
) -> None:
    """Write a ledger export: JSON Lines with signed checkpoint and proofs (checked by `audit verify`)."""
    from idverify.ledger import repository
    from idverify.ledger.append import append
    from idverify.ledger.fhir import FhirVersion
    from idverify.ledger.progress import progress_bar
    from idverify.ledger.proofs import create_checkpoint
    from idverify.store.base import utcnow
    from idverify.store.db import make_engine, make_session_factory

    settings = settings_or_exit()
    engine = make_engine(settings.resolved_database_url)
    try:
        with _database(as_json):
            if fmt not in EXPORT_FORMATS:
                raise ValidationFailed("--format must be jsonl, csv, fhir or fhir-ndjson")
            if fhir_version not in {"r4", "r5"}:
                raise ValidationFailed("--fhir-version must be r4 or r5")
            if lang not in {"zh-CN", "en"}:
                raise ValidationFailed("--lang must be zh-CN or en")
            version: FhirVersion = "r4" if fhir_version == "r4" else "r5"
            fhir = fmt in {"fhir", "fhir-ndjson"}
            start, end = _parse_when(from_, end=False), _parse_when(to, end=True)
            with make_session_factory(engine)() as session:
                # The export itself is an audited action, and a fresh checkpoint lets it cover everything so far.
                append(session, {
                    "type": "export.created",
                    "occurred_at": utcnow().isoformat(),
                    "actor": {"staff_id": None, "role": "cli", "workstation": settings.workstation_id},
                    "subject": {},
                    "data": {"format": fmt, "from": from_, "to": to, **({"fhir_version": version} if fhir else {})},
                })
                signer = _clinic_signer(settings, session)
                checkpoint = create_checkpoint(session, signer)
                session.commit()
                if witnessed:
                    checkpoint = repository.latest_cosigned(session) or _no_cosigned()
                out.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with out.open("w", encoding="utf-8", newline="") as fh, \
                            progress_bar("exporting", as_json=as_json) as meter:
                        summary = _write_export(session, fh, fmt, version, checkpoint, (start, end),
                                                clinic=settings.clinic_name, meter=meter, lang=lang)
                except BaseException:
                    out.unlink(missing_ok=True)  # never leave half an export that looks like a whole one
                    raise
    finally:
        engine.dispose()
    summary |= {"out": str(out), "format": fmt} | ({"fhir_version": version} if fhir else {})
    if as_json:
        emit_json(summary)
    else:
        typer.echo(f"wrote {summary['entries']} entries ({summary['start']}..{summary['end']}) to {out}")


def _write_export(session: Any, out: Any, fmt: str, version: Any, checkpoint: Any,
                  window: tuple[datetime | None, datetime | None], *, clinic: str, meter: Any,
                  lang: str = "zh-CN") -> dict[str, Any]:
    """Write one export of ``fmt`` anchored on ``checkpoint``; the summary (range, count) for the command."""
    from idverify.ledger import repository
    from idverify.ledger.export import export_jsonl, resolve_range, write_csv
    from idverify.ledger.fhir import write_fhir_bundle, write_fhir_ndjson
    from idverify.reports.exports import event_label

    start, end = window
    if fmt == "jsonl":
        return export_jsonl(session, out, start=start, end=end, clinic=clinic, checkpoint=checkpoint,
                            progress=meter).as_dict()
    first, last = resolve_range(session, int(checkpoint.tree_size), start, end)
    entries = repository.iter_entries(session, first, last)
    meter.start(last - first)
    if fmt == "csv":
        count = write_csv(entries, out, event_label(lang), progress=meter)  # the label column, as over REST
    elif fmt == "fhir":
        count = write_fhir_bundle(entries, out, version=version, progress=meter)
    else:
        count = write_fhir_ndjson(entries, out, version=version, progress=meter)
    return {"start": first, "end": last, "entries": count}


def _no_cosigned() -> NoReturn:
    from idverify.errors import NotFoundError

    raise NotFoundError("no checkpoint has been cosigned by a witness yet (is IDVERIFY_HUB_URL set and the hub "
                        "reachable? see /healthz)", code=ErrorCode.NOT_COSIGNED)


def _clinic_signer(settings: Any, session: Any) -> Any:
    """The clinic's shared ledger signer (synchronised with the database, see ``ledger/signing_key.py``)."""
    from idverify.ledger.signing_key import sync_signing_key
    from idverify.store.keys import open_keys

    return sync_signing_key(settings, session, open_keys(settings, session).ring)


def _read_key_arg(value: str) -> str:
    path = Path(value)
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    except OSError:
        pass
    return value


def audit_verify(
    file: Annotated[Path, typer.Argument(help="Export written by `idverify audit export`.")],
    public_key: Annotated[
        str | None, typer.Option("--public-key", help="The clinic's public key: file or text (PEM, base64, vkey).")
    ] = None,
    witness_key: Annotated[list[str] | None, typer.Option(
        "--witness-key", help="A witness's verifier key (file or text; repeatable): the anchor checkpoint must "
        "carry its valid cosignature.")] = None,
    quorum: Annotated[int | None, typer.Option(
        "--quorum", min=1, help="Valid cosignatures required among the --witness-key witnesses (default: all).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on the last line.")] = False,
) -> None:
    """Check an export offline: exit 0 when intact, else 3 naming the first bad entry (2: bad arguments)."""
    from idverify.ledger.cosignature import CosignatureError, parse_witness_key
    from idverify.ledger.progress import progress_bar
    from idverify.ledger.verify import ExportInvalid, verify_export

    if not file.is_file():
        fail(ValidationFailed(f"no such file: {file}"), as_json=as_json)
    try:
        witnesses = [parse_witness_key(_read_key_arg(k)) for k in witness_key or []]
    except CosignatureError as exc:
        fail(ValidationFailed(f"--witness-key: {exc}"), as_json=as_json)
    try:
        with progress_bar("verifying", as_json=as_json) as meter:
            result = verify_export(file, _read_key_arg(public_key) if public_key else None, witnesses=witnesses,
                                   quorum=quorum, progress=meter)
    except ExportInvalid as exc:
        message = exc.message if exc.line is None else f"{exc.message} (line {exc.line})"
        if as_json:
            emit_json({"error": {"code": LedgerTampered.code, "message": message, "first_bad_index": exc.index}})
        else:
            typer.secho(f"INVALID: {message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=Exit.TAMPERED) from None
    if as_json:
        emit_json(result.as_dict())
        return
    for warning in result.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    witnessed = f", cosigned by {', '.join(result.witnesses)}" if result.witnesses else ""
    typer.echo(
        f"OK: entries {result.start}..{result.end - 1} of {result.tree_size} verified against "
        f"{result.checkpoints} signed checkpoint(s) of {result.origin}{witnessed} in {result.seconds:.2f} s"
    )


def audit_checkpoint(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on the last line.")] = False,
) -> None:
    """Sign a checkpoint of the current ledger now (the daemon also does it every checkpoint_interval_s)."""
    from idverify.ledger.proofs import create_checkpoint
    from idverify.store.db import make_engine, make_session_factory

    settings = settings_or_exit()
    engine = make_engine(settings.resolved_database_url)
    try:
        with _database(as_json), make_session_factory(engine)() as session:
            signer = _clinic_signer(settings, session)
            cp = create_checkpoint(session, signer)
            session.commit()
            note = cp.note
            size = int(cp.tree_size)
    finally:
        engine.dispose()
    if as_json:
        emit_json({"tree_size": size, "note": note})
    else:
        typer.echo(note, nl=False)


def audit_check(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on the last line.")] = False,
) -> None:
    """Recompute the stored tree and compare it with every stored node and checkpoint (exit 3 on a problem).

    Checkpoint signatures are checked against the clinic's configured key (and the keys it retired), exactly as
    the daemon checks them — never merely against the key stored beside each checkpoint."""
    from idverify.ledger.progress import progress_bar
    from idverify.ledger.signing_key import verify_clinic_tree
    from idverify.store.db import make_engine, make_session_factory

    settings = settings_or_exit()
    engine = make_engine(settings.resolved_database_url)
    try:
        with _database(as_json), make_session_factory(engine)() as session, \
                progress_bar("checking", as_json=as_json) as meter:
            report = verify_clinic_tree(session, _clinic_signer(settings, session), progress=meter)
    finally:
        engine.dispose()
    summary = report.as_health() | {"problems": report.problems, "first_bad_index": report.first_bad_index}
    if as_json:
        emit_json(summary)
    else:
        typer.echo(f"{'OK' if report.ok else 'FAILED'}: {report.tree_size} entries, "
                   f"{report.checkpoints_checked} checkpoint(s) checked")
        for problem in report.problems:
            typer.secho(f"  {problem}", fg=typer.colors.RED, err=True)
    if not report.ok:
        raise typer.Exit(code=Exit.TAMPERED)


def audit_public_key(
    out: Annotated[Path | None, typer.Option("--out", help="Also write the PEM public key to this file.")] = None,
) -> None:
    """Print the clinic's ledger public key (PEM and signed-note verifier key) to hand to inspectors and to the
    regional hub (`idverify hub clinic add --verifier-key`). Every workstation of the clinic prints the same key."""
    from idverify.ledger.checkpoint import public_key_pem, verifier_key
    from idverify.store.db import make_engine, make_session_factory

    settings = settings_or_exit()
    engine = make_engine(settings.resolved_database_url)
    try:
        with _database(False), make_session_factory(engine)() as session:
            signer = _clinic_signer(settings, session)
    finally:
        engine.dispose()
    pem = public_key_pem(signer.public_key)
    if out is not None:
        out.write_text(pem, encoding="utf-8")
    typer.echo(pem, nl=False)
    typer.echo(verifier_key(signer.origin, signer.public_key))


def bench_ledger(
    events: Annotated[int, typer.Option("--events", min=1, help="Number of events to append.")] = 10_000,
    backend: Annotated[str, typer.Option("--backend", help="sqlite (temp dir) or postgresql (scratch schema).")] = (
        "sqlite"
    ),
    batch: Annotated[int, typer.Option("--batch", min=1, help="Events per group commit.")] = 500,
    postgres_url: Annotated[
        str | None, typer.Option("--postgres-url", envvar="IDVERIFY_TEST_POSTGRES_URL", help="PostgreSQL server.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary as the last line.")] = False,
) -> None:
    """Ledger append rate, proof latency and offline verification time at N entries."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table
    from sqlalchemy.exc import OperationalError

    from idverify.ledger.bench import run_ledger_bench

    if backend not in {"sqlite", "postgresql"}:
        fail(ValidationFailed("--backend must be sqlite or postgresql"), as_json=as_json)
    console = Console(stderr=True)
    with Progress(TextColumn("appending"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True, disable=as_json and not console.is_terminal) as bar:
        task = bar.add_task("append", total=events)
        try:
            result = run_ledger_bench(events, backend=backend, batch=batch, postgres_url=postgres_url,
                                      progress=lambda n: bar.advance(task, n))
        except OperationalError as exc:
            fail(IdverifyError(f"database unreachable: {type(exc.orig).__name__}", code=ErrorCode.DATABASE_UNAVAILABLE),
                 as_json=as_json)
    spec = result.as_spec()
    if as_json:
        emit_json(spec)
        return
    table = Table(title=f"ledger benchmark — {events} events on {backend}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in spec.items():
        table.add_row(key, str(value))
    Console().print(table)
