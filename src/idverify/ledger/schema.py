"""The ledger tables' DDL, shared by every migration history that holds a ledger.

The clinic database (``idverify/migrations``, revision ``ledger_0001``) and the regional hub's own database
(``hub/migrations``) both keep an append-only ledger with exactly these tables, indexes and triggers, so the
ledger service, exports and the offline verifier work on either. Call these functions from inside an Alembic
migration (they use :data:`alembic.op`).

The triggers make the database itself refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) of ledger rows, so a
bug or a hand-typed SQL statement cannot rewrite the audit trail; see ``idverify/ledger/README.md`` for the
PostgreSQL grant model that also keeps the application role from dropping the triggers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

LEDGER_TABLES = ("ledger_entries", "ledger_nodes", "ledger_checkpoints")
COSIGNATURE_TABLE = "ledger_cosignatures"
_MESSAGE = "ledger rows are append-only"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def create_ledger_tables() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.Column("occurred_at", _utc(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("actor_staff_id", sa.String(length=64), nullable=True),
        sa.Column("workstation", sa.String(length=64), nullable=True),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("couple_id", sa.String(length=64), nullable=True),
        sa.Column("cycle_id", sa.String(length=64), nullable=True),
        sa.Column("canonical", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_recorded_at", "ledger_entries", ["recorded_at"])
    op.create_index("ix_ledger_entries_event_type", "ledger_entries", ["event_type", "idx"])
    op.create_index("ix_ledger_entries_patient_id", "ledger_entries", ["patient_id"])
    op.create_index("ix_ledger_entries_actor_staff_id", "ledger_entries", ["actor_staff_id"])
    op.create_index("ix_ledger_entries_cycle_id", "ledger_entries", ["cycle_id"])
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_ledger_nodes")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signed_at", _utc(), nullable=False),
        sa.Column("origin", sa.String(length=100), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checkpoints")),
    )
    op.create_index("ix_ledger_checkpoints_tree_size", "ledger_checkpoints", ["tree_size"])
    make_append_only(LEDGER_TABLES)


def make_append_only(tables: tuple[str, ...]) -> None:
    """Triggers that refuse UPDATE/DELETE (SQLite) and UPDATE/DELETE/TRUNCATE (PostgreSQL) on ``tables``."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in tables:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
                )
    elif dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME "
            "USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        for table in tables:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
            )


def drop_append_only(tables: tuple[str, ...], *, drop_function: bool = True) -> None:
    dialect = op.get_bind().dialect.name
    for table in tables:
        if dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    if dialect == "postgresql" and drop_function:
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")


def drop_ledger_tables() -> None:
    drop_append_only(LEDGER_TABLES)
    op.drop_index("ix_ledger_checkpoints_tree_size", table_name="ledger_checkpoints")
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_nodes")
    for name in ("cycle_id", "actor_staff_id", "patient_id", "event_type", "recorded_at"):
        op.drop_index(f"ix_ledger_entries_{name}", table_name="ledger_entries")
    op.drop_table("ledger_entries")


def create_cosignature_table() -> None:
    """``ledger_cosignatures``: witnesses' cosignature/v1 lines on checkpoints (append-only)."""
    op.create_table(
        "ledger_cosignatures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("witness", sa.String(length=255), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["checkpoint_id"], ["ledger_checkpoints.id"],
                                name=op.f("fk_ledger_cosignatures_checkpoint_id_ledger_checkpoints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_cosignatures")),
        sa.UniqueConstraint("checkpoint_id", "witness", "key_id", name=op.f("uq_ledger_cosignatures_checkpoint_id")),
    )
    op.create_index("ix_ledger_cosignatures_checkpoint_id", "ledger_cosignatures", ["checkpoint_id"])
    make_append_only(("ledger_cosignatures",))


def drop_cosignature_table() -> None:
    drop_append_only(("ledger_cosignatures",), drop_function=False)
    op.drop_index("ix_ledger_cosignatures_checkpoint_id", table_name="ledger_cosignatures")
    op.drop_table("ledger_cosignatures")
