"""Projections of the analytics service: every one can be rebuilt by replaying the topics."""

from sqlalchemy import Boolean, Column, Date, DateTime, Float, Index, Integer, Table, Text, func

from attendance_shared.db import service_metadata
from attendance_shared.inbox import processed_events_table
from attendance_shared.outbox import outbox_table

metadata = service_metadata("analytics")

# The current code of each session, with the revision it came from: stale or duplicate
# revisions are ignored, so events arriving out of order give the same figures.
session_marks = Table(
    "session_marks",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("date", Date, primary_key=True),
    Column("session", Text, primary_key=True),
    Column("code", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_session_marks_school_date", "school_urn", "date"),
)

# Running totals per pupil per academic year, moved by deltas as sessions change code.
pupil_year_totals = Table(
    "pupil_year_totals",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("academic_year", Integer, primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("possible", Integer, nullable=False),
    Column("present", Integer, nullable=False),
    Column("approved_educational_activity", Integer, nullable=False),
    Column("authorised", Integer, nullable=False),
    Column("unauthorised", Integer, nullable=False),
    Column("last_mark_date", Date, nullable=False),
    Index("ix_pupil_year_totals_la", "la_code", "academic_year"),
)

risk_flags = Table(
    "risk_flags",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("academic_year", Integer, primary_key=True),
    Column("flag", Text, primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("possible_sessions", Integer, nullable=False),
    Column("absent_sessions", Integer, nullable=False),
    Column("overall_absence_rate", Float),
    Column("raised_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_risk_flags_school_active", "school_urn", "flag", postgresql_where="active"),
)

processed_events = processed_events_table(metadata)
outbox = outbox_table(metadata)
