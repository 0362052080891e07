"""Engines, sessions and the migration gate.

SQLite is tuned for an audit workload: WAL so readers never block the writer, ``synchronous=FULL`` so a
committed audit record survives a power cut, foreign keys on, and a busy timeout so two daemons (or the CLI and
the daemon) on one data dir queue instead of failing. PostgreSQL needs nothing special here.

:func:`check_migrated` is the gate the daemon passes before serving: an unmigrated or outdated database stops
start-up with a message that names the command to run, instead of failing later on a missing column.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from idverify.errors import ConfigError, DatabaseNotMigrated

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


def _sqlite_begin_immediate(conn: Any) -> None:
    # pysqlite defers BEGIN until the first write, so two writers can both read then deadlock on upgrade.
    # Taking the write lock at BEGIN serialises writers (the ledger depends on that) and avoids SQLITE_BUSY
    # half-way through a transaction.
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
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    raise ConfigError(f"IDVERIFY_DATABASE_URL: unsupported database backend {parsed.get_backend_name()!r}")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def _alembic_config(url: str) -> Config:
    script_location = str(resources.files("idverify") / "migrations")
    config = Config()
    config.set_main_option("script_location", script_location)
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (what ``idverify db upgrade`` runs)."""
    command.upgrade(_alembic_config(url), revision)


def head_revisions(url: str) -> set[str]:
    return set(ScriptDirectory.from_config(_alembic_config(url)).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def ping(engine: Engine) -> None:
    """One round trip to the database; raises :class:`sqlalchemy.exc.SQLAlchemyError` when it does not answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def check_migrated(engine: Engine) -> None:
    """Refuse to serve on a database that is not at the newest schema."""
    url = engine.url.render_as_string(hide_password=False)
    current = current_revisions(engine)
    heads = head_revisions(url)
    if current != heads:
        state = "empty (never migrated)" if not current else f"at revision {', '.join(sorted(current))}"
        raise DatabaseNotMigrated(
            f"the database is {state} but this version needs {', '.join(sorted(heads))}; "
            "run `idverify db upgrade` (or `make run`, which does it) and start again"
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
