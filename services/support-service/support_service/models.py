"""support-service's tables, in its own schema: projections of schools, pupils and risk
flags from the stream, and the casework it owns."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from attendance_shared.calendar_projection import school_calendars_table
from attendance_shared.db import service_metadata
from attendance_shared.idempotency import idempotency_table
from attendance_shared.inbox import processed_events_table
from attendance_shared.outbox import outbox_table
from attendance_shared.retention import retention_runs_table

metadata = service_metadata("support")

schools = Table(
    "schools",
    metadata,
    Column("urn", Text, primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Index("ix_schools_la_code", "la_code"),
)

school_calendars = school_calendars_table(metadata)

# The pupil as the latest admission or update gave them, and when they left, if they did.
pupils = Table(
    "pupils",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("legal_surname", Text, nullable=False),
    Column("legal_forename", Text, nullable=False),
    Column("year_group", Text, nullable=False),
    Column("admission_date", Date, nullable=False),
    Column("left_on", Date),
    # Parents and carers, social worker, Virtual School contact: who a decision is about.
    Column("record", JSONB, nullable=False),
)

# Each risk flag's latest state per pupil, as analytics published it.
risk_flags = Table(
    "risk_flags",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("flag", Text, primary_key=True),
    Column("academic_year", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("overall_absence_rate", Float),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

# A case suggested by analytics' flags, for staff to accept or dismiss: never opened silently.
suggestions = Table(
    "suggestions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("la_code", Text, nullable=False),
    Column("academic_year", Integer, nullable=False),
    Column("flags", ARRAY(Text), nullable=False),
    Column("status", Text, nullable=False),  # pending, accepted, dismissed
    Column("suggested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("dismissal_reason", Text),
    Column("case_id", UUID(as_uuid=True)),
    Index("ix_suggestions_school", "school_urn", "status", "suggested_at"),
    Index("ix_suggestions_pupil", "school_urn", "upn", "academic_year"),
    # At most one suggestion waits for staff per pupil: a second flag joins it.
    Index("uq_suggestions_pending", "school_urn", "upn", unique=True, postgresql_where=text("status = 'pending'")),
)

cases = Table(
    "cases",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("la_code", Text, nullable=False),
    Column("status", Text, nullable=False),  # open, closed
    Column("stage", Text, nullable=False),
    Column("lead", Text, nullable=False),
    Column("barriers", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("professionals", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("referred_to_la", Boolean, nullable=False, server_default=text("false")),
    Column("origin", Text, nullable=False),  # staff, suggestion
    Column("suggestion_id", UUID(as_uuid=True)),
    Column("opened_by", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("closed_by", Text),
    Column("closed_at", DateTime(timezone=True)),
    Column("outcome", Text),
    Column("outcome_notes", Text),
    # Counts the changes published as events: each event carries it.
    Column("change", Integer, nullable=False, server_default=text("1")),
    # When the pupil's marks of the year so far were read from the register; the marks topic
    # keeps them from then on (only pupils with an open case are kept).
    Column("marks_loaded_at", DateTime(timezone=True)),
    Index("ix_cases_school", "school_urn", "status", "opened_at", "id"),
    Index("ix_cases_la", "la_code", "status", "opened_at", "id"),
    # At most one open case per pupil per school.
    Index("uq_cases_open", "school_urn", "upn", unique=True, postgresql_where=text("status = 'open'")),
)

# Every move along the continuum, the first (opening) included: who, when and why.
stage_changes = Table(
    "stage_changes",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.id"), nullable=False),
    Column("from_stage", Text),
    Column("to_stage", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_by", Text, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_stage_changes_case", "case_id", "id"),
)

# The chronology. Rows are never updated: a correction is a new row naming the one it corrects.
contacts = Table(
    "contacts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("happened_at", DateTime(timezone=True), nullable=False),
    Column("made_by", Text, nullable=False),
    Column("with_whom", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("notes", Text),
    Column("corrects", UUID(as_uuid=True), ForeignKey("contacts.id")),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_contacts_case", "case_id", "happened_at", "id"),
)

# Meetings with the parents about attendance; each arranged one is announced on
# support.cases.v1, and notification-service invites the parents.
meetings = Table(
    "meetings",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.id"), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("place", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_meetings_case", "case_id", "starts_at"),
)

# Safeguarding records: who read which case, when, and what of it.
case_reads = Table(
    "case_reads",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.id"), nullable=False),
    Column("reader", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("what", Text, nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_case_reads_case", "case_id", "id"),
)

# "A penalty notice must be considered": made when the threshold is reached, kept until
# someone decides, whatever the flag does after.
penalty_considerations = Table(
    "penalty_considerations",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("la_code", Text, nullable=False),
    Column("reached_on", Date),
    Column("evidence", JSONB, nullable=False),
    Column("status", Text, nullable=False),  # pending, decided
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Index("ix_penalty_considerations_school", "school_urn", "status", "created_at", "id"),
    Index(
        "uq_penalty_considerations_pending",
        "school_urn",
        "upn",
        unique=True,
        postgresql_where=text("status = 'pending'"),
    ),
)

# The decision for each parent of the child: a notice is issued per parent, per child.
penalty_decisions = Table(
    "penalty_decisions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("consideration_id", UUID(as_uuid=True), ForeignKey("penalty_considerations.id"), nullable=False),
    Column("parent_name", Text, nullable=False),
    Column("decision", Text, nullable=False),  # issue, not_issue
    Column("reason", Text),
    Index("ix_penalty_decisions_consideration", "consideration_id"),
)

# A case's support plan as it now stands; `plan_versions` keeps every version. At most one
# plan of a case is active: a new plan follows the end of the last.
plans = Table(
    "plans",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.id"), nullable=False),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("la_code", Text, nullable=False),
    Column("status", Text, nullable=False),  # active, ended
    Column("version", Integer, nullable=False),
    Column("target_percent", Float, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("review_on", Date, nullable=False),
    # Each action: id, type, what, owner, due_on, status, added_on.
    Column("actions", JSONB, nullable=False),
    # Each review: reviewed_on, by, notes, next_review_on.
    Column("reviews", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("agreed_by", Text),
    Column("agreed_on", Date),
    Column("ended_on", Date),
    Column("end_reason", Text),
    # The review date a "review due" event was last published for: once per date.
    Column("review_due_published", Date),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_plans_case", "case_id"),
    Index("ix_plans_school_review", "school_urn", "status", "review_on"),
    Index("uq_plans_active", "case_id", unique=True, postgresql_where=text("status = 'active'")),
)

plan_versions = Table(
    "plan_versions",
    metadata,
    Column("plan_id", UUID(as_uuid=True), ForeignKey("plans.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("change", Text, nullable=False),
    Column("record", JSONB, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Each LA's bounds on a Notice to Improve's improvement period, in school weeks.
la_settings = Table(
    "la_settings",
    metadata,
    Column("la_code", Text, primary_key=True),
    Column("nti_min_school_weeks", Integer, nullable=False),
    Column("nti_max_school_weeks", Integer, nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The marks of pupils with an open case, from the marks topic, for the Notice-to-Improve check.
marks = Table(
    "marks",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("date", Date, primary_key=True),
    Column("session", Text, primary_key=True),
    Column("code", Text, nullable=False),
    Column("revision", Integer, nullable=False),
)

attendance_contracts = Table(
    "attendance_contracts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.id"), nullable=False),
    Column("agreed_with", ARRAY(Text), nullable=False),
    Column("agreed_on", Date, nullable=False),
    Column("parent_requirements", JSONB, nullable=False),
    Column("support_offered", JSONB, nullable=False),
    Column("review_on", Date, nullable=False),
    Column("status", Text, nullable=False),  # active, ended
    Column("ended_on", Date),
    Column("outcome", Text),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_attendance_contracts_case", "case_id"),
)

supervision_orders = Table(
    "supervision_orders",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.id"), nullable=False),
    Column("court_date", Date, nullable=False),
    Column("made_on", Date, nullable=False),
    Column("supervisor", Text, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("extensions", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("status", Text, nullable=False),  # in_force, discharged
    Column("discharged_on", Date),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_supervision_orders_case", "case_id"),
)

notices_to_improve = Table(
    "notices_to_improve",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.id"), nullable=False),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("la_code", Text, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("school_weeks", Integer, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("criterion", Text, nullable=False),  # no_unauthorised_absence, attendance_at_least
    Column("min_attendance_percent", Float),
    Column("status", Text, nullable=False),  # running, met, not_met, withdrawn
    # The latest daily judgement (on_track, off_track, met, not_met), its figures and why.
    Column("judgement", JSONB),
    Column("checked_on", Date),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_notices_to_improve_case", "case_id"),
    Index("ix_notices_to_improve_running", "status", "checked_on", postgresql_where=text("status = 'running'")),
)

# One judgement per school day a notice runs: the trail an LA's file shows.
notice_checks = Table(
    "notice_checks",
    metadata,
    Column("notice_id", UUID(as_uuid=True), ForeignKey("notices_to_improve.id"), primary_key=True),
    Column("checked_on", Date, primary_key=True),
    Column("judgement", JSONB, nullable=False),
)

penalty_notices = Table(
    "penalty_notices",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.id"), nullable=False),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("la_code", Text, nullable=False),
    Column("parent_name", Text, nullable=False),
    Column("parent_key", Text, nullable=False),  # the name folded, to find a parent's earlier notices
    Column("issued_on", Date, nullable=False),
    Column("lower_amount", Integer),
    Column("full_amount", Integer, nullable=False),
    Column("status", Text, nullable=False),  # issued, paid, withdrawn, prosecuted
    Column("paid_on", Date),
    Column("amount_paid", Integer),
    Column("withdrawal_ground", Text),
    Column("outcome_notes", Text),
    Column("outcome_on", Date),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_penalty_notices_case", "case_id"),
    Index("ix_penalty_notices_parent", "school_urn", "upn", "parent_key"),
)

# The sessions each notice relies on. A session grounds at most one notice to each parent of
# the child (each parent may be given one for the same absence), until that notice is withdrawn.
penalty_notice_sessions = Table(
    "penalty_notice_sessions",
    metadata,
    Column("notice_id", UUID(as_uuid=True), ForeignKey("penalty_notices.id"), primary_key=True),
    Column("date", Date, primary_key=True),
    Column("session", Text, primary_key=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("parent_key", Text, nullable=False),
    Column("withdrawn", Boolean, nullable=False, server_default=text("false")),
    Index(
        "uq_penalty_notice_sessions_ground",
        "school_urn",
        "upn",
        "parent_key",
        "date",
        "session",
        unique=True,
        postgresql_where=text("NOT withdrawn"),
    ),
)

outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
idempotency_keys = idempotency_table(metadata)

# Each run of `python -m support_service.retention`: when, as on which day, and how many rows
# of each table it removed (or, dry, would have).
retention_runs = retention_runs_table(metadata)
# The retention job removes published events a month old (BRIN: next to nothing per insert).
Index("ix_outbox_created_at", outbox.c.created_at, postgresql_using="brin")
