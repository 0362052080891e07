"""Engines, sessions and the migration gate.

SQLite is tuned for an audit workload: WAL so readers never block the writer, ``synchronous=FULL`` so a
committed audit record survives a power cut, foreign keys on, and a busy timeout so two daemons (or the CLI and
the daemon) on one data dir queue instead of failing. PostgreSQL needs nothing special here.

Readers and writers on SQLite: a transaction begins ``BEGIN IMMEDIATE`` (it takes the one write lock at once, so
writers queue in order and never fail half-way on a lock upgrade — the ledger's appends depend on that), unless it
was opened as a reader (:func:`begin_read`, :func:`read_session`, :func:`ping`): then it is a deferred ``BEGIN``,
which in WAL mode takes no lock and never waits for a writer. Work that takes time (a capture, matching, an HTTP
call) happens outside any transaction, so the write lock is held for the length of a commit, not of a request.

:func:`check_migrated` is the gate the daemon passes before serving: an unmigrated or outdated database stops
start-up with a message that names the command to run, instead of failing later on a missing column. Migrating is
an explicit step (``idverify db upgrade``), never part of starting the service: :func:`upgrade_database` holds
:func:`migration_lock` so two workstations upgrading at once run the migrations one after the other (the second
finds nothing left to do). :func:`database_error` tells a locked, an unreachable and an unmigrated database apart.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from idverify.errors import ConfigError, DatabaseNotMigrated, ErrorCode, IdverifyError

SQLITE_BUSY_TIMEOUT_MS = 15_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # Deleted rows (templates, identities) are overwritten with zeros, not left in free pages: PIPL deletion.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


READ_ONLY = "idverify_read_only"  # execution option: this transaction only reads


def _sqlite_begin(conn: Any) -> None:
    # A deferred transaction that reads and then writes fails with SQLITE_BUSY when another writer committed in
    # between (the busy timeout cannot help: its snapshot is stale). Taking the write lock at BEGIN serialises
    # writers (the ledger depends on that) and avoids SQLITE_BUSY half-way through a transaction; a transaction
    # opened as a reader never writes, so it needs no lock at all.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the pragmas and pooling that suit it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "isolation_level": None}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)  # the hub's engine turns it off: see idverify.hub.db
        return create_engine(url, **kwargs)
    raise ConfigError(f"IDVERIFY_DATABASE_URL: unsupported database backend {parsed.get_backend_name()!r}")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def read_session(factory: sessionmaker[Session]) -> Session:
    """A session whose every transaction is a reader (a GET request, a listing): on SQLite it takes no lock and
    never waits for a writer. Writing through it is a bug (and fails on a busy database)."""
    return factory(execution_options={READ_ONLY: True})


def begin_read(db: Session) -> None:
    """Open ``db``'s next transaction as a reader (the short read before a stage check's matching, say); the
    caller ends it (``rollback``/``commit``) before anything slow and before writing."""
    if db.in_transaction():
        raise RuntimeError("begin_read needs a session without an open transaction")
    db.connection(execution_options={"idverify_read_only": True})  # READ_ONLY


def is_busy(exc: BaseException) -> bool:
    """A database error that means "busy, try again" (SQLite's lock wait ran out, a PostgreSQL lock or statement
    timeout, a serialisation failure) rather than a broken database."""
    text_ = str(getattr(exc, "orig", exc)).lower()
    return any(m in text_ for m in ("database is locked", "database table is locked", "lock timeout",
                                    "canceling statement", "could not serialize", "deadlock detected"))


def _alembic_config(url: str, output: TextIO | None = None) -> Config:
    script_location = str(resources.files("idverify") / "migrations")
    config = Config(output_buffer=output) if output is not None else Config()
    config.set_main_option("script_location", script_location)
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# pg_advisory_lock key of migrations: "idvmig" as an integer (the ledger's writer lock uses another key).
MIGRATION_LOCK_KEY = 0x6964766D6967


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """Hold the database's migration lock (blocking until another migration finishes).

    PostgreSQL: a session-level advisory lock on a connection of its own, so it spans the migrations'
    transactions and is released even if this process dies. SQLite: ``flock`` on ``<database>.migrate-lock``
    beside the file (workstations sharing a SQLite file share its host).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                    conn.commit()
        finally:
            engine.dispose()
        return
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def upgrade_database(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` under :func:`migration_lock` (what ``idverify db upgrade`` runs)."""
    with migration_lock(url):
        command.upgrade(_alembic_config(url), revision)


def upgrade_sql(url: str, out: TextIO, *, from_revision: str | None = None, revision: str = "head") -> None:
    """Write the SQL of the migrations from ``from_revision`` (default: an empty database) to ``revision``
    without connecting — for a DBA who applies changes by hand (Alembic's offline mode, in the URL's dialect)."""
    span = f"{from_revision}:{revision}" if from_revision else revision
    command.upgrade(_alembic_config(url, out), span, sql=True)


def history(url: str) -> list[dict[str, Any]]:
    """Every migration, newest first: ``revision``, ``down_revision`` (a list: merges have several), ``doc``."""
    script = ScriptDirectory.from_config(_alembic_config(url))
    out = []
    for rev in script.walk_revisions():
        down = rev.down_revision
        downs = [] if down is None else [down] if isinstance(down, str) else list(down)
        out.append({"revision": rev.revision, "down_revision": downs, "doc": (rev.doc or "").strip()})
    return out


def head_revisions(url: str) -> set[str]:
    return set(ScriptDirectory.from_config(_alembic_config(url)).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def ping(engine: Engine) -> None:
    """One round trip to the database; raises :class:`sqlalchemy.exc.SQLAlchemyError` when it does not answer."""
    with engine.connect() as conn:
        conn.execution_options(idverify_read_only=True)  # READ_ONLY: /healthz must never queue behind a writer
        conn.execute(text("SELECT 1"))


def database_error(exc: SQLAlchemyError) -> IdverifyError:
    """What a failed database call means for the person running the command: locked by another process (wait and
    retry), unreachable (check the server and URL), or lacking tables (run the migrations) — never the last for
    the first two."""
    text_ = str(getattr(exc, "orig", None) or exc).lower()
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if "database is locked" in text_ or "database table is locked" in text_ or sqlstate in {"55P03", "40P01"}:
        return IdverifyError("the database is locked by another process (a migration or a long write); try again "
                             "in a moment", code=ErrorCode.DATABASE_BUSY, status_code=503)
    if "no such table" in text_ or "no such column" in text_ or sqlstate in {"42P01", "42703"}:
        return DatabaseNotMigrated(f"the database lacks tables this version needs ({type(exc).__name__}); run "
                                   "`idverify db upgrade`")
    if isinstance(exc, OperationalError | DBAPIError) and (sqlstate is None or sqlstate.startswith("08")):
        return IdverifyError(f"the database is unreachable ({type(exc).__name__}); check IDVERIFY_DATABASE_URL "
                             "and that the server is running", code=ErrorCode.DATABASE_UNAVAILABLE, status_code=503)
    return IdverifyError(f"the database refused the operation ({type(exc).__name__})", code=ErrorCode.DATABASE_ERROR,
                         status_code=503)


def check_migrated(engine: Engine) -> None:
    """Refuse to serve on a database that is not at the newest schema (or that cannot be read at all)."""
    url = engine.url.render_as_string(hide_password=False)
    try:
        current = current_revisions(engine)
    except SQLAlchemyError as exc:
        raise database_error(exc) from None
    heads = head_revisions(url)
    if current != heads:
        state = "empty (never migrated)" if not current else f"at revision {', '.join(sorted(current))}"
        raise DatabaseNotMigrated(
            f"the database is {state} but this version needs {', '.join(sorted(heads))}; "
            "run `idverify db upgrade` (an explicit step, not part of starting the service) and start again"
        )


def reclaim_deleted(engine: Engine, tables: tuple[str, ...]) -> None:
    """Make deleted personal data physically go away after a deletion request has committed.

    SQLite already zeroes freed pages (``secure_delete``); the old page images that still sit in the WAL file are
    dropped by a TRUNCATE checkpoint. PostgreSQL keeps dead row versions until VACUUM, so the affected tables are
    vacuumed. Both run outside any transaction.
    """
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        elif engine.dialect.name == "postgresql":
            driver = raw.driver_connection
            assert driver is not None
            driver.autocommit = True
            with driver.cursor() as cur:
                for table in tables:
                    cur.execute(f'VACUUM "{table}"')
    finally:
        raw.close()
