"""hub: clinics, witness state and cosignature history, refusals, alerts, action outbox, the hub ledger

Revision ID: hub_0001
Revises:
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from idverify.ledger.schema import create_ledger_tables, drop_append_only, drop_ledger_tables, make_append_only

revision: str = "hub_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# History tables the hub only ever inserts into.
APPEND_ONLY = ("hub_cosignatures", "hub_refusals")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _bigid() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "hub_clinics",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("verifier_key", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("witness_size", sa.BigInteger(), nullable=False),
        sa.Column("witness_root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("witness_at", _utc(), nullable=True),
        sa.Column("feed_size", sa.BigInteger(), nullable=False),
        sa.Column("feed_frontier", sa.LargeBinary(), nullable=False),
        sa.Column("feed_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_clinics")),
        sa.UniqueConstraint("origin", name=op.f("uq_hub_clinics_origin")),
    )
    op.create_table(
        "hub_cosignatures",
        _bigid(),
        sa.Column("clinic_id", sa.String(length=36), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("old_size", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cosignature", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_cosignatures")),
    )
    op.create_index("ix_hub_cosignatures_clinic_size", "hub_cosignatures", ["clinic_id", "tree_size"])
    op.create_table(
        "hub_refusals",
        _bigid(),
        sa.Column("clinic_id", sa.String(length=36), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("old_size", sa.BigInteger(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("witness_size", sa.BigInteger(), nullable=False),
        sa.Column("witness_root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_refusals")),
    )
    op.create_index("ix_hub_refusals_clinic", "hub_refusals", ["clinic_id", "id"])
    op.create_table(
        "hub_alerts",
        _bigid(),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("clinic_id", sa.String(length=36), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_alerts")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_hub_alerts_dedupe_key")),
    )
    op.create_index("ix_hub_alerts_status", "hub_alerts", ["status", "id"])
    op.create_index("ix_hub_alerts_clinic", "hub_alerts", ["clinic_id"])
    op.create_table(
        "hub_actions",
        _bigid(),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_actions")),
    )
    op.create_index("ix_hub_actions_pending", "hub_actions", ["ledger_index", "id"])
    create_ledger_tables()
    make_append_only(APPEND_ONLY)


def downgrade() -> None:
    drop_append_only(APPEND_ONLY, drop_function=False)
    drop_ledger_tables()
    for table in ("hub_actions", "hub_alerts", "hub_refusals", "hub_cosignatures", "hub_clinics"):
        op.drop_table(table)
