"""the inbox is pruned oldest first once its events can no longer be delivered again

Revision ID: c4f6e8a0b2d3
Revises: 5a9c1e7b3d40
Create Date: 2026-12-03 23:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c4f6e8a0b2d3"
down_revision: str | None = "5a9c1e7b3d40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_processed_events_processed_at", "processed_events", ["processed_at"], schema="notification")


def downgrade() -> None:
    op.drop_index("ix_processed_events_processed_at", table_name="processed_events", schema="notification")
