"""The hub's migrations create exactly what its models describe (SQLite and PostgreSQL), and the history is its
own (``hub_alembic_version``), separate from a clinic's."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from idverify.hub.db import VERSION_TABLE, upgrade_hub_database
from idverify.hub.models import HubBase
from idverify.ledger.schema import COSIGNATURE_TABLE, LEDGER_TABLES
from idverify.store.db import make_engine


def test_migrations_match_the_models(hub_db_url: str) -> None:
    upgrade_hub_database(hub_db_url)
    engine = make_engine(hub_db_url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            assert VERSION_TABLE in tables and "alembic_version" not in tables
            assert set(LEDGER_TABLES) <= tables  # the hub's own ledger
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": VERSION_TABLE})
            ledger = {*LEDGER_TABLES, COSIGNATURE_TABLE, VERSION_TABLE}  # not in HubBase: the ledger package owns them
            diffs: list[Any] = [d for d in compare_metadata(ctx, HubBase.metadata)
                                if not (d[0] in {"remove_table", "remove_index"} and
                                        (d[1].name in ledger or (getattr(d[1], "table", None) is not None
                                         and d[1].table.name in ledger)))]
            assert diffs == []
    finally:
        engine.dispose()
