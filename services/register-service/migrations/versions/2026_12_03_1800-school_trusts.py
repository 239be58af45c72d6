"""the trust or federation a school is in, with every membership kept

Revision ID: 4e8a2c6f0b13
Revises: 9d1f3b5c7e24
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "4e8a2c6f0b13"
down_revision: str | None = "9d1f3b5c7e24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "schools", sa.Column("trust", postgresql.JSONB(astext_type=sa.Text()), nullable=True), schema="register"
    )
    op.create_table(
        "school_trusts",
        sa.Column("school_urn", sa.Text(), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("trust_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("school_urn", "joined_on", name=op.f("pk_school_trusts")),
        schema="register",
    )


def downgrade() -> None:
    op.drop_table("school_trusts", schema="register")
    op.drop_column("schools", "trust", schema="register")
