"""planned absence: leave requests, part-time timetables and the planned marks they write

Revision ID: 7c3d9a1e5b20
Revises: e5a2c7d91f03
Create Date: 2026-12-03 10:00:00

A school knows some absences before the session: leave the head agreed, the sessions a pupil
on a part-time timetable is not expected. Each writes planned marks that the register takes
over when the session's register is taken, and that a teacher cannot overwrite with N.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7c3d9a1e5b20"
down_revision: str | None = "e5a2c7d91f03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONB = postgresql.JSONB(astext_type=sa.Text())
NOW = sa.text("now()")


def upgrade() -> None:
    op.add_column(
        "schools",
        sa.Column("leave_max_school_days", sa.Integer(), server_default="10", nullable=False),
        schema="register",
    )
    op.create_table(
        "leave_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_urn", sa.Text(), nullable=False),
        sa.Column("upn", sa.Text(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("sessions", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("requested_by_role", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("decision", sa.Integer(), server_default="0", nullable=False),
        sa.Column("agreed_sessions", JSONB, server_default="[]", nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'agreed', 'partly_agreed', 'refused', 'cancelled')",
            name=op.f("ck_leave_requests_leave_request_status"),
        ),
        sa.CheckConstraint("sessions IN ('am', 'pm', 'both')", name=op.f("ck_leave_requests_leave_request_sessions")),
        sa.ForeignKeyConstraint(
            ["school_urn", "upn"],
            ["register.pupils.school_urn", "register.pupils.upn"],
            name=op.f("fk_leave_requests_school_urn_pupils"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leave_requests")),
        schema="register",
    )
    op.create_index(
        "ix_leave_requests_school_status",
        "leave_requests",
        ["school_urn", "status", "first_day"],
        schema="register",
    )
    op.create_index("ix_leave_requests_pupil", "leave_requests", ["school_urn", "upn", "first_day"], schema="register")
    op.create_table(
        "part_time_timetables",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_urn", sa.Text(), nullable=False),
        sa.Column("upn", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reason_note", sa.Text(), nullable=True),
        sa.Column("attended_sessions", JSONB, nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.Column("reviews", JSONB, server_default="[]", nullable=False),
        sa.Column("extensions", JSONB, server_default="[]", nullable=False),
        sa.Column("parents_consent", JSONB, nullable=True),
        sa.Column("social_worker_told", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("virtual_school_told", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("la_notified_on", sa.Date(), nullable=True),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'ended')", name=op.f("ck_part_time_timetables_part_time_timetable_status")
        ),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_part_time_timetables_part_time_timetable_dates")),
        sa.ForeignKeyConstraint(
            ["school_urn", "upn"],
            ["register.pupils.school_urn", "register.pupils.upn"],
            name=op.f("fk_part_time_timetables_school_urn_pupils"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_part_time_timetables")),
        schema="register",
    )
    op.create_index(
        "ix_part_time_timetables_pupil",
        "part_time_timetables",
        ["school_urn", "upn", "start_date"],
        schema="register",
    )
    op.create_table(
        "part_time_timetable_versions",
        sa.Column("timetable_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record", JSONB, nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("timetable_id", "version", name=op.f("pk_part_time_timetable_versions")),
        schema="register",
    )
    op.create_table(
        "planned_marks",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("school_urn", sa.Text(), nullable=False),
        sa.Column("upn", sa.Text(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("session", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("leave_request_id", sa.Uuid(), nullable=True),
        sa.Column("timetable_id", sa.Uuid(), nullable=True),
        sa.Column("planned_by", sa.Text(), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("session IN ('am', 'pm')", name=op.f("ck_planned_marks_planned_session_am_pm")),
        sa.CheckConstraint(
            "(leave_request_id IS NULL) <> (timetable_id IS NULL)",
            name=op.f("ck_planned_marks_planned_mark_has_one_source"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_marks")),
        schema="register",
    )
    op.create_index(
        "ux_planned_marks_standing",
        "planned_marks",
        ["school_urn", "date", "session", "upn"],
        unique=True,
        schema="register",
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )
    op.create_index(
        "ix_planned_marks_leave",
        "planned_marks",
        ["leave_request_id"],
        schema="register",
        postgresql_where=sa.text("leave_request_id IS NOT NULL"),
    )
    op.create_index(
        "ix_planned_marks_timetable",
        "planned_marks",
        ["timetable_id"],
        schema="register",
        postgresql_where=sa.text("timetable_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("planned_marks", schema="register")
    op.drop_table("part_time_timetable_versions", schema="register")
    op.drop_table("part_time_timetables", schema="register")
    op.drop_table("leave_requests", schema="register")
    op.drop_column("schools", "leave_max_school_days", schema="register")
