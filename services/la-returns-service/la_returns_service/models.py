from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from attendance_shared.db import service_metadata
from attendance_shared.idempotency import idempotency_table
from attendance_shared.inbox import processed_events_table
from attendance_shared.retention import retention_runs_table

metadata = service_metadata("la_returns")

schools = Table(
    "schools",
    metadata,
    Column("urn", Text, primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Index("ix_schools_la_code", "la_code"),
)

# First and last day of each school year a school has published a calendar for: the
# reception-on-first-day exemption and the end-of-final-year deletion exemption need them.
school_years = Table(
    "school_years",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("academic_year", Integer, primary_key=True),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    # The calendar's terms (name, start, end): a scheduled report covers the last term ended.
    Column("terms", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
)

# One row per enrolment: a pupil deleted and later admitted again is in the new-pupils and
# deletions returns once for each stay.
pupils = Table(
    "pupils",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("admission_date", Date, primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("legal_surname", Text, nullable=False),
    Column("legal_forename", Text, nullable=False),
    Column("date_of_birth", Date, nullable=False),
    Column("year_group", Text, nullable=False),
    # The whole admission-register record as the latest admitted/updated event gave it.
    Column("record", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # When the admission reached the register (the event's time): an LA's opt-in to
    # first-day reception pupils covers those entered after it.
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("left_on", Date),
    Column("deletion", JSONB),  # ground and destination, from the deletion event
    Index("ix_pupils_la_admission", "la_code", "admission_date"),
    Index("ix_pupils_la_left_on", "la_code", "left_on"),
)

# Each part-time timetable as its latest version stands (register-service's
# PartTimeTimetableSetV1): only a higher version replaces a row, so redelivery and reordering
# change nothing.
part_time_timetables = Table(
    "part_time_timetables",
    metadata,
    Column("timetable_id", UUID(as_uuid=True), primary_key=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("la_code", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("timetable", JSONB, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("last_day", Date, nullable=False),  # the end date, or the day it ended early
    Index("ix_part_time_timetables_la", "la_code", "start_date"),
)

la_settings = Table(
    "la_settings",
    metadata,
    Column("la_code", Text, primary_key=True),
    # Reg 13: the LA asked for first-day pupils of the most junior class too, from this moment.
    Column("reception_first_day_opted_in_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

schedules = Table(
    "schedules",
    metadata,
    Column("la_code", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("frequency", Text, nullable=False),  # daily, weekly, monthly
)

# A compiled return is an immutable snapshot: its rows never change once written.
returns = Table(
    "returns",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("generated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("row_count", Integer, nullable=False),
    Column("checksum", Text, nullable=False),
    Column("columns", JSONB, nullable=False),
    Column("trigger", Text, nullable=False, server_default="request"),  # request or schedule
    Column("school_urns", ARRAY(Text), nullable=False, server_default="{}"),  # schools with rows in it
    Index("ix_returns_la_generated", "la_code", "generated_at", "id"),
    # A scheduled return is compiled once per LA, kind and period, however many replicas run.
    Index(
        "uq_returns_scheduled",
        "la_code",
        "kind",
        "period_start",
        "period_end",
        unique=True,
        postgresql_where=text("trigger = 'schedule'"),
    ),
)

return_rows = Table(
    "return_rows",
    metadata,
    Column("return_id", UUID(as_uuid=True), primary_key=True),
    Column("row_number", Integer, primary_key=True),
    Column("school_urn", Text),
    # json, not jsonb: a row is written once and read back whole, never searched inside, and
    # json stores the text as given, cheaper to write than jsonb's parsed form.
    Column("data", JSON, nullable=False),
    ForeignKeyConstraint(["return_id"], ["la_returns.returns.id"]),
)

# Governor reports and Targeting Support Meeting packs: each an immutable snapshot of one
# school's term, its JSON document and the PDF rendered from it stored once, never changed.
reports = Table(
    "reports",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("kind", Text, nullable=False),  # governor-report or tsm-pack
    Column("school_urn", Text, nullable=False),
    Column("la_code", Text, nullable=False),
    Column("term", Text),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("generated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("trigger", Text, nullable=False, server_default="request"),  # request or schedule
    Column("checksum", Text, nullable=False),
    Column("document", JSONB, nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Index("ix_reports_school_generated", "school_urn", "generated_at", "id"),
    Index("ix_reports_la_generated", "la_code", "generated_at", "id"),
    Index(
        "uq_reports_scheduled",
        "school_urn",
        "kind",
        "period_start",
        unique=True,
        postgresql_where=text("trigger = 'schedule'"),
    ),
)

# Actions agreed at a Targeting Support Meeting, recorded against its pack: the pack itself
# never changes, so these are kept beside it, each once and never edited.
meeting_actions = Table(
    "meeting_actions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("report_id", UUID(as_uuid=True), nullable=False),
    Column("upn", Text),  # null: an action for the school, not one pupil
    Column("action", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("due_on", Date),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ForeignKeyConstraint(["report_id"], ["la_returns.reports.id"]),
    Index("ix_meeting_actions_report", "report_id", "recorded_at"),
)

# Which reports compile by themselves once each term ends: for every school of an LA
# (scope "la") or for one school (scope "school").
report_schedules = Table(
    "report_schedules",
    metadata,
    Column("scope", Text, primary_key=True),
    Column("code", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
)

processed_events = processed_events_table(metadata)
idempotency_keys = idempotency_table(metadata)

# Each run of `python -m la_returns_service.retention`: when, as on which day, and how many rows
# of each table it removed (or, dry, would have).
retention_runs = retention_runs_table(metadata)
