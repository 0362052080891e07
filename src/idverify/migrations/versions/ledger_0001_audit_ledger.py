"""audit ledger: entries, Merkle nodes, signed checkpoints, append-only triggers

Revision ID: ledger_0001
Revises: 0001
Create Date: 2026-11-23 14:10:00

The DDL lives in :mod:`idverify.ledger.schema`, shared with the regional hub's own migration history (its ledger
has the same tables). The triggers make the database itself refuse UPDATE and DELETE (and TRUNCATE on
PostgreSQL) of ledger rows; see ``idverify/ledger/README.md`` for the PostgreSQL grant model.
"""

from __future__ import annotations

from collections.abc import Sequence

from idverify.ledger.schema import create_ledger_tables, drop_ledger_tables

revision: str = "ledger_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    create_ledger_tables()


def downgrade() -> None:
    drop_ledger_tables()
