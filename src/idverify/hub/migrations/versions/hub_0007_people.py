"""hub: hub_people — each regional pseudonym and whether more than one clinic registered it

The pseudonym sweep asked, for each patient registered in the last 30 days, whether another clinic has the same
pseudonym: one probe of ``ix_hub_patients_pseudonym`` per patient (28,000 at 5 million entries), most of them
reads from outside PostgreSQL's buffers since that index (~1 million 64-character keys) does not fit in them —
1.17–1.36 s. With the few shared pseudonyms marked here (a partial index holds only those), the sweep is a hash
join of the 30-day window with that small set. Filled from hub_patients here; the feed keeps it from now on.

Revision ID: hub_0007
Revises: hub_0006
Create Date: 2026-12-04 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "hub_0007"
down_revision: str | None = "hub_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hub_people",
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("clinic_id", sa.String(length=36), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", name=op.f("pk_hub_people")),
    )
    op.execute("INSERT INTO hub_people (pseudonym, clinic_id, shared) "
               "SELECT pseudonym, MIN(clinic_id), COUNT(DISTINCT clinic_id) > 1 FROM hub_patients GROUP BY pseudonym")
    op.create_index("ix_hub_people_shared", "hub_people", ["pseudonym"], postgresql_where=sa.text("shared"),
                    sqlite_where=sa.text("shared"))


def downgrade() -> None:
    op.drop_index("ix_hub_people_shared", table_name="hub_people")
    op.drop_table("hub_people")
