"""the inbox is pruned oldest first once its events can no longer be delivered again

Revision ID: b3e5d7f9a1c2
Revises: 9d3b5f7a1c46
Create Date: 2026-12-03 23:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b3e5d7f9a1c2"
down_revision: str | None = "9d3b5f7a1c46"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_processed_events_processed_at", "processed_events", ["processed_at"], schema="la_returns")


def downgrade() -> None:
    op.drop_index("ix_processed_events_processed_at", table_name="processed_events", schema="la_returns")
