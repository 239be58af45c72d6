"""outbox rows are kept as written; the unsent ones are queued in outbox_pending

Revision ID: 4e7a2c9f1b58
Revises: 123dc1635b0f
Create Date: 2026-11-23 07:45:00

Marking a row sent rewrote the whole row and its index entries, since the flag was in the
unsent rows' index. Rows are now written once and a trigger queues their ids for the relay.
"""

from collections.abc import Sequence

from alembic import op

from attendance_shared.outbox import flag_of_unsent_rows, queue_of_unsent_rows

revision: str = "4e7a2c9f1b58"
down_revision: str | None = "123dc1635b0f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for statement in queue_of_unsent_rows("analytics"):
        op.execute(statement)


def downgrade() -> None:
    for statement in flag_of_unsent_rows("analytics"):
        op.execute(statement)
