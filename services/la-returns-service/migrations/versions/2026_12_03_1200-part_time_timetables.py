"""part-time timetables from the register's events, for the LA's part-time-timetables return

Revision ID: 6a0c2e4f8b35
Revises: 1f6b8d3e5c27
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "6a0c2e4f8b35"
down_revision: str | None = "1f6b8d3e5c27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "part_time_timetables",
        sa.Column("timetable_id", sa.Uuid(), nullable=False),
        sa.Column("school_urn", sa.Text(), nullable=False),
        sa.Column("upn", sa.Text(), nullable=False),
        sa.Column("la_code", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("timetable", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("timetable_id", name=op.f("pk_part_time_timetables")),
        schema="la_returns",
    )
    op.create_index(
        "ix_part_time_timetables_la", "part_time_timetables", ["la_code", "start_date"], schema="la_returns"
    )


def downgrade() -> None:
    op.drop_table("part_time_timetables", schema="la_returns")
