"""Tables of the register service. Register entries are never updated in place or deleted:
an amendment is a new row with a higher revision that names the code it replaces. The
admission register keeps every version of a pupil's record in `pupil_versions`."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Table,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.types import UserDefinedType

from attendance_shared.db import service_metadata
from attendance_shared.idempotency import idempotency_table
from attendance_shared.outbox import outbox_table
from attendance_shared.retention import retention_runs_table
from attendance_shared.rules.thresholds import LEAVE_MAX_SCHOOL_DAYS, UNEXPLAINED_ABSENCE_MAX_SCHOOL_DAYS

metadata = service_metadata("register")


class Xid8(UserDefinedType):
    """PostgreSQL's 64-bit transaction id: rows are read "since a cursor" only once every
    transaction before them has finished, so a reader never skips a late commit."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


schools = Table(
    "schools",
    metadata,
    Column("urn", Text, primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("establishment_number", Text),
    Column("name", Text, nullable=False),
    Column("phase", Text),
    Column("am_register_opens", Time, nullable=False, server_default="08:40"),
    Column("am_register_closes", Time, nullable=False),
    Column("pm_register_opens", Time, nullable=False, server_default="13:10"),
    Column("pm_register_closes", Time, nullable=False),
    Column(
        "unexplained_absence_days",
        Integer,
        nullable=False,
        server_default=str(UNEXPLAINED_ABSENCE_MAX_SCHOOL_DAYS),
    ),
    Column("leave_max_school_days", Integer, nullable=False, server_default=str(LEAVE_MAX_SCHOOL_DAYS)),
    # The trust or federation the school is in now (SchoolTrust as JSON); its history below.
    Column("trust", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_schools_la_code", "la_code"),
)

# Every trust or federation the school has been in, from the day it joined to the day before
# it joined the next (or left): a trust's figures for a past term count the schools it had then.
school_trusts = Table(
    "school_trusts",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("joined_on", Date, primary_key=True),
    Column("trust_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("left_on", Date),
)

pupils = Table(
    "pupils",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("legal_surname", Text, nullable=False),
    Column("legal_forename", Text, nullable=False),
    Column("date_of_birth", Date, nullable=False),
    Column("year_group", Text, nullable=False),
    Column("admission_date", Date, nullable=False),
    Column("left_on", Date),
    Column("contacts", JSONB, nullable=False, server_default="[]"),
    Column("social_worker", JSONB),
    Column("sex", Text),
    Column("preferred_surname", Text),
    Column("preferred_forename", Text),
    Column("address", JSONB),
    Column("previous_school", JSONB),
    Column("boarder", Boolean, nullable=False, server_default="false"),
    Column("fsm_eligible", Boolean, nullable=False, server_default="false"),
    Column("pupil_premium", Boolean, nullable=False, server_default="false"),
    Column("sen_status", Text, nullable=False, server_default="none"),
    Column("eal", Boolean, nullable=False, server_default="false"),
    Column("looked_after", Boolean, nullable=False, server_default="false"),
    Column("youth_offending_worker", JSONB),
    Column("virtual_school_contact", JSONB),
    Column("ethnicity", Text),
    Column("previously_looked_after", Boolean, nullable=False, server_default="false"),
    Column("child_in_need", Boolean, nullable=False, server_default="false"),
    Column("child_protection_plan", Boolean, nullable=False, server_default="false"),
    Column("registration_group", Text),
    Column("expected_leaving_date", Date),
    Column("deletion_ground", Text),
    # The day the regulation-9 ground was met, when earlier than the deletion (`left_on`).
    Column("ground_met_on", Date),
    Column("destination", JSONB),
    Column("deleted_by", Text),
    Column("deleted_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ForeignKeyConstraint(["school_urn"], ["register.schools.urn"]),
)

# Every version of a pupil's admission record, from the date it took effect.
# Every enrolment of a pupil at the school: a pupil deleted on a regulation-9 ground may be
# admitted again later, and each stay keeps its own dates, deletion and returns. The pupil's
# row above holds the latest enrolment's; this holds them all (rows are never deleted).
enrolments = Table(
    "enrolments",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("admission_date", Date, primary_key=True),
    Column("left_on", Date),
    Column("deletion_ground", Text),
    Column("ground_met_on", Date),
    Column("destination", JSONB),
    Column("admitted_by", Text),
    Column("deleted_by", Text),
    Column("deleted_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

pupil_versions = Table(
    "pupil_versions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("record", JSONB, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ForeignKeyConstraint(["school_urn", "upn"], ["register.pupils.school_urn", "register.pupils.upn"]),
    Index("ix_pupil_versions_pupil", "school_urn", "upn", "effective_from"),
)

calendars = Table(
    "calendars",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("academic_year", Integer, primary_key=True),
    Column("terms", JSONB, nullable=False),
    Column("closures", JSONB, nullable=False, server_default="[]"),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ForeignKeyConstraint(["school_urn"], ["register.schools.urn"]),
)

absence_reports = Table(
    "absence_reports",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("sessions", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("suggested_code", Text),
    Column("reported_by", Text, nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision_note", Text),
    CheckConstraint("status IN ('pending', 'accepted', 'declined')", name="absence_report_status"),
    CheckConstraint("sessions IN ('am', 'pm', 'both')", name="absence_report_sessions"),
    ForeignKeyConstraint(["school_urn", "upn"], ["register.pupils.school_urn", "register.pupils.upn"]),
    Index("ix_absence_reports_school_status", "school_urn", "status", "first_day"),
)

# Leave of absence asked for in advance, and the school's decision (reg 11). A decision may be
# changed later (reduced or cancelled); `decision` counts the decisions made.
leave_requests = Table(
    "leave_requests",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("sessions", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("note", Text),
    Column("requested_by", Text, nullable=False),
    Column("requested_by_role", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("decision", Integer, nullable=False, server_default="0"),
    Column("agreed_sessions", JSONB, nullable=False, server_default="[]"),
    Column("decision_reason", Text),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    CheckConstraint(
        "status IN ('pending', 'agreed', 'partly_agreed', 'refused', 'cancelled')", name="leave_request_status"
    ),
    CheckConstraint("sessions IN ('am', 'pm', 'both')", name="leave_request_sessions"),
    ForeignKeyConstraint(["school_urn", "upn"], ["register.pupils.school_urn", "register.pupils.upn"]),
    Index("ix_leave_requests_school_status", "school_urn", "status", "first_day"),
    Index("ix_leave_requests_pupil", "school_urn", "upn", "first_day"),
)

# A part-time timetable (C2): temporary, time-limited, agreed with the parents and reviewed.
# Every version is kept in `part_time_timetable_versions`; this row is the current one.
part_time_timetables = Table(
    "part_time_timetables",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("reason_note", Text),
    Column("attended_sessions", JSONB, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("next_review_on", Date),
    Column("reviews", JSONB, nullable=False, server_default="[]"),
    Column("extensions", JSONB, nullable=False, server_default="[]"),
    Column("parents_consent", JSONB),
    Column("social_worker_told", Boolean, nullable=False, server_default="false"),
    Column("virtual_school_told", Boolean, nullable=False, server_default="false"),
    Column("la_notified_on", Date),
    Column("status", Text, nullable=False, server_default="active"),
    Column("ended_on", Date),
    Column("end_reason", Text),
    Column("created_by", Text, nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('active', 'ended')", name="part_time_timetable_status"),
    CheckConstraint("end_date >= start_date", name="part_time_timetable_dates"),
    ForeignKeyConstraint(["school_urn", "upn"], ["register.pupils.school_urn", "register.pupils.upn"]),
    Index("ix_part_time_timetables_pupil", "school_urn", "upn", "start_date"),
)

part_time_timetable_versions = Table(
    "part_time_timetable_versions",
    metadata,
    Column("timetable_id", UUID(as_uuid=True), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("record", JSONB, nullable=False),
    Column("change", Text, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# A mark written before its session from an agreed leave or a part-time timetable. It becomes
# a register entry when that session's register is taken; until then it is only a plan. A
# withdrawn plan (leave cancelled or reduced, timetable ended) keeps its rows, with
# `withdrawn_at` set, so the history of what was planned stays.
planned_marks = Table(
    "planned_marks",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("date", Date, nullable=False),
    Column("session", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("leave_request_id", UUID(as_uuid=True)),
    Column("timetable_id", UUID(as_uuid=True)),
    Column("planned_by", Text, nullable=False),
    Column("planned_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("withdrawn_at", DateTime(timezone=True)),
    CheckConstraint("session IN ('am', 'pm')", name="planned_session_am_pm"),
    CheckConstraint("(leave_request_id IS NULL) <> (timetable_id IS NULL)", name="planned_mark_has_one_source"),
    # One standing plan per pupil and session; the register reads a session's plans at once.
    Index(
        "ux_planned_marks_standing",
        "school_urn",
        "date",
        "session",
        "upn",
        unique=True,
        postgresql_where=text("withdrawn_at IS NULL"),
    ),
    Index("ix_planned_marks_leave", "leave_request_id", postgresql_where=text("leave_request_id IS NOT NULL")),
    Index("ix_planned_marks_timetable", "timetable_id", postgresql_where=text("timetable_id IS NOT NULL")),
)

marks = Table(
    "marks",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("date", Date, nullable=False),
    Column("session", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("previous_code", Text),
    Column("reason", Text),
    Column("minutes_late", Integer),
    Column("note", Text),
    Column("made_by_name", Text),
    Column("made_by_position", Text),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("txid", Xid8, nullable=False, server_default=text("pg_current_xact_id()")),
    CheckConstraint("session IN ('am', 'pm')", name="session_am_pm"),
    CheckConstraint("revision >= 1", name="revision_positive"),
    UniqueConstraint("school_urn", "date", "session", "upn", "revision"),
    # No foreign key to `pupils`: one would look up and lock the pupil for every mark copied
    # in. A register is only stored after reading each pupil on roll in the same transaction,
    # and pupils are never deleted (a statement trigger refuses it; see the migration).
    Index("ix_marks_pupil_date", "school_urn", "upn", "date"),
    Index("ix_marks_school_changes", "school_urn", "txid", "id"),
    # For the retention job: a BRIN index, a few pages for millions of marks written in
    # time order, and next to nothing on each insert.
    Index("ix_marks_recorded_at", "recorded_at", postgresql_using="brin"),
)

# Each (school, day, session) the reminder job has looked at once its register should have been
# taken: whether the session was due (the calendar opened it) and whether it was missing then.
# Its key makes the reminder once only, however many register pods run the job.
register_checks = Table(
    "register_checks",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("date", Date, primary_key=True),
    Column("session", Text, primary_key=True),
    Column("due", Boolean, nullable=False),
    Column("missing", Boolean, nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_register_checks_date", "date"),
)

# Each run of the retention job (`python -m register_service.retention`): when, as on which
# day, and how many rows of each table it removed (or, dry, would have): counts, never who.
retention_runs = retention_runs_table(metadata)

outbox = outbox_table(metadata)
# The retention job removes published events as old as the entries they copy (BRIN, as marks').
Index("ix_outbox_created_at", outbox.c.created_at, postgresql_using="brin")
idempotency_keys = idempotency_table(metadata)
