"""ledger: witnesses' cosignatures of checkpoints (append-only)

Revision ID: ledger_0002
Revises: 0003
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from idverify.ledger.schema import drop_append_only, make_append_only

revision: str = "ledger_0002"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_cosignatures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("witness", sa.String(length=255), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["checkpoint_id"], ["ledger_checkpoints.id"],
                                name=op.f("fk_ledger_cosignatures_checkpoint_id_ledger_checkpoints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_cosignatures")),
        sa.UniqueConstraint("checkpoint_id", "witness", "key_id", name=op.f("uq_ledger_cosignatures_checkpoint_id")),
    )
    op.create_index("ix_ledger_cosignatures_checkpoint_id", "ledger_cosignatures", ["checkpoint_id"])
    make_append_only(("ledger_cosignatures",))


def downgrade() -> None:
    drop_append_only(("ledger_cosignatures",), drop_function=False)
    op.drop_index("ix_ledger_cosignatures_checkpoint_id", table_name="ledger_cosignatures")
    op.drop_table("ledger_cosignatures")
