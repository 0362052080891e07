"""hub: the hub ledger's cosignature table (same as a clinic's), so its exports work the same way

Revision ID: hub_0005
Revises: hub_0004
Create Date: 2026-12-04 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from idverify.ledger.schema import create_cosignature_table, drop_cosignature_table

revision: str = "hub_0005"
down_revision: str | None = "hub_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_cosignature_table()


def downgrade() -> None:
    drop_cosignature_table()
