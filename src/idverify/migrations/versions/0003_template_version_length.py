"""biometric_templates.algorithm_version: 64 → 255 characters

The face algorithm's version string (``idverify-face/2 yunet-2023mar+dlib-5pt-align(…)``, 101 characters) did not
fit the 64-character column: on PostgreSQL every face enrolment failed with ``StringDataRightTruncation`` (SQLite
does not enforce the length, so the tests on SQLite passed).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 01:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("biometric_templates") as batch:
        batch.alter_column("algorithm_version", existing_type=sa.String(length=64), type_=sa.String(length=255),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("biometric_templates") as batch:
        batch.alter_column("algorithm_version", existing_type=sa.String(length=255), type_=sa.String(length=64),
                           existing_nullable=False)
