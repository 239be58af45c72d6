"""meetings with the parents about attendance, each announced for the invitation letter

Revision ID: 8b2d4f6a0c19
Revises: e6e62b08c623
Create Date: 2026-12-03 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "8b2d4f6a0c19"
down_revision: str | None = "e6e62b08c623"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("case_id", UUID(as_uuid=True), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(["case_id"], ["support.cases.id"], name=op.f("fk_meetings_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        schema="support",
    )
    op.create_index("ix_meetings_case", "meetings", ["case_id", "starts_at"], schema="support")


def downgrade() -> None:
    op.drop_table("meetings", schema="support")
