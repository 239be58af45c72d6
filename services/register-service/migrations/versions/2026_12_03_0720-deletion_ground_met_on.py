"""deletion ground met on: the day a regulation-9 ground was met, when before the deletion

Revision ID: b8e1f4c2a9d7
Revises: 9d41c7e2b6a3
Create Date: 2026-12-03 07:20:00

A deletion cannot be dated before registers the pupil is already marked in (neither register
is changed retrospectively to delete a pupil); the day the ground was met is kept beside it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b8e1f4c2a9d7"
down_revision: str | None = "9d41c7e2b6a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("pupils", sa.Column("ground_met_on", sa.Date(), nullable=True), schema="register")


def downgrade() -> None:
    op.drop_column("pupils", "ground_met_on", schema="register")
