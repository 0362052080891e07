"""hub: commission users (regional_inspector, hub_admin) and their browser sessions

Revision ID: hub_0004
Revises: hub_0003
Create Date: 2026-12-03 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "hub_0004"
down_revision: str | None = "hub_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hub_users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_users")),
        sa.UniqueConstraint("username", name=op.f("uq_hub_users_username")),
    )
    op.create_table(
        "hub_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_hub_sessions_token_hash")),
    )
    op.create_index("ix_hub_sessions_user_id", "hub_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_hub_sessions_user_id", table_name="hub_sessions")
    op.drop_table("hub_sessions")
    op.drop_table("hub_users")
