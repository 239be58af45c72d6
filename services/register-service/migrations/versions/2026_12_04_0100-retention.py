"""records kept as long as the law says: the retention job's runs, its indexes, and a pupil
removed by that job alone

Revision ID: 6b2d8f4a0c37
Revises: 4e8a2c6f0b13
Create Date: 2026-12-04 01:00:00

Register entries are kept for 6 years from the day they were made (the 2024 registration
regulations), then removed by `python -m register_service.retention`. The admission register's
trigger still refuses to delete a pupil, except in a transaction that says it is that job.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "6b2d8f4a0c37"
down_revision: str | None = "4e8a2c6f0b13"
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
        schema="register",
    )
    op.create_index("ix_marks_recorded_at", "marks", ["recorded_at"], schema="register", postgresql_using="brin")
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"], schema="register", postgresql_using="brin")
    op.execute(
        """
        CREATE OR REPLACE FUNCTION register.refuse_to_delete_pupils() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND current_setting('register.retention_job', true) = 'on' THEN
                RETURN NULL;
            END IF;
            RAISE EXCEPTION 'admission register entries are kept: a pupil who leaves is recorded '
                'with left_on, and removed only by the retention job once every entry is 6 years old'
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION register.refuse_to_delete_pupils() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'admission register entries are kept: a pupil who leaves is recorded '
                'with left_on, never deleted'
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    op.drop_index("ix_outbox_created_at", table_name="outbox", schema="register")
    op.drop_index("ix_marks_recorded_at", table_name="marks", schema="register")
    op.drop_table("retention_runs", schema="register")
