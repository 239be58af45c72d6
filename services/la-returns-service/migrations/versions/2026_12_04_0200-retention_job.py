"""a retention job: each run recorded, and what it removes found by when it was made

Revision ID: e8c0a2d4f6b3
Revises: b3e5d7f9a1c2
Create Date: 2026-12-04 02:00:00

`python -m la_returns_service.retention` removes the rows past their period (deploy/README.md,
"How long records are kept") and records each run. BRIN indexes find the old rows of tables
written in time order, at next to no cost to their inserts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e8c0a2d4f6b3"
down_revision: str | None = "b3e5d7f9a1c2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_on", sa.Date(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("pupils_removed", sa.Integer(), nullable=False),
        sa.Column("removed", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
        schema="la_returns",
    )


def downgrade() -> None:
    op.drop_table("retention_runs", schema="la_returns")
