"""part-time timetables from the register's events: a review overdue or an end date passed is a flag

Revision ID: 8e2a4c6d0f97
Revises: 4c7a2e9b1d58
Create Date: 2026-12-03 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8e2a4c6d0f97"
down_revision: str | None = "4c7a2e9b1d58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "part_time_timetables",
        sa.Column("timetable_id", sa.Uuid(), nullable=False),
        sa.Column("school_urn", sa.Text(), nullable=False),
        sa.Column("upn", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("timetable_id", name=op.f("pk_part_time_timetables")),
        schema="analytics",
    )
    op.create_index("ix_part_time_timetables_pupil", "part_time_timetables", ["school_urn", "upn"], schema="analytics")


def downgrade() -> None:
    op.drop_table("part_time_timetables", schema="analytics")
