"""attendance tiers a school or an LA sets, to colour lists and choose a parent message's wording

Revision ID: 5b1f7e3a9c24
Revises: 8e2a4c6d0f97
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5b1f7e3a9c24"
down_revision: str | None = "8e2a4c6d0f97"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attendance_tiers",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("tiers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("scope", "code", name=op.f("pk_attendance_tiers")),
        schema="analytics",
    )


def downgrade() -> None:
    op.drop_table("attendance_tiers", schema="analytics")
