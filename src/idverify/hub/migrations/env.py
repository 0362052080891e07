"""Alembic environment of the hub's own database: hub tables plus a ledger, under ``hub_alembic_version``.

A separate version table from the clinic's ``alembic_version`` keeps the two histories apart even if an operator
points both at one PostgreSQL database by mistake (:func:`idverify.hub.db.upgrade_hub_database` refuses that).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import idverify.hub.models  # noqa: F401  (registers the hub tables)
from idverify.hub.db import VERSION_TABLE
from idverify.hub.models import HubBase
from idverify.store.db import make_engine

target_metadata = HubBase.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set by idverify.hub.db"
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


run_migrations_online()
