"""hub: the feed — clinics' ledger entries proven against cosigned checkpoints, request nonces

Revision ID: hub_0002
Revises: hub_0001
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from idverify.ledger.schema import drop_append_only, make_append_only

revision: str = "hub_0002"
down_revision: str | None = "hub_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hub_entries",
        sa.Column("clinic_id", sa.String(length=36), nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("canonical", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("clinic_id", "idx", name=op.f("pk_hub_entries")),
    )
    op.create_index("ix_hub_entries_type", "hub_entries", ["event_type", "recorded_at"])
    op.create_table(
        "hub_nonces",
        sa.Column("clinic_id", sa.String(length=36), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("clinic_id", "nonce", name=op.f("pk_hub_nonces")),
    )
    op.create_index("ix_hub_nonces_expires_at", "hub_nonces", ["expires_at"])
    make_append_only(("hub_entries",))


def downgrade() -> None:
    drop_append_only(("hub_entries",), drop_function=False)
    op.drop_index("ix_hub_nonces_expires_at", table_name="hub_nonces")
    op.drop_table("hub_nonces")
    op.drop_index("ix_hub_entries_type", table_name="hub_entries")
    op.drop_table("hub_entries")
