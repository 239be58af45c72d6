"""runs from analytics: the marks projection goes

Runs of continuous absence and spells of illness are now answered by analytics, which holds
every mark and so can tell an unmarked session from one attended; the compact projection here
could not, and gave a second answer to the same question.

Revision ID: 5d1c0e2a7b90
Revises: a0ee1d91429b
Create Date: 2026-12-03 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d1c0e2a7b90"
down_revision: str | None = "a0ee1d91429b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("absence_marks", schema="la_returns")
    op.drop_table("register_sessions", schema="la_returns")


def downgrade() -> None:
    op.create_table(
        "absence_marks",
        sa.Column("school_urn", sa.Text(), nullable=False),
        sa.Column("upn", sa.Text(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("session", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("revision", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("school_urn", "upn", "date", "session", name=op.f("pk_absence_marks")),
        schema="la_returns",
    )
    op.create_table(
        "register_sessions",
        sa.Column("school_urn", sa.Text(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("session", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("school_urn", "date", "session", name=op.f("pk_register_sessions")),
        schema="la_returns",
    )
