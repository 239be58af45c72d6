"""register checks: a missing register is reminded once, a set time after it closed

Revision ID: 9d1f3b5c7e24
Revises: 2b8e4f6a9c13
Create Date: 2026-12-03 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d1f3b5c7e24"
down_revision: str | None = "2b8e4f6a9c13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "register_checks",
        sa.Column("school_urn", sa.Text(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("session", sa.Text(), nullable=False),
        sa.Column("due", sa.Boolean(), nullable=False),
        sa.Column("missing", sa.Boolean(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("school_urn", "date", "session", name=op.f("pk_register_checks")),
        schema="register",
    )
    op.create_index("ix_register_checks_date", "register_checks", ["date"], schema="register")


def downgrade() -> None:
    op.drop_table("register_checks", schema="register")
