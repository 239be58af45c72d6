"""enrolments: every stay of a pupil at the school, so a pupil who left may be admitted again

Revision ID: e5a2c7d91f03
Revises: b8e1f4c2a9d7
Create Date: 2026-12-03 07:40:00

A pupil deleted on a regulation-9 ground (moved away, say) who comes back a month later was
refused as "already on the admission register". Each enrolment now has its own row with its
dates and deletion; the pupil's row keeps the latest. Every pupil entered so far has one
enrolment, copied from their row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e5a2c7d91f03"
down_revision: str | None = "b8e1f4c2a9d7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enrolments",
        sa.Column("school_urn", sa.Text(), nullable=False),
        sa.Column("upn", sa.Text(), nullable=False),
        sa.Column("admission_date", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("deletion_ground", sa.Text(), nullable=True),
        sa.Column("ground_met_on", sa.Date(), nullable=True),
        sa.Column("destination", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("admitted_by", sa.Text(), nullable=True),
        sa.Column("deleted_by", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("school_urn", "upn", "admission_date", name=op.f("pk_enrolments")),
        schema="register",
    )
    op.execute(
        "INSERT INTO register.enrolments (school_urn, upn, admission_date, left_on, deletion_ground, ground_met_on,"
        " destination, deleted_by, deleted_at, created_at)"
        " SELECT school_urn, upn, admission_date, left_on, deletion_ground, ground_met_on, destination, deleted_by,"
        " deleted_at, created_at FROM register.pupils"
    )


def downgrade() -> None:
    op.drop_table("enrolments", schema="register")
