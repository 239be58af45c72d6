"""penalty threshold reached on: the day a flag's rolling count rose to 10

Revision ID: 7c3e9a41d2b6
Revises: 4e7a2c9f1b58
Create Date: 2026-12-03 07:10:00

The framework says a penalty notice must be considered once the threshold is reached; the
flag row and its events now say on which day.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3e9a41d2b6"
down_revision: str | None = "4e7a2c9f1b58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("risk_flags", sa.Column("evidence_reached_on", sa.Date(), nullable=True), schema="analytics")


def downgrade() -> None:
    op.drop_column("risk_flags", "evidence_reached_on", schema="analytics")
