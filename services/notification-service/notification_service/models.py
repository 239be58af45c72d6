from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Index, Integer, LargeBinary, Table, Text, Time, func
from sqlalchemy.dialects.postgresql import JSONB

from attendance_shared.calendar_projection import school_calendars_table
from attendance_shared.db import service_metadata
from attendance_shared.idempotency import idempotency_table
from attendance_shared.inbox import processed_events_table
from attendance_shared.outbox import outbox_table
from attendance_shared.retention import retention_runs_table

metadata = service_metadata("notification")

# Who to contact about each pupil, projected from the register's pupil events.
pupil_contacts = Table(
    "pupil_contacts",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("forename", Text, nullable=False),
    Column("contacts", JSONB, nullable=False),
    Column("social_worker", JSONB),
    Column("youth_offending_worker", JSONB),
    Column("virtual_school_contact", JSONB),
    Column("looked_after", Boolean, nullable=False, server_default="false"),
    # Last day on roll once deleted from the admission register: no alerts about later dates.
    Column("left_on", Date),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # For summaries' wording (compulsory school age, EHCP) and letters' addresses.
    Column("surname", Text),
    Column("date_of_birth", Date),
    Column("sen_status", Text),
    Column("address", JSONB),
)

# What else decides a summary's tone: a long-sickness flag from analytics, an open case from
# support-service (its `change` counter applies each case event once and in order).
pupil_circumstances = Table(
    "pupil_circumstances",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("long_sickness", Boolean, nullable=False, server_default="false"),
    Column("support_case_open", Boolean, nullable=False, server_default="false"),
    Column("support_case_change", Integer, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The register facts the rules need, projected from the schools topic.
schools = Table(
    "schools",
    metadata,
    Column("urn", Text, primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("am_register_closes", Time, nullable=False),
    Column("pm_register_closes", Time, nullable=False),
    Column("unexplained_absence_days", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

school_calendars = school_calendars_table(metadata)

# The notification service's own per-school settings (rules, sender identity, attendance
# lead), set over its API; a school that never set them gets the defaults.
school_settings = Table(
    "school_settings",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("settings", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# A school's own wording of a message, a version per language (ISO 639-1); the built-in
# English template applies where there is none.
templates = Table(
    "templates",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("template", Text, primary_key=True),
    Column("language", Text, primary_key=True, server_default="en"),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Each contact's own choice, by the contact's position in the admission register.
contact_preferences = Table(
    "contact_preferences",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("contact_index", Integer, primary_key=True),
    Column("channel", Text),
    Column("opted_out", Boolean, nullable=False, server_default="false"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Unauthorised absences (and any later revision of a session that once was one): enough to
# chase an N and to cancel what an explanation makes moot, without a row per present mark.
# The revision is what keeps marks idempotent without the inbox: only a higher one replaces it.
absences = Table(
    "absences",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("date", Date, primary_key=True),
    Column("session", Text, primary_key=True),
    Column("code", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_absences_unexplained", "date", postgresql_where="code = 'N'"),
)

# Every message is stored before it is sent; the idempotency key (rule, pupil, date or session,
# recipient) makes a redelivered event or a restart unable to send it twice.
messages = Table(
    "messages",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("idempotency_key", Text, nullable=False, unique=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text),  # null: a message about the school (a register still missing)
    Column("rule", Text, nullable=False),
    Column("about_date", Date, nullable=False),
    Column("session", Text),
    Column("stage", Integer),
    Column("channel", Text, nullable=False),
    Column("recipient", Text),
    Column("recipient_role", Text, nullable=False),
    Column("contact_index", Integer),
    Column("subject", Text, nullable=False, server_default=""),
    Column("body", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("failure_reason", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("not_before", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("provider", Text),
    Column("provider_reference", Text),
    Column("resent_from", BigInteger),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
    Column("claimed_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Column("language", Text),
    Column("period", Text),  # a regular summary's period ("2026-autumn-1")
    Column("print_run_id", BigInteger),  # a letter: the print run that took it
    Index("ix_messages_school_upn", "school_urn", "upn", "id"),
    Index("ix_messages_letters_waiting", "school_urn", "id", postgresql_where="channel = 'post' AND status = 'queued'"),
    Index("ix_messages_due", "not_before", postgresql_where="status = 'queued'"),
    Index("ix_messages_pupil_date", "school_urn", "upn", "about_date"),
    # The dispatcher looks for messages a dead process left 'sending' on every pass.
    Index("ix_messages_sending", "claimed_at", postgresql_where="status = 'sending'"),
)

# One row per school and period of regular summaries: when planning began and finished.
# Planning commits a slice of pupils at a time; one interrupted starts again, and the messages
# already stored keep their keys, so none is stored (or sent) twice.
summary_batches = Table(
    "summary_batches",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("period", Text, primary_key=True),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("pupils", Integer, nullable=False, server_default="0"),
    Column("messages", Integer, nullable=False, server_default="0"),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    Column("requested_by", Text),
)

# A day's letters for the post, as one PDF kept as made: the letters in it count as sent.
print_runs = Table(
    "print_runs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("school_urn", Text, nullable=False),
    Column("made_on", Date, nullable=False),
    Column("letters", Integer, nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Column("checksum", Text, nullable=False),
    Column("made_by", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_print_runs_school", "school_urn", "id"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("message_id", BigInteger, nullable=False, index=True),
    Column("attempted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("provider", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("detail", Text),
)

# The inbox, for every event but marks (their revision in `absences` does its work).
processed_events = processed_events_table(metadata)
idempotency_keys = idempotency_table(metadata)
# Message outcomes for the audit trail, written in the transaction that changes the status.
outbox = outbox_table(metadata)

# Each run of `python -m notification_service.retention`: when, as on which day, and how many rows
# of each table it removed (or, dry, would have).
retention_runs = retention_runs_table(metadata)
# The retention job finds old messages and published events by when they were made (BRIN).
Index("ix_outbox_created_at", outbox.c.created_at, postgresql_using="brin")
Index("ix_messages_created_at", messages.c.created_at, postgresql_using="brin")
