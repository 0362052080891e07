"""The hub database: migrations (own history, own version table) and the start-up gate.

The hub never shares a database with a clinic: its ledger has the same table names as a clinic's, and a clinic's
data has no business in the region's database. :func:`upgrade_hub_database` refuses a database that already
holds a clinic schema, and :func:`check_hub_migrated` refuses to serve on an outdated one.
"""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url

from idverify.errors import ConfigError, DatabaseNotMigrated
from idverify.store.db import make_engine, migration_lock

VERSION_TABLE = "hub_alembic_version"
CLINIC_VERSION_TABLE = "alembic_version"


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("idverify.hub") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_hub_database(url: str, revision: str = "head") -> None:
    """Apply the hub migrations (``idverify hub db upgrade``)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if inspect(conn).has_table(CLINIC_VERSION_TABLE):
                raise ConfigError(
                    "IDVERIFY_HUB_DATABASE_URL points at a clinic's database; give the hub its own database "
                    "(or PostgreSQL schema)"
                )
    finally:
        engine.dispose()
    with migration_lock(url):
        command.upgrade(_alembic_config(url), revision)


def make_hub_engine(url: str) -> Engine:
    """The hub's engine. On PostgreSQL without the pool's pre-ping: the ping is a round trip before every
    request, a fifth of a witness request's database time, to detect a connection that died while pooled (a
    PostgreSQL restart). Without it the first statement on such a connection fails with a disconnect, SQLAlchemy
    invalidates the whole pool, and the witness repeats that first statement on a new connection (see
    :func:`idverify.hub.witness.add_checkpoint`); another request on such a connection is answered 503 once and
    the next one gets a new connection."""
    if make_url(url).get_backend_name() == "postgresql":
        return make_engine(url, pool_pre_ping=False)
    return make_engine(url)


def hub_head_revisions(url: str) -> set[str]:
    return set(ScriptDirectory.from_config(_alembic_config(url)).get_heads())


def check_hub_migrated(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_heads())
    heads = hub_head_revisions(url)
    if current != heads:
        state = "empty (never migrated)" if not current else f"at revision {', '.join(sorted(current))}"
        raise DatabaseNotMigrated(
            f"the hub database is {state} but this version needs {', '.join(sorted(heads))}; "
            "run `idverify hub db upgrade`"
        )
