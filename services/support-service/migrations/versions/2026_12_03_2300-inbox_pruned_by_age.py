"""the inbox is pruned oldest first once its events can no longer be delivered again

Revision ID: d5a7f9b1c3e4
Revises: 8b2d4f6a0c19
Create Date: 2026-12-03 23:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d5a7f9b1c3e4"
down_revision: str | None = "8b2d4f6a0c19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_processed_events_processed_at", "processed_events", ["processed_at"], schema="support")


def downgrade() -> None:
    op.drop_index("ix_processed_events_processed_at", table_name="processed_events", schema="support")
