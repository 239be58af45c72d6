"""the trust or federation each school is in, for trust views and trust tokens

Revision ID: 7c3e9a1b5d82
Revises: 5b1f7e3a9c24
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3e9a1b5d82"
down_revision: str | None = "5b1f7e3a9c24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("schools", sa.Column("trust_id", sa.Text(), nullable=True), schema="analytics")
    op.add_column("schools", sa.Column("trust_name", sa.Text(), nullable=True), schema="analytics")
    op.create_index(
        "ix_schools_trust",
        "schools",
        ["trust_id"],
        schema="analytics",
        postgresql_where=sa.text("trust_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_schools_trust", table_name="schools", schema="analytics")
    op.drop_column("schools", "trust_name", schema="analytics")
    op.drop_column("schools", "trust_id", schema="analytics")
