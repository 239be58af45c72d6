"""governor reports and Targeting Support Meeting packs, actions agreed at the meeting, their
schedules, and each calendar's terms

Revision ID: 9d3b5f7a1c46
Revises: 6a0c2e4f8b35
Create Date: 2026-12-03 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9d3b5f7a1c46"
down_revision: str | None = "6a0c2e4f8b35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "school_years",
        sa.Column(
            "terms", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        schema="la_returns",
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("school_urn", sa.Text(), nullable=False),
        sa.Column("la_code", sa.Text(), nullable=False),
        sa.Column("term", sa.Text(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("trigger", sa.Text(), server_default="request", nullable=False),
        sa.Column("checksum", sa.Text(), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        schema="la_returns",
    )
    op.create_index("ix_reports_school_generated", "reports", ["school_urn", "generated_at", "id"], schema="la_returns")
    op.create_index("ix_reports_la_generated", "reports", ["la_code", "generated_at", "id"], schema="la_returns")
    op.create_index(
        "uq_reports_scheduled",
        "reports",
        ["school_urn", "kind", "period_start"],
        unique=True,
        schema="la_returns",
        postgresql_where=sa.text("trigger = 'schedule'"),
    )
    op.create_table(
        "meeting_actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("upn", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["la_returns.reports.id"], name=op.f("fk_meeting_actions_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_actions")),
        schema="la_returns",
    )
    op.create_index("ix_meeting_actions_report", "meeting_actions", ["report_id", "recorded_at"], schema="la_returns")
    op.create_table(
        "report_schedules",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "code", "kind", name=op.f("pk_report_schedules")),
        schema="la_returns",
    )


def downgrade() -> None:
    op.drop_table("report_schedules", schema="la_returns")
    op.drop_table("meeting_actions", schema="la_returns")
    op.drop_table("reports", schema="la_returns")
    op.drop_column("school_years", "terms", schema="la_returns")
