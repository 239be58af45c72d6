"""unexplained sessions of a year: next year's flags look back only at years holding an N

Revision ID: 2a9d6f1c8e43
Revises: 7c3e9a41d2b6
Create Date: 2026-12-03 08:00:00

An N left standing in July is overdue in September, so the overdue-N flag looks back a year.
Reading last year's row for every pupil of every batch would double the consumer's reads; a
partial index of the years that hold an N makes the look-back an index probe that finds few.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2a9d6f1c8e43"
down_revision: str | None = "7c3e9a41d2b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The stored byte of N (`analytics_service.domain.encoding.STORED_CODES`, which only grows).
N_BYTE = 30


def upgrade() -> None:
    op.add_column(
        "pupil_years", sa.Column("unexplained", sa.Integer(), server_default="0", nullable=False), schema="analytics"
    )
    op.execute(
        "UPDATE analytics.pupil_years SET unexplained = (SELECT count(*) FROM generate_series(0, length(codes) - 1)"
        f" AS i WHERE get_byte(codes, i) = {N_BYTE}) WHERE position('\\x{N_BYTE:02x}'::bytea IN codes) > 0"
    )
    op.create_index(
        "ix_pupil_years_unexplained",
        "pupil_years",
        ["school_urn", "upn", "academic_year"],
        schema="analytics",
        postgresql_where=sa.text("unexplained > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_pupil_years_unexplained", table_name="pupil_years", schema="analytics")
    op.drop_column("pupil_years", "unexplained", schema="analytics")
