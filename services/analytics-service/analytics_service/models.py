"""Projections of the analytics service: every one can be rebuilt by replaying the topics.

Idempotency needs no inbox here: each session keeps the revision it came from (stale and
duplicate revisions change nothing), and school, calendar and pupil events are upserts of
whole values, so applying any event twice gives the same state.
"""

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from attendance_shared.calendar_projection import school_calendars_table
from attendance_shared.db import service_metadata
from attendance_shared.outbox import outbox_table
from attendance_shared.retention import retention_runs_table

metadata = service_metadata("analytics")

schools = Table(
    "schools",
    metadata,
    Column("urn", Text, primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("phase", Text),
    Column("unexplained_absence_days", SmallInteger, nullable=False),
    # The trust or federation the school is in now (the register keeps the history).
    Column("trust_id", Text),
    Column("trust_name", Text),
    Index("ix_schools_la", "la_code"),
    Index("ix_schools_trust", "trust_id", postgresql_where=text("trust_id IS NOT NULL")),
)

school_calendars = school_calendars_table(metadata)

# Periods on roll: only sessions inside one count (DfE methodology).
enrolments = Table(
    "enrolments",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("admitted_on", Date, primary_key=True),
    Column("left_on", Date),
)

# The pupil's cohort attributes from each date on, so cohorts use who the pupil was then.
pupil_versions = Table(
    "pupil_versions",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("effective_from", Date, primary_key=True),
    Column("year_group", Text, nullable=False),
    Column("sex", Text),
    Column("fsm_eligible", Boolean, nullable=False),
    Column("pupil_premium", Boolean, nullable=False),
    Column("sen_status", Text, nullable=False),
    Column("eal", Boolean, nullable=False),
    Column("looked_after", Boolean, nullable=False),
    Column("has_social_worker", Boolean, nullable=False),
    # The DfE's cohort fields, and what decides the statistics population (age, boarding).
    Column("ethnicity", Text),
    Column("previously_looked_after", Boolean, nullable=False, server_default="false"),
    Column("child_in_need", Boolean, nullable=False, server_default="false"),
    Column("child_protection_plan", Boolean, nullable=False, server_default="false"),
    Column("registration_group", Text),
    Column("date_of_birth", Date),
    Column("boarder", Boolean, nullable=False, server_default="false"),
)

# One row per pupil per school per academic year: every session's code (domain/encoding.py),
# the revisions of sessions amended beyond revision 1 (domain/pupil_year.py), the year's
# totals inside enrolment, and active flags. Every batch rewrites the rows it touches, so the
# table keeps free space on each page (fillfactor, set in the migration) for PostgreSQL to
# update rows in place without touching the indexes.
pupil_years = Table(
    "pupil_years",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("academic_year", Integer, primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("codes", LargeBinary, nullable=False),
    Column("revisions", LargeBinary, nullable=False),
    Column("possible", Integer, nullable=False),
    Column("present", Integer, nullable=False),
    Column("approved_educational_activity", Integer, nullable=False),
    Column("authorised", Integer, nullable=False),
    Column("unauthorised", Integer, nullable=False),
    Column("latest_date", Date),
    Column("flags", Integer, nullable=False, server_default="0"),
    # N (reason not yet established) sessions standing in the year: next year's flags look
    # back at a year only when it has some, for an N left from July is overdue in September.
    Column("unexplained", Integer, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(
        "ix_pupil_years_unexplained",
        "school_urn",
        "upn",
        "academic_year",
        postgresql_where=text("unexplained > 0"),
    ),
    # No (school, year) index: the primary key's prefix serves a school's rows, and with one
    # the planner looked pupils up through it, reading a whole school per pupil.
    Index("ix_pupil_years_la_year", "la_code", "academic_year"),
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
    Column("evidence_count", Integer),
    Column("evidence_unit", Text),
    Column("evidence_since", Date),
    Column("evidence_until", Date),
    Column("evidence_reached_on", Date),  # penalty-notice threshold: the day the count rose to 10
    Column("as_of", Date),
    Column("raised_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_risk_flags_school_active", "school_urn", "flag", "upn", postgresql_where="active"),
)

outbox = outbox_table(metadata)

# Each part-time timetable as its latest version stands: a review overdue or an end date
# passed is a flag. Only a higher version replaces a row.
part_time_timetables = Table(
    "part_time_timetables",
    metadata,
    Column("timetable_id", UUID(as_uuid=True), primary_key=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("next_review_on", Date),
    Index("ix_part_time_timetables_pupil", "school_urn", "upn"),
)

# Attendance tiers a school or an LA set (`rules.tiers`); a school without its own uses its
# LA's, and one with neither the defaults. Settings, not a projection: not rebuilt from topics.
attendance_tiers = Table(
    "attendance_tiers",
    metadata,
    Column("scope", Text, primary_key=True),  # "school" or "la"
    Column("code", Text, primary_key=True),  # the URN or the LA code
    Column("tiers", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

PROJECTIONS = (schools, school_calendars, enrolments, pupil_versions, pupil_years, risk_flags, part_time_timetables)

# Each run of `python -m analytics_service.retention`: when, as on which day, and how many rows
# of each table it removed (or, dry, would have).
retention_runs = retention_runs_table(metadata)
# The retention job removes published events a month old (BRIN: next to nothing per insert).
Index("ix_outbox_created_at", outbox.c.created_at, postgresql_using="brin")
