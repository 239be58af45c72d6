"""outbox rows are kept as written; the unsent ones are queued in outbox_pending

Revision ID: 9d41c7e2b6a3
Revises: 3b8e5f0c2a41
Create Date: 2026-11-23 07:45:00

Marking a row sent rewrote the whole row and its index entries, since the flag was in the
unsent rows' index. Rows are now written once and a trigger queues their ids for the relay.
"""

from collections.abc import Sequence

from alembic import op

from attendance_shared.outbox import flag_of_unsent_rows, queue_of_unsent_rows

revision: str = "9d41c7e2b6a3"
down_revision: str | None = "3b8e5f0c2a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for statement in queue_of_unsent_rows("register"):
        op.execute(statement)


def downgrade() -> None:
    for statement in flag_of_unsent_rows("register"):
        op.execute(statement)
