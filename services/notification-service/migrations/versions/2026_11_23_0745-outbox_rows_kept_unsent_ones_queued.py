"""outbox rows are kept as written; the unsent ones are queued in outbox_pending

Revision ID: 7c3f9a1e5d22
Revises: fad6b204788b
Create Date: 2026-11-23 07:45:00

Marking a row sent rewrote the whole row and its index entries, since the flag was in the
unsent rows' index. Rows are now written once and a trigger queues their ids for the relay.
"""

from collections.abc import Sequence

from alembic import op

from attendance_shared.outbox import flag_of_unsent_rows, queue_of_unsent_rows

revision: str = "7c3f9a1e5d22"
down_revision: str | None = "fad6b204788b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for statement in queue_of_unsent_rows("notification"):
        op.execute(statement)


def downgrade() -> None:
    for statement in flag_of_unsent_rows("notification"):
        op.execute(statement)
