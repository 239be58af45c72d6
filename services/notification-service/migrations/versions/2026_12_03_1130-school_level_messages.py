"""messages about a school rather than a pupil (a register still missing): no UPN

Revision ID: 3e6b8d0f2a71
Revises: 7c3f9a1e5d22
Create Date: 2026-12-03 11:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3e6b8d0f2a71"
down_revision: str | None = "7c3f9a1e5d22"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("messages", "upn", nullable=True, schema="notification")


def downgrade() -> None:
    op.execute("DELETE FROM notification.messages WHERE upn IS NULL")
    op.alter_column("messages", "upn", nullable=False, schema="notification")
