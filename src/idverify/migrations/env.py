"""Alembic environment: runs against the URL given by :func:`idverify.store.db.upgrade_database`.

The migrations manage the tables of several rooms (store's core tables, the ledger's, the webhook outbox), so
they sit at the top of the package, beside ``app.py``, rather than inside ``store/``: importing every room's
models here is a composition root's job, and ``store`` itself imports no room above it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

# every table the migrations manage: core, ledger, webhooks
import idverify.ledger.models
import idverify.store.models
import idverify.webhooks  # noqa: F401
from idverify.store.base import Base
from idverify.store.db import make_engine

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set by idverify.store.db"
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():  # `idverify db upgrade --sql`: the SQL for a DBA, no connection
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True,
        dialect_opts={"paramstyle": "named"},  # else psycopg's pyformat doubles every % in the trigger function
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
