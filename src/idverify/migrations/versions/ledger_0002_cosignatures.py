"""ledger: witnesses' cosignatures of checkpoints (append-only)

Revision ID: ledger_0002
Revises: 0003
Create Date: 2026-12-03 12:00:00

The DDL is shared with the hub's history (:mod:`idverify.ledger.schema`).
"""

from __future__ import annotations

from collections.abc import Sequence

from idverify.ledger.schema import create_cosignature_table, drop_cosignature_table

revision: str = "ledger_0002"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_cosignature_table()


def downgrade() -> None:
    drop_cosignature_table()
