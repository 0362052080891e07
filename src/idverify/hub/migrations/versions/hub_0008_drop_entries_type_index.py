"""hub: drop ix_hub_entries_type (no query reads hub_entries by event type; every fed entry paid for it)

The entries are read by (clinic, index) only — the feed's overlap check and the inspector's evidence — through the
primary key. The second index was one more B-tree insertion per entry on the feed's hot path.

Revision ID: hub_0008
Revises: hub_0007
Create Date: 2026-12-04 17:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "hub_0008"
down_revision: str | None = "hub_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_hub_entries_type", table_name="hub_entries")


def downgrade() -> None:
    op.create_index("ix_hub_entries_type", "hub_entries", ["event_type", "recorded_at"])
