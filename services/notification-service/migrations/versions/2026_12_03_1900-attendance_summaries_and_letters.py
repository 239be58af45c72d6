"""regular attendance summaries, template versions per language, letters by post

Revision ID: 5a9c1e7b3d40
Revises: 3e6b8d0f2a71
Create Date: 2026-12-03 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "5a9c1e7b3d40"
down_revision: str | None = "3e6b8d0f2a71"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "notification"


def upgrade() -> None:
    # What a summary's wording and a letter's address need of the pupil's record.
    op.add_column("pupil_contacts", sa.Column("surname", sa.Text()), schema=SCHEMA)
    op.add_column("pupil_contacts", sa.Column("date_of_birth", sa.Date()), schema=SCHEMA)
    op.add_column("pupil_contacts", sa.Column("sen_status", sa.Text()), schema=SCHEMA)
    op.add_column("pupil_contacts", sa.Column("address", JSONB()), schema=SCHEMA)
    op.create_table(
        "pupil_circumstances",
        sa.Column("school_urn", sa.Text(), nullable=False),
        sa.Column("upn", sa.Text(), nullable=False),
        sa.Column("long_sickness", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("support_case_open", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("support_case_change", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("school_urn", "upn", name=op.f("pk_pupil_circumstances")),
        schema=SCHEMA,
    )
    op.add_column("templates", sa.Column("language", sa.Text(), nullable=False, server_default="en"), schema=SCHEMA)
    op.drop_constraint("pk_templates", "templates", schema=SCHEMA)
    op.create_primary_key("pk_templates", "templates", ["school_urn", "template", "language"], schema=SCHEMA)
    op.add_column("messages", sa.Column("language", sa.Text()), schema=SCHEMA)
    op.add_column("messages", sa.Column("period", sa.Text()), schema=SCHEMA)
    op.add_column("messages", sa.Column("print_run_id", sa.BigInteger()), schema=SCHEMA)
    op.create_index(
        "ix_messages_letters_waiting",
        "messages",
        ["school_urn", "id"],
        schema=SCHEMA,
        postgresql_where=sa.text("channel = 'post' AND status = 'queued'"),
    )
    op.create_table(
        "summary_batches",
        sa.Column("school_urn", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("pupils", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("messages", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("requested_by", sa.Text()),
        sa.PrimaryKeyConstraint("school_urn", "period", name=op.f("pk_summary_batches")),
        schema=SCHEMA,
    )
    op.create_table(
        "print_runs",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("school_urn", sa.Text(), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("letters", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("checksum", sa.Text(), nullable=False),
        sa.Column("made_by", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_runs")),
        schema=SCHEMA,
    )
    op.create_index("ix_print_runs_school", "print_runs", ["school_urn", "id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("print_runs", schema=SCHEMA)
    op.drop_table("summary_batches", schema=SCHEMA)
    op.drop_index("ix_messages_letters_waiting", "messages", schema=SCHEMA)
    for column in ("print_run_id", "period", "language"):
        op.drop_column("messages", column, schema=SCHEMA)
    op.execute("DELETE FROM notification.templates WHERE language <> 'en'")
    op.drop_constraint("pk_templates", "templates", schema=SCHEMA)
    op.create_primary_key("pk_templates", "templates", ["school_urn", "template"], schema=SCHEMA)
    op.drop_column("templates", "language", schema=SCHEMA)
    op.drop_table("pupil_circumstances", schema=SCHEMA)
    for column in ("address", "sen_status", "date_of_birth", "surname"):
        op.drop_column("pupil_contacts", column, schema=SCHEMA)
