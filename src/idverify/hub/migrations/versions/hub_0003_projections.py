"""hub: projections of the feed for alerts and statistics (pseudonyms, couples, cycles, retrievals, months)

Revision ID: hub_0003
Revises: hub_0002
Create Date: 2026-12-03 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "hub_0003"
down_revision: str | None = "hub_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hub_patients",
        sa.Column("clinic_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.Column("entry_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("clinic_id", "patient_id", "key_id", name=op.f("pk_hub_patients")),
    )
    op.create_index("ix_hub_patients_pseudonym", "hub_patients", ["pseudonym", "clinic_id"])
    op.create_table(
        "hub_couples",
        sa.Column("clinic_id", sa.String(length=36), nullable=False),
        sa.Column("couple_id", sa.String(length=64), nullable=False),
        sa.Column("female_patient_id", sa.String(length=64), nullable=True),
        sa.Column("male_patient_id", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.Column("entry_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("clinic_id", "couple_id", name=op.f("pk_hub_couples")),
    )
    op.create_index("ix_hub_couples_female", "hub_couples", ["clinic_id", "female_patient_id"])
    op.create_index("ix_hub_couples_male", "hub_couples", ["clinic_id", "male_patient_id"])
    op.create_table(
        "hub_cycles",
        sa.Column("clinic_id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=64), nullable=False),
        sa.Column("couple_id", sa.String(length=64), nullable=True),
        sa.Column("opened_at", _utc(), nullable=False),
        sa.Column("opened_index", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("clinic_id", "cycle_id", name=op.f("pk_hub_cycles")),
    )
    op.create_index("ix_hub_cycles_couple", "hub_cycles", ["clinic_id", "couple_id", "closed_at"])
    op.create_table(
        "hub_retrievals",
        sa.Column("clinic_id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", _utc(), nullable=False),
        sa.Column("entry_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("clinic_id", "cycle_id", name=op.f("pk_hub_retrievals")),
    )
    op.create_index("ix_hub_retrievals_patient", "hub_retrievals", ["clinic_id", "patient_id", "occurred_at"])
    op.create_table(
        "hub_monthly",
        sa.Column("clinic_id", sa.String(length=36), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in
          ("checks", "accepts", "rejects", "retries", "overrides", "enrolments", "registrations")),
        sa.PrimaryKeyConstraint("clinic_id", "month", "staff_id", name=op.f("pk_hub_monthly")),
    )


def downgrade() -> None:
    op.drop_table("hub_monthly")
    op.drop_index("ix_hub_retrievals_patient", table_name="hub_retrievals")
    op.drop_table("hub_retrievals")
    op.drop_index("ix_hub_cycles_couple", table_name="hub_cycles")
    op.drop_table("hub_cycles")
    op.drop_index("ix_hub_couples_male", table_name="hub_couples")
    op.drop_index("ix_hub_couples_female", table_name="hub_couples")
    op.drop_table("hub_couples")
    op.drop_index("ix_hub_patients_pseudonym", table_name="hub_patients")
    op.drop_table("hub_patients")
